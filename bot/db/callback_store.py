"""Durable storage of accepted callbacks with group commit: one writer thread, one transaction per batch.

Many requests arriving together are stored in one transaction with one prebuilt statement, and each
request is answered only after that commit: the durability of one commit per callback at a fraction
of the cost. A callback WeCom delivers again finds its key taken and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.db.models import Job

log = logging.getLogger(__name__)
MAX_BATCH = 256


class CallbackStore:
    """Stores callbacks as `wecom_event` jobs; `await store(key, payload)` returns False for a repeat delivery."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        table = Job.__table__
        self._statement = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._last_write = 0.0

    def busy(self, within: float = 0.05) -> bool:
        """True while callbacks are arriving (one was stored in the last `within` seconds, or some wait)."""
        return not self._queue.empty() or time.monotonic() - self._last_write < within

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="draftbot-callback-store", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    async def store(self, key: str, payload: dict) -> bool:
        """Store a callback under its dedupe key, durably (committed when this returns); False if stored before."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(((key, payload), loop, future))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(item)
            try:
                added = self._write([callback for callback, _, _ in batch])
            except Exception as exc:
                log.exception("storing %d callbacks failed", len(batch))
                for _, loop, future in batch:
                    loop.call_soon_threadsafe(_settle, future, None, exc)
                continue
            self._last_write = time.monotonic()
            for (_, loop, future), new in zip(batch, added):
                loop.call_soon_threadsafe(_settle, future, new, None)

    def _write(self, callbacks: list[tuple[str, dict]]) -> list[bool]:
        now = self.clock()
        rows = [
            dict(kind="wecom_event", key=key, payload=payload, status="pending", attempts=0,
                 run_after=now, created_at=now, updated_at=now)
            for key, payload in callbacks
        ]
        with self.engine.begin() as connection:
            inserted = set(connection.execute(self._statement, rows).scalars())
        added = []
        for key, _ in callbacks:  # two deliveries in one batch: only the first counts as new
            added.append(key in inserted)
            inserted.discard(key)
        return added


def _settle(future: asyncio.Future, value: bool | None, error: Exception | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
