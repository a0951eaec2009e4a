"""The worker in its own OS process: `draftbot serve` starts `draftbot worker --supervised` and stops it.

Why a process: running jobs is CPU-bound Python (classifier, templates, SQLAlchemy ORM). In a thread
of the serving process, a job in progress holds the interpreter lock that the event loop needs to
acknowledge callbacks; in its own process it never does, it has its own garbage collector and heap,
and if it crashes the service keeps answering while a new one starts. Jobs are claimed with leases,
as for several instances, so nothing else changes: the serving process stores jobs, the child runs
them. While callbacks stream in, the child still defers its jobs as a worker thread does: on a
machine with two cores its CPU would otherwise come out of acknowledgements (tests/bench/README.md).

The child's stdin is a pipe that only the parent writes:

- the first byte says the database is ready (migrated, configured) and whether to resume the jobs
  left running (a sole instance on SQLite). The child is started early and loads its code while the
  parent trains its classifier; it opens the database only after this byte;
- every later byte wakes the worker (jobs were stored), as `Worker.wake()` does within one process.
  STORED says callbacks were stored: while they stream in, the worker defers its jobs (bounded, see
  bot/worker/thread.py), as a worker thread does, so acknowledging callbacks keeps the CPU;
- end of file means the parent has gone, however it ended (even `kill -9`): the child exits at once,
  as the thread it replaces would have, and the job it was running is resumed after the restart.

A graceful stop is SIGTERM: the child finishes the job it is running and exits. If the child dies on
its own, the parent starts another, after a pause that grows while it keeps dying.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from bot.worker.thread import Worker

log = logging.getLogger(__name__)
GO, GO_RESUME, WAKE, STORED = b"g", b"r", b"w", b"c"
FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 60.0
HEALTHY_AFTER = 60.0  # a child that ran this long before dying is restarted without a longer pause


class WorkerProcess:
    """The parent's side: spawns, wakes, restarts and stops the child process that runs the jobs."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or [sys.executable, "-m", "bot", "worker", "--supervised"]
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._pipe: int | None = None  # the write end of the child's stdin
        self._go = GO
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def spawn(self) -> None:
        """Start the child now so it loads while this process gets ready; it runs no job before start()."""
        with self._lock:
            if self._stopping.is_set():
                return
            read, write = os.pipe()
            # its own process group: Ctrl-C in a terminal reaches the parent, which then stops the child in order
            process = subprocess.Popen(self.command, stdin=read, process_group=0)
            os.close(read)
            os.set_blocking(write, False)
            if self._pipe is not None:
                os.close(self._pipe)
            self._process, self._pipe = process, write
        log.info("worker process %d started", process.pid)

    def start(self, *, sole_instance: bool = False) -> None:
        """Let the child run jobs (the database is ready); a sole instance first resumes the jobs left running."""
        self._stopping.clear()
        self._go = GO_RESUME if sole_instance else GO
        if self._process is None or self._process.poll() is not None:
            self.spawn()
        self._send(self._go)
        self._supervisor = threading.Thread(target=self._supervise, name="draftbot-worker-supervisor", daemon=True)
        self._supervisor.start()

    def wake(self) -> None:
        """Make the child look for due jobs now; never blocks (a full pipe already holds wake-ups)."""
        self._send(WAKE)

    def callbacks_stored(self) -> None:
        """Wake the child, and tell it callbacks are streaming in (called once per committed batch)."""
        self._send(STORED)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child and wait for it to finish its job (kill it after `timeout`)."""
        self._stopping.set()
        with self._lock:
            process, pipe = self._process, self._pipe
            self._pipe = None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("the worker process did not stop in %.0f s: killing it", timeout)
                process.kill()
                process.wait()
        if pipe is not None:
            os.close(pipe)
        if self._supervisor is not None:
            self._supervisor.join(timeout)
            self._supervisor = None

    def _send(self, byte: bytes) -> None:
        pipe = self._pipe
        if pipe is None:
            return
        try:
            os.write(pipe, byte)
        except OSError:  # full (BlockingIOError), or the child is gone and the supervisor restarts it
            pass

    def _supervise(self) -> None:
        delay = FIRST_RESTART_DELAY
        while True:
            started = time.monotonic()
            process = self._process
            if process is None:  # stopped before the first child started
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > HEALTHY_AFTER:
                delay = FIRST_RESTART_DELAY
            log.error("the worker process exited with %s; starting another in %.0f s", code, delay)
            if self._stopping.wait(delay):
                return
            self.spawn()
            self._send(self._go)
            delay = min(MAX_RESTART_DELAY, delay * 2)


def wait_for_go() -> bool:
    """The child's first step after loading: wait until the parent's database is ready; True to resume running jobs."""
    first = os.read(0, 1)
    if not first:
        _parent_gone()
    return first == GO_RESUME


def run_until_stopped(worker: Worker, *, supervised: bool, sole_instance: bool) -> None:
    """The child's side (`draftbot worker`): run jobs until SIGTERM or SIGINT, or until the parent has gone."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if supervised:
        parent = _Parent(worker)
        worker.busy = parent.streaming
        threading.Thread(target=parent.follow, name="draftbot-worker-pipe", daemon=True).start()
    worker.start(sole_instance=sole_instance)
    log.info("worker process %d running jobs", os.getpid())
    while not stop.wait(1.0):  # a timeout keeps the main thread responsive to signals
        pass
    log.info("worker process %d stopping", os.getpid())
    worker.stop()


class _Parent:
    """The child's end of the pipe: wakes the worker, knows when callbacks stream in, exits when the parent has gone."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.last_stored = 0.0

    def streaming(self, within: float = 0.05) -> bool:
        """True while the parent is storing callbacks (it said so in the last `within` seconds)."""
        return time.monotonic() - self.last_stored < within

    def follow(self) -> None:
        while chunk := os.read(0, 4096):
            if STORED in chunk:
                self.last_stored = time.monotonic()
            self.worker.wake()
        _parent_gone()


def _parent_gone() -> None:
    log.warning("the serving process has gone: worker process %d exits now; its jobs resume on restart", os.getpid())
    logging.shutdown()
    os._exit(0)
