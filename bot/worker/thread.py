"""The background worker: runs queued jobs (in a thread, or in `draftbot worker`), resumes them after a restart."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.db import queue
from bot.db.models import Job
from bot.errors import RetryLater

log = logging.getLogger(__name__)

Handler = Callable[[Session, dict, datetime], None]


class Companion(Protocol):
    """A thread started and stopped with the worker (e.g. `bot.services.archive.ArchivePoller`)."""

    def start(self) -> None: ...
    def stop(self, timeout: float = 10.0) -> None: ...
MAX_JOB_ATTEMPTS = 8
DEFER_SECONDS = 0.02
MAX_DEFER_STEPS = 50  # at most one second of deferral before the next job runs anyway
CLAIM_BATCH = 16  # jobs leased per claim: one claim's queries and commit serve a run of jobs


class Worker:
    """Leases due jobs a few at a time and runs the handler of their kind, one job after another.

    A job's work and its completion commit together; a crash leaves the job leased, and the lease
    expires so this or another instance takes it over. Handlers are idempotent.

    `busy()` is True while callbacks stream in: the callback store's own view in a worker thread, or
    what the parent said over the pipe in a worker process (bot/worker/process.py). Jobs then wait,
    boundedly, because acknowledging callbacks comes first.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker,
        handlers: dict[str, Handler],
        clock: Callable[[], datetime],
        poll_seconds: float,
        lease_seconds: float,
        busy: Callable[[], bool] = lambda: False,
        beside: Sequence[Companion] = (),
    ) -> None:
        self.sessions = sessions
        self.handlers = handlers
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.busy = busy
        self.beside = list(beside)  # threads that live as long as the worker (the chat archive's poller)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._leased: deque[tuple[int, datetime]] = deque()  # (job id, lease end) leased but not yet run

    def start(self, *, sole_instance: bool = False) -> None:
        """Start the thread; a sole instance (SQLite) first resumes the jobs it was running when it stopped."""
        if sole_instance:
            with self.sessions() as session:
                resumed = queue.release_running(session, now=self.clock())
                session.commit()
            if resumed:
                log.info("resuming %d jobs that were running when the service stopped", resumed)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="draftbot-worker", daemon=True)
        self._thread.start()
        for companion in self.beside:
            companion.start()

    def stop(self, timeout: float = 10.0) -> None:
        for companion in self.beside:
            companion.stop()
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return  # still inside a job; its leases end by themselves
            self._thread = None
        self._give_back_leased()

    def wake(self) -> None:
        """Run due jobs now instead of at the next poll (called after enqueueing)."""
        self._wake.set()

    def _run(self) -> None:
        deferred = 0
        while not self._stop.is_set():
            # Acknowledging callbacks comes first: while they stream in, background work waits a
            # little (never more than MAX_DEFER_STEPS in a row, so it cannot starve).
            if self.busy() and deferred < MAX_DEFER_STEPS:
                deferred += 1
                self._stop.wait(DEFER_SECONDS)
                continue
            deferred = 0
            try:
                busy = self.run_once()
            except Exception:
                log.exception("worker loop error")
                busy = False
            if not busy:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def _give_back_leased(self) -> None:
        """Jobs leased but not run go back to the queue at once, not when their leases end."""
        if not self._leased:
            return
        try:
            with self.sessions() as session:
                queue.release(session, list(self._leased))
                session.commit()
        except Exception:
            log.exception("could not give back %d leased jobs; they are taken over when their leases end", len(self._leased))
        self._leased.clear()

    def run_until_idle(self, limit: int = 1000) -> int:
        """Run due jobs until none is left (for the CLI and tests); returns how many it took from its leases."""
        count = 0
        while count < limit and self.run_once():
            count += 1
        return count

    def run_once(self) -> bool:
        """Run one due job (leasing the next few when none is left); False if there was none."""
        if not self._leased:
            with self.sessions() as session:
                jobs = queue.claim(session, now=self.clock(), lease=self.lease_seconds, limit=CLAIM_BATCH)
                self._leased.extend((job.id, job.lease_until) for job in jobs if job.lease_until is not None)  # claim sets it
            if not self._leased:
                return False
        job_id, lease_until = self._leased.popleft()
        with self.sessions() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != "running" or job.lease_until != lease_until:
                return True  # its lease ran out while it waited here, and another worker took it over
            handler = self.handlers.get(job.kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                handler(session, job.payload, self.clock())
            except RetryLater as retry:
                session.commit()  # keep what the handler recorded about the failed try
                queue.retry_later(session, job, now=self.clock(), delay=retry.delay, error=str(retry))
                log.info("job %s (%s) retries in %.1f s: %s", job.id, job.kind, retry.delay, retry)
            except Exception as exc:
                session.rollback()
                job = session.get(Job, job.id, populate_existing=True)
                error = f"{type(exc).__name__}: {exc}"
                if job.attempts >= MAX_JOB_ATTEMPTS:
                    queue.fail(session, job, now=self.clock(), error=error)
                    log.error("job %s (%s) failed for good: %s", job.id, job.kind, error)
                else:
                    queue.retry_later(session, job, now=self.clock(), delay=min(60.0, 2.0**job.attempts), error=error)
                    log.warning("job %s (%s) failed, will retry: %s", job.id, job.kind, error)
            else:
                queue.finish(session, job, now=self.clock())
            session.commit()
            return True
