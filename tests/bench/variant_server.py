"""Bench-only: `python -m bot serve` with experimental patches applied in this process (bot/ is not changed).

    BENCH_PATCHES=no-worker,group-commit python tests/bench/variant_server.py --host 127.0.0.1 --port 8000

It does what bot.cli.serve does (settings, logging, create_app, uvicorn.run with the same options) after
applying the patches named in BENCH_PATCHES, so callback_bench.py --variant can measure what a change in bot/
would buy before anyone makes it:

  no-worker     the job worker never starts: the callback request path alone (jobs stay pending)
  inline-store  store the job on the event loop thread instead of run_in_threadpool (blocking the loop)
  single-writer run _store in one dedicated thread instead of anyio's pool of 40 (one SQLite writer)
  group-commit  one writer thread stores every callback waiting at that moment in a single transaction,
                then answers each request (acknowledged only after the commit: nothing is weakened)
  core-insert   store with one prebuilt Core INSERT .. ON CONFLICT DO NOTHING .. RETURNING (executemany for a
                group) on engine.begin(), instead of building an ORM-enabled insert per callback in a Session
  switch-1ms    sys.setswitchinterval(0.001) instead of 5 ms (GIL hand-over latency experiment)
  quiet-logs    the bot.* loggers at WARNING (no per-callback INFO lines) while uvicorn stays at info
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import queue
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

KNOWN = {"no-worker", "inline-store", "single-writer", "group-commit", "core-insert", "switch-1ms", "quiet-logs"}


def core_store(runtime, events) -> list[bool]:  # noqa: ANN001
    """Store callbacks as store_callback does (same row, same dedupe), with one prebuilt statement."""
    statement = _statement(runtime.engine.dialect.name)
    now = runtime.clock()
    rows = [
        dict(kind="wecom_event", key=e.dedupe_key, payload={"kind": e.kind, "name": e.name, "fields": e.fields},
             status="pending", attempts=0, run_after=now, created_at=now, updated_at=now)
        for e in events
    ]
    with runtime.engine.begin() as connection:
        added = set(connection.execute(statement, rows).scalars())
    return [e.dedupe_key in added for e in events]


@functools.cache
def _statement(dialect: str):  # noqa: ANN202
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from bot.db.models import Job

    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Job.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)


def apply(patches: set[str]) -> None:
    unknown = patches - KNOWN
    if unknown:
        sys.exit(f"unknown BENCH_PATCHES {sorted(unknown)}; known: {sorted(KNOWN)}")
    from bot.api import callback
    from bot.worker import Worker

    if "no-worker" in patches:
        Worker.start = lambda self, *args, **kwargs: None  # type: ignore[method-assign]
    if "switch-1ms" in patches:
        sys.setswitchinterval(0.001)
    original = callback.run_in_threadpool
    core = "core-insert" in patches
    if core:
        callback._store = lambda runtime, event: core_store(runtime, [event])[0]
    if "inline-store" in patches:
        async def inline(func, *args, **kwargs):  # noqa: ANN001, ANN202
            return func(*args, **kwargs)

        callback.run_in_threadpool = inline
    elif "single-writer" in patches:
        from concurrent.futures import ThreadPoolExecutor

        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-writer")

        async def one_thread(func, *args, **kwargs):  # noqa: ANN001, ANN202
            return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(func, *args, **kwargs))

        callback.run_in_threadpool = one_thread
    elif "group-commit" in patches:
        writer = GroupCommitWriter(core=core)

        async def grouped(func, *args, **kwargs):  # noqa: ANN001, ANN202
            if func is callback._store and not kwargs:
                runtime, event = args
                return await writer.store(runtime, event)
            return await original(func, *args, **kwargs)

        callback.run_in_threadpool = grouped


class GroupCommitWriter:
    """One thread; each transaction stores every callback queued so far, then resolves their futures."""

    def __init__(self, max_batch: int = 256, core: bool = False) -> None:
        self.max_batch = max_batch
        self.core = core
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="bench-group-writer", daemon=True).start()

    async def store(self, runtime, event) -> bool:  # noqa: ANN001
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.queue.put((runtime, event, loop, future))
        return await future

    def _run(self) -> None:
        from bot.intake import store_callback

        while True:
            batch = [self.queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            runtime = batch[0][0]
            try:
                if self.core:
                    results = core_store(runtime, [event for _, event, _, _ in batch])
                else:
                    with runtime.sessions() as session:
                        now = runtime.clock()
                        results = [store_callback(session, event, now=now) for _, event, _, _ in batch]
                        session.commit()
            except Exception as exc:  # noqa: BLE001
                for _, _, loop, future in batch:
                    loop.call_soon_threadsafe(_fail, future, exc)
                continue
            for (_, _, loop, future), added in zip(batch, results):
                loop.call_soon_threadsafe(_resolve, future, added)


def _resolve(future: asyncio.Future, value: bool) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future, exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    patches = {p.strip() for p in os.environ.get("BENCH_PATCHES", "").split(",") if p.strip()}
    apply(patches)

    import uvicorn

    from bot.app import create_app
    from bot.cli import _configure_logging, _settings

    settings = _settings()
    _configure_logging(settings.log_level)
    if "quiet-logs" in patches:
        logging.getLogger("bot").setLevel(logging.WARNING)
    application = create_app(settings)
    print(f"draftbot (bench variant: {', '.join(sorted(patches)) or 'no patches'}) on http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(application, host=args.host, port=args.port, log_level=settings.log_level.lower(), access_log=False)


if __name__ == "__main__":
    main()
