"""The job queue and worker: idempotent enqueue, leases, retries, and several workers on one database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.db.models import Job
from bot.db.queue import enqueue
from bot.runtime import open_database
from bot.worker import MAX_JOB_ATTEMPTS, Worker
from tests.factories import FakeClock


@pytest.fixture
def make_worker(settings: Settings, clock: FakeClock) -> Iterator[Callable[[dict], Worker]]:
    engines = []

    def make(handlers: dict) -> Worker:
        engine, sessions = open_database(settings)
        engines.append(engine)
        return Worker(sessions=sessions, handlers=handlers, clock=clock, poll_seconds=0.01, lease_seconds=30)

    yield make
    for engine in engines:
        engine.dispose()


def add_jobs(worker: Worker, clock: FakeClock, count: int, kind: str = "work") -> None:
    with worker.sessions() as session:
        for n in range(count):
            assert enqueue(session, kind=kind, key=f"{kind}:{n}", payload={"n": n}, now=clock())
        assert not enqueue(session, kind=kind, key=f"{kind}:0", payload={"n": 0}, now=clock())  # same key: a retry
        session.commit()


def jobs(worker: Worker) -> list[Job]:
    with worker.sessions() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def test_a_failing_job_is_retried_with_backoff_then_marked_failed(make_worker: Callable, clock: FakeClock) -> None:
    def broken(session, payload: dict, now: datetime) -> None:  # noqa: ANN001
        raise RuntimeError("boom")

    worker = make_worker({"work": broken})
    add_jobs(worker, clock, 1)
    assert worker.run_once()
    [job] = jobs(worker)
    assert (job.status, job.attempts, "boom" in job.last_error) == ("pending", 1, True)
    assert not worker.run_once()  # not due until the backoff has passed
    for _ in range(MAX_JOB_ATTEMPTS):
        clock.advance(seconds=120)
        worker.run_once()
    [job] = jobs(worker)
    assert (job.status, job.attempts) == ("failed", MAX_JOB_ATTEMPTS)


def test_a_job_whose_worker_died_is_taken_over_when_its_lease_expires(make_worker: Callable, clock: FakeClock) -> None:
    done: list[int] = []
    worker = make_worker({"work": lambda s, p, now: done.append(p["n"])})
    add_jobs(worker, clock, 1)
    with worker.sessions() as session:  # a worker that claimed the job and then died
        from bot.db.queue import claim

        assert claim(session, now=clock(), lease=30) is not None
    assert not worker.run_once()
    clock.advance(seconds=31)
    assert worker.run_once()
    assert done == [0]
    assert jobs(worker)[0].status == "done"


def test_two_workers_on_one_database_run_each_job_once(make_worker: Callable, clock: FakeClock) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def record(session, payload: dict, now: datetime) -> None:  # noqa: ANN001
        with lock:
            seen.append(payload["n"])

    first = make_worker({"work": record})
    second = make_worker({"work": record})
    add_jobs(first, clock, 60)
    threads = [threading.Thread(target=w.run_until_idle) for w in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(seen) == list(range(60))
    assert {(j.status, j.attempts) for j in jobs(first)} == {("done", 1)}


def test_background_work_waits_for_a_callback_stream_but_is_never_starved(settings: Settings, clock: FakeClock) -> None:
    import time

    engine, sessions = open_database(settings)
    done = threading.Event()
    worker = Worker(sessions=sessions, handlers={"work": lambda s, p, now: done.set()}, clock=clock,
                    poll_seconds=0.01, lease_seconds=30, busy=lambda: True)  # callbacks never stop arriving
    try:
        with sessions() as session:
            enqueue(session, kind="work", key="w", payload={}, now=clock())
            session.commit()
        started = time.monotonic()
        worker.start()
        assert done.wait(5)
        assert 0.9 <= time.monotonic() - started < 5  # deferred about a second, then run anyway
    finally:
        worker.stop()
        engine.dispose()
