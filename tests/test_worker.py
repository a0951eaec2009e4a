"""The job queue and worker: idempotent enqueue, leases, retries, several workers on one database, the worker process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.services.callbacks import ROWS_PER_INSERT, CallbackStore
from bot.db.models import Job
from bot.db.queue import enqueue
from bot.wiring import open_database
from bot.worker.thread import MAX_JOB_ATTEMPTS, Worker
from bot.worker.process import WorkerProcess
from tests.factories import FakeClock

ROOT = Path(__file__).resolve().parents[1]


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
    def broken(session, payload: dict, now: datetime) -> None:
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

        assert claim(session, now=clock(), lease=30)
    assert not worker.run_once()
    clock.advance(seconds=31)
    assert worker.run_once()
    assert done == [0]
    assert jobs(worker)[0].status == "done"


def test_a_stopping_worker_gives_back_the_jobs_it_leased_but_did_not_run(make_worker: Callable, clock: FakeClock) -> None:
    done: list[int] = []
    first = make_worker({"work": lambda s, p, now: done.append(p["n"])})
    add_jobs(first, clock, 3)
    assert first.run_once()  # leases all three, runs the first
    assert [(j.status, j.attempts) for j in jobs(first)] == [("done", 1), ("running", 1), ("running", 1)]
    first.stop()
    assert [(j.status, j.attempts) for j in jobs(first)] == [("done", 1), ("pending", 0), ("pending", 0)]
    second = make_worker({"work": lambda s, p, now: done.append(p["n"])})
    assert second.run_until_idle() == 2  # at once, without waiting for the leases to end
    assert done == [0, 1, 2]


def test_a_job_whose_lease_ran_out_while_it_waited_is_left_to_the_worker_that_took_it_over(
    make_worker: Callable, clock: FakeClock
) -> None:
    done: list[tuple[str, int]] = []
    slow = make_worker({"work": lambda s, p, now: done.append(("slow", p["n"]))})
    quick = make_worker({"work": lambda s, p, now: done.append(("quick", p["n"]))})
    add_jobs(slow, clock, 2)
    assert slow.run_once()  # runs job 0, holds job 1
    clock.advance(seconds=31)  # job 1's lease ends before the slow worker gets to it
    assert quick.run_until_idle() == 1
    assert slow.run_once() and not slow.run_once()  # finds job 1 taken over and leaves it
    assert done == [("slow", 0), ("quick", 1)]
    assert [(j.status, j.attempts) for j in jobs(slow)] == [("done", 1), ("done", 2)]


def test_two_workers_on_one_database_run_each_job_once(make_worker: Callable, clock: FakeClock) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def record(session, payload: dict, now: datetime) -> None:
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


def test_callbacks_arriving_together_are_stored_in_one_batch_and_a_repeat_is_not_new(settings: Settings, clock: FakeClock) -> None:
    engine, sessions = open_database(settings)
    batches: list[int] = []
    store = CallbackStore(engine, clock, on_stored=lambda: batches.append(1))
    keys = [f"k{n}" for n in range(ROWS_PER_INSERT + 20)]  # more than one INSERT statement's worth
    payloads = {key: {"kind": "message", "name": "text", "fields": {"Content": f"你好 {key}"}} for key in keys}

    async def deliver(keys: list[str]) -> list[bool]:
        return list(await asyncio.gather(*(store.store(key, payloads[key]) for key in keys)))

    store.start()
    try:
        first = asyncio.run(deliver(keys[:2] + keys[:1] + keys[2:]))
        assert first == [True, True, False] + [True] * (len(keys) - 2)  # the second k0 in the same batch is a repeat
        assert asyncio.run(deliver(keys[1:2])) == [False]  # a later delivery of a stored callback
    finally:
        store.stop()
    assert batches == [1]  # one commit stored them all; the repeat added nothing and woke no one
    with sessions() as session:
        rows = [(j.kind, j.key, j.payload, j.status, j.attempts, j.run_after, j.created_at) for j in session.scalars(select(Job).order_by(Job.id))]
    engine.dispose()
    assert rows == [("wecom_event", key, payloads[key], "pending", 0, clock(), clock()) for key in keys]


CHILD = """
import os, signal, sys
record = open(sys.argv[1], "ab", buffering=0)
record.write(b"|")
signal.signal(signal.SIGTERM, lambda *_: (record.write(b"T"), sys.exit(0)))
while chunk := os.read(0, 4096):
    record.write(chunk)
    if b"x" in open(sys.argv[2], "rb").read():  # told to crash
        open(sys.argv[2], "wb").close()
        os._exit(3)
record.write(b"EOF")
"""


def wait_for_record(path: Path, expected: bytes) -> bytes:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and path.read_bytes() != expected:
        time.sleep(0.02)
    return path.read_bytes()


def test_the_worker_process_gets_the_go_then_wakes_and_is_stopped_with_sigterm(tmp_path: Path) -> None:
    record, crash = tmp_path / "record", tmp_path / "crash"
    record.touch()
    crash.touch()
    child = WorkerProcess([sys.executable, "-c", CHILD, str(record), str(crash)])
    child.spawn()  # loads early; nothing is sent before start()
    assert wait_for_record(record, b"|") == b"|"
    child.start(sole_instance=True)
    child.wake()
    child.callbacks_stored()
    assert wait_for_record(record, b"|rwc") == b"|rwc"  # r: go, resuming the jobs left running; w: wake; c: callbacks stored
    child.stop()
    assert record.read_bytes() == b"|rwcT"


def test_a_worker_process_that_dies_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.worker.process

    monkeypatch.setattr(bot.worker.process, "FIRST_RESTART_DELAY", 0.05)
    record, crash = tmp_path / "record", tmp_path / "crash"
    record.touch()
    crash.write_bytes(b"x")
    child = WorkerProcess([sys.executable, "-c", CHILD, str(record), str(crash)])
    child.start()
    try:
        first = child.pid
        assert wait_for_record(record, b"|g|g") == b"|g|g"  # the first child crashed after its go; the second got one too
        assert child.pid != first
    finally:
        child.stop()


def test_a_worker_process_exits_at_once_when_the_serving_process_has_gone() -> None:
    script = (
        "from bot.worker.process import _Parent, wait_for_go\n"
        "class Worker:\n"
        "    def wake(self): print('wake', flush=True)\n"
        "print('resume' if wait_for_go() else 'go', flush=True)\n"
        "parent = _Parent(Worker())\n"
        "parent.follow()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    try:
        child.stdin.write(b"gc")
        child.stdin.flush()
        assert child.stdout.readline() == b"go\n"
        assert child.stdout.readline() == b"wake\n"
        child.stdin.close()  # what the kernel does when the parent dies, even of kill -9
        assert child.wait(10) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
