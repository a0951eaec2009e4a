"""Retention: texts older than DRAFTBOT_RETENTION_DAYS are emptied by the worker, a bounded batch at a time.

Each round is one short transaction per kind of row, at most `batch` rows each: messages (their text
and the customer's name), drafts once decided (every text, name and entity; status, intent, persona
and times stay, so the dashboard's counts survive), the words of customers' own opt-outs (the
opt-out itself is kept: it honours the customer's choice), audit event texts
(`bot.services.audit.redact_text_before`), cached customer names and finished jobs. A draft still
waiting for a human keeps its text until it is decided. After a round that changed something, the
freed space is wiped (`bot.db.session.wipe_freed`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import Customer, Draft, Job, Message, OptOut
from bot.db.session import wipe_freed
from bot.drafts.lifecycle import OPEN, Status
from bot.services import audit
from bot.services.opt_outs import CUSTOMER
from bot.services.personal_data import redact_draft

log = logging.getLogger(__name__)
BATCH = 500  # rows per kind per transaction: short enough never to hold a write lock for long
LIVE = [s.value for s in (*OPEN, Status.APPROVED)]  # drafts a human may still act on keep their text
TABLES = ("messages", "drafts", "opt_outs", "audit_log", "customers", "jobs")


@dataclass
class RetentionRound:
    """What one round emptied or removed, by kind; `more` when a batch was full (run again soon)."""

    counts: dict[str, int] = field(default_factory=dict)
    more: bool = False

    @property
    def changed(self) -> int:
        return sum(self.counts.values())


def _deleted(session: Session, statement: Delete) -> int:
    result = cast(CursorResult[Any], session.execute(statement))  # a DELETE's result has a row count
    return int(result.rowcount or 0)


def _messages(session: Session, cutoff: datetime, now: datetime, batch: int) -> int:
    rows = session.scalars(
        select(Message).where(Message.redacted_at.is_(None), Message.created_at < cutoff).order_by(Message.id).limit(batch)
    ).all()
    for message in rows:
        message.text, message.customer_name, message.redacted_at = "", "", now
    return len(rows)


def _drafts(session: Session, cutoff: datetime, now: datetime, batch: int) -> int:
    rows = session.scalars(
        select(Draft).where(Draft.redacted_at.is_(None), Draft.created_at < cutoff, Draft.status.not_in(LIVE))
        .order_by(Draft.id).limit(batch)
    ).all()
    for draft in rows:
        redact_draft(draft, now)
    return len(rows)


def _opt_out_words(session: Session, cutoff: datetime, batch: int) -> int:
    rows = session.scalars(
        select(OptOut).where(OptOut.recorded_by == CUSTOMER, OptOut.reason != "", OptOut.created_at < cutoff)
        .order_by(OptOut.id).limit(batch)
    ).all()
    for row in rows:
        row.reason = ""
    return len(rows)


def _old_rows(session: Session, cutoff: datetime, batch: int) -> dict[str, int]:
    """Cached names and finished jobs (whose payloads may quote a callback) older than the cutoff."""
    names = session.scalars(select(Customer.id).where(Customer.fetched_at < cutoff).limit(batch)).all()
    jobs = session.scalars(
        select(Job.id).where(Job.status.in_(("done", "failed")), Job.updated_at < cutoff).limit(batch)
    ).all()
    return {
        "names": _deleted(session, delete(Customer).where(Customer.id.in_(names))) if names else 0,
        "jobs": _deleted(session, delete(Job).where(Job.id.in_(jobs))) if jobs else 0,
    }


def redact_expired(session: Session, *, days: int, now: datetime, batch: int = BATCH) -> RetentionRound:
    """One round in the caller's transaction (the caller commits): at most `batch` rows of each kind."""
    cutoff = now - timedelta(days=days)
    counts = {
        "messages": _messages(session, cutoff, now, batch),
        "drafts": _drafts(session, cutoff, now, batch),
        "opt_out_words": _opt_out_words(session, cutoff, batch),
        "audit_texts": audit.redact_text_before(session, cutoff, now, limit=batch),
        **_old_rows(session, cutoff, batch),
    }
    return RetentionRound(counts, more=any(n >= batch for n in counts.values()))


class Retention:
    """The worker's companion thread: a round every `every` seconds, the next at once (after `pause`) while more is left.

    Started and stopped with the worker (`Worker(beside=...)`), in whichever process runs the jobs.
    """

    def __init__(self, *, sessions: sessionmaker[Session], days: int, clock: Callable[[], datetime], batch: int = BATCH,
                 every: float = 3600.0, pause: float = 1.0, first_after: float = 60.0) -> None:
        self.sessions = sessions
        self.days = days
        self.clock = clock
        self.batch = batch
        self.every = every
        self.pause = pause  # between full batches: other writers get the database in between
        self.first_after = first_after  # the first round waits until the instance has settled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> RetentionRound:
        """One round in its own transaction; the freed space is wiped when it changed something."""
        with self.sessions() as session:
            result = redact_expired(session, days=self.days, now=self.clock(), batch=self.batch)
            session.commit()
            engine = session.get_bind()
        if result.changed:
            wipe_freed(engine, TABLES)
            log.info("retention (%d days): %s", self.days, result.counts)
        return result

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="draftbot-retention", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        self._stop.wait(self.first_after)
        while not self._stop.is_set():
            try:
                more = self.run_once().more
            except Exception:
                log.exception("retention round failed; trying again later")
                more = False
            self._stop.wait(self.pause if more else self.every)
