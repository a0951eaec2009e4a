"""Durable storage of accepted callbacks with group commit: one writer thread, one transaction per batch.

Many requests arriving together are stored in one transaction with one prebuilt statement, and each
request is answered only after that commit: the durability of one commit per callback at a fraction
of the cost. A callback WeCom delivers again finds its key taken and changes nothing.

The request side does as little as it can, because it runs on the event loop that acknowledges every
callback: it adds (key, payload, future) to the loop's current batch and waits. The writer thread
settles all the futures of a batch with one hand-off to the loop and calls `on_stored` once per batch
(the worker is woken once, not once per callback).

One callback never takes its batch down: its payload is converted for the database before it joins
a batch (a payload that cannot be is refused at once), and if a batch still fails, its callbacks
are written one by one, so only the one at fault is refused (`Unstorable`) and the others are stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Dialect, Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError

from bot.db.models import Job
from bot.errors import Refused
from bot.services.storable import column_length

log = logging.getLogger(__name__)
MAX_BATCH = 256  # callbacks per transaction
ROWS_PER_INSERT = 100  # 5 parameters a row: under the 999 that older SQLite builds allow in one statement
MAX_KEY = column_length(Job.__table__.c.key) or 255  # jobs.key is a String(255)
ITEM_SQLSTATES = ("22", "23", "P0")  # PostgreSQL: data exception, integrity violation, raised by a trigger or function

Waiting = tuple[str, object, asyncio.AbstractEventLoop, asyncio.Future[bool]]  # key, payload as the database takes it


class Unstorable(Refused):
    """This callback's own data cannot be stored (the others of its batch are): refuse it."""


class CallbackStore:
    """Stores callbacks as `wecom_event` jobs; `await store(key, payload)` returns False for a repeat delivery.

    `store` is called from one event loop (the server's). The callbacks it receives in one turn of
    the loop go to the writer thread together; `on_stored` is called from the writer thread after
    each commit that added at least one job.
    """

    def __init__(self, engine: Engine, clock: Callable[[], datetime], on_stored: Callable[[], None] = lambda: None) -> None:
        self.engine = engine
        self.clock = clock
        self.on_stored = on_stored
        dialect = engine.dialect
        columns = Job.__table__.c
        self._payload_value = _bind_processor(columns.payload, dialect)
        self._time_value = _bind_processor(columns.run_after, dialect)
        self._mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self._sql: dict[int, str] = {}  # by number of rows
        self._pending: list[Waiting] = []
        self._queue: queue.SimpleQueue[list[Waiting] | None] = queue.SimpleQueue()
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

    async def store(self, key: str, payload: dict[str, Any]) -> bool:
        """Store a callback under its dedupe key, durably (committed when this returns); False if stored before.

        Raises `Unstorable` for a callback the database cannot take; errors of the database itself pass through.
        """
        value = self._row_payload(payload)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((storable_key(key), value, loop, future))
        if len(self._pending) == 1:
            loop.call_soon(self._hand_over)  # once the requests the loop is handling now have added theirs
        return await future

    def _row_payload(self, payload: dict[str, Any]) -> object:
        """The payload as the database column takes it (JSON text); `Unstorable` if it cannot be converted."""
        try:
            return self._payload_value(payload)
        except (TypeError, ValueError, RecursionError) as exc:
            raise Unstorable(f"payload cannot be stored as JSON ({type(exc).__name__})") from None

    def _hand_over(self) -> None:
        batch, self._pending = self._pending, []
        self._queue.put(batch)

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                outcomes: list[bool | Exception] = list(self._write(batch))
            except Exception:
                log.exception("storing %d callbacks failed; storing them one by one", len(batch))
                outcomes = self._write_singly(batch)
            self._last_write = time.monotonic()
            _answer(batch, outcomes)
            if any(outcome is True for outcome in outcomes):
                self.on_stored()

    def _write_singly(self, batch: list[Waiting]) -> list[bool | Exception]:
        """Each callback in its own transaction: the one the database refuses is `Unstorable`, the rest are stored."""
        outcomes: list[bool | Exception] = []
        for item in batch:
            try:
                [added] = self._write([item])
            except Exception as exc:
                if not _item_at_fault(exc):
                    outcomes.append(exc)
                    continue
                log.warning("callback %.80s refused by the database: %.200s", item[0], (str(exc) or type(exc).__name__).splitlines()[0])
                outcomes.append(Unstorable(f"the database refused this callback ({type(exc).__name__})"))
            else:
                outcomes.append(added)
        return outcomes

    def _next_batch(self) -> list[Waiting] | None:
        """Every callback waiting now (at least one; gathering stops once MAX_BATCH are in); None once stop() was called."""
        batch = self._queue.get()
        if batch is None:
            return None
        while len(batch) < MAX_BATCH:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                self._queue.put(None)  # finish this batch, then stop
                break
            batch.extend(more)
        return batch

    def _write(self, batch: list[Waiting]) -> list[bool]:
        """Insert the batch in one transaction; which callbacks were new.

        The statement is plain SQL with the values already converted (`now` once for the whole
        batch): SQLAlchemy's executemany spent twice as long per row on parameter handling.
        """
        now = self._time_value(self.clock())
        inserted: set[str] = set()
        with self.engine.begin() as connection:
            for start in range(0, len(batch), ROWS_PER_INSERT):
                rows = batch[start:start + ROWS_PER_INSERT]
                parameters: list[object] = []
                for key, payload, _, _ in rows:
                    parameters += (key, payload, now, now, now)
                inserted.update(connection.exec_driver_sql(self._insert(len(rows)), tuple(parameters)).scalars())
        added = []
        for key, _, _, _ in batch:  # two deliveries in one batch: only the first counts as new
            added.append(key in inserted)
            inserted.discard(key)
        return added

    def _insert(self, rows: int) -> str:
        """INSERT of `rows` callbacks in one statement; RETURNING names the keys that were new."""
        sql = self._sql.get(rows)
        if sql is None:
            m = self._mark
            values = ", ".join([f"('wecom_event', {m}, {m}, 'pending', 0, {m}, {m}, {m})"] * rows)
            sql = self._sql[rows] = (
                "INSERT INTO jobs (kind, key, payload, status, attempts, run_after, created_at, updated_at) "
                f"VALUES {values} ON CONFLICT (key) DO NOTHING RETURNING key"
            )
        return sql


def _item_at_fault(exc: Exception) -> bool:
    """True when the database refused this row's data; False when the database itself failed (down, locked, no table)."""
    if not isinstance(exc, DBAPIError):  # a pool timeout or lost connection is not the row's fault; its values failing to bind is
        return isinstance(exc, StatementError) or not isinstance(exc, SQLAlchemyError)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate.startswith(ITEM_SQLSTATES)
    return isinstance(exc, (DataError, IntegrityError))


def storable_key(key: str) -> str:
    """The dedupe key as stored: itself, or its SHA-256 when it is longer than the column or holds NUL."""
    if len(key) <= MAX_KEY and "\x00" not in key:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _bind_processor(column: ColumnElement[Any], dialect: Dialect) -> Callable[[object], object]:
    """How SQLAlchemy turns a Python value into this column's database value (JSON text, UTC time) on `dialect`."""
    return column.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)


def _answer(batch: list[Waiting], outcomes: list[bool | Exception]) -> None:
    """Settle each request's future with its outcome: one call into each event loop for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], bool | Exception]]] = {}
    for (_, _, loop, future), outcome in zip(batch, outcomes):
        by_loop.setdefault(loop, []).append((future, outcome))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # that loop has closed: nobody is waiting any more
            pass


def _settle(settled: list[tuple[asyncio.Future[bool], bool | Exception]]) -> None:
    for future, outcome in settled:
        if future.done():  # the request was cancelled (client gone)
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
