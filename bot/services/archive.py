"""Pulling the chat archive (会话内容存档): the seq cursor, the lease, held items, errors and backoff.

One pull (`ArchivePuller.pull`) takes the lease on the single `archive_state` row (so one instance
pulls at a time when several share PostgreSQL), asks the SDK for the items after the stored seq,
and stores each batch's messages (`ArchiveIntake`, deduplicated by msgid) and the new seq in ONE
transaction: a crash before that commit leaves both as they were, so the batch is read again and
nothing is skipped; one after it has nothing left to do. The seq moves by compare-and-set on the
lease, so an instance whose lease was taken over stores nothing.

An item whose `publickey_ver` has no configured key is kept in `archive_held` (still encrypted),
reported once in the log at ERROR and shown in /healthz and the console until a key is configured;
the items after it are stored as usual. Each pull first retries the held items it now has keys for.

`ArchivePoller` runs pulls in a thread of the worker process: every DRAFTBOT_ARCHIVE_POLL_SECONDS,
at once when the `msgaudit_notify` callback wakes it, and after a failure with a backoff that
doubles up to `MAX_BACKOFF` (each failure logged with the SDK's code and its meaning).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import ArchiveHeld, ArchiveState
from bot.db.queue import insert_ignoring_duplicates
from bot.errors import ArchiveError
from bot.services.archive_intake import ArchiveIntake
from bot.wecom.archive import MAX_LIMIT, ArchiveKeys, MissingKey, parse_message

log = logging.getLogger(__name__)

STATE_ID = 1
MAX_BATCHES = 50  # per pull; the next pull goes on from the stored seq
MAX_BACKOFF = 300.0


class ChatSource(Protocol):
    """What the puller asks of the SDK (`bot.wecom.archive.FinanceSdk`)."""

    def get_chat_data(self, seq: int, limit: int = MAX_LIMIT) -> list[dict[str, Any]]: ...
    def decrypt(self, encrypt_key: str, encrypt_msg: str) -> dict[str, Any]: ...
    def close(self) -> None: ...


@dataclass
class PullResult:
    """What one pull did: items read, what they became, items held for a missing key, the seq reached."""

    items: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    held: int = 0
    seq: int = 0
    leased: bool = True  # False: another instance holds the lease and pulls

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class ArchivePuller:
    """One pull at a time, under the lease; the SDK is opened on first use and kept."""

    def __init__(self, *, open_source: Callable[[], ChatSource], keys: ArchiveKeys, intake: ArchiveIntake,
                 sessions: sessionmaker[Session], clock: Callable[[], datetime], lease_seconds: float = 120.0,
                 limit: int = MAX_LIMIT, holder: str | None = None, on_stored: Callable[[], None] = lambda: None) -> None:
        self.open_source = open_source
        self.keys = keys
        self.intake = intake
        self.sessions = sessions
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.limit = limit
        self.on_stored = on_stored  # messages were stored: their draft jobs can run now
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self._source: ChatSource | None = None
        self._reported: set[int] = set()  # key versions reported missing by this process

    def pull(self) -> PullResult:
        """Pull until the archive has nothing newer (or MAX_BATCHES); raises ArchiveError after recording it."""
        result = PullResult()
        if not self._take_lease():
            log.debug("archive: another instance holds the lease")
            result.leased = False
            return result
        try:
            source = self._open()
            self._retry_held(source, result)
            for _ in range(MAX_BATCHES):
                with self.sessions() as session:
                    seq = self._state(session).seq
                try:
                    items = source.get_chat_data(seq, self.limit)
                except ArchiveError as exc:
                    self._record_error(exc)
                    raise
                if not items:
                    break
                if not self._store_batch(source, items, after=seq, result=result):
                    break  # the lease went to another instance: it goes on from the stored seq
                if len(items) < self.limit:
                    break
            self._record_success(result)
        finally:
            self._release_lease()
        return result

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    # -- one batch: its messages and the seq in one transaction --------------------------------

    def _store_batch(self, source: ChatSource, items: list[dict[str, Any]], *, after: int, result: PullResult) -> bool:
        now = self.clock()
        last = after
        with self.sessions() as session:
            for item in items:
                seq = _int(item.get("seq"))
                last = max(last, seq)
                result.items += 1
                self._take_item(session, source, item, seq=seq, now=now, result=result)
            if not self._advance(session, after=after, to=last, now=now):
                session.rollback()
                log.warning("archive: lease lost before seq %s was stored; the batch is left to the holder", last)
                return False
            session.commit()
        result.seq = last
        self.on_stored()
        log.info("archive: %d items up to seq %d (%s)", len(items), last,
                 ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items())) or "nothing new")
        return True

    def _take_item(self, session: Session, source: ChatSource, item: dict[str, Any], *, seq: int, now: datetime,
                   result: PullResult) -> None:
        msgid = str(item.get("msgid") or "")[:128]
        version = _int(item.get("publickey_ver"))
        try:
            key = self.keys.message_key(version, str(item.get("encrypt_random_key") or ""))
            data = source.decrypt(key, str(item.get("encrypt_chat_msg") or ""))
        except MissingKey as exc:
            self._hold(session, item, msgid=msgid, seq=seq, version=version, reason=str(exc), now=now, result=result)
            if version not in self._reported:
                self._reported.add(version)
                log.error("archive: %s. Items of this version are kept and read once the key is configured.", exc)
            return
        except ArchiveError as exc:  # this item's key or cipher is wrong: keep it, go on with the others
            self._hold(session, item, msgid=msgid, seq=seq, version=version, reason=str(exc), now=now, result=result)
            log.error("archive: item seq %s (%s) cannot be decrypted: %s", seq, msgid, exc)
            return
        message = parse_message(data, msgid=msgid)
        result.count(self.intake.take(session, message, now=now))

    def _hold(self, session: Session, item: dict[str, Any], *, msgid: str, seq: int, version: int, reason: str,
              now: datetime, result: PullResult) -> None:
        values = dict(msgid=msgid or f"seq:{seq}", seq=seq, publickey_ver=version, item=item, reason=reason, created_at=now)
        insert_ignoring_duplicates(session, ArchiveHeld, values, ["msgid"])  # type: ignore[arg-type]  # any model with an id
        result.held += 1

    def _retry_held(self, source: ChatSource, result: PullResult) -> None:
        """Read the held items whose key version is configured now; each is removed in the transaction that stores it."""
        with self.sessions() as session:
            held = session.scalars(select(ArchiveHeld).order_by(ArchiveHeld.seq)).all()
            for row in held:
                if not self.keys.has(row.publickey_ver):
                    continue
                try:
                    key = self.keys.message_key(row.publickey_ver, str(row.item.get("encrypt_random_key") or ""))
                    data = source.decrypt(key, str(row.item.get("encrypt_chat_msg") or ""))
                except ArchiveError as exc:
                    row.reason = str(exc)
                    continue
                result.count(self.intake.take(session, parse_message(data, msgid=row.msgid), now=self.clock()))
                session.delete(row)
                log.info("archive: held item seq %s read with the key of publickey_ver %s", row.seq, row.publickey_ver)
            session.commit()

    # -- the state row: lease, seq, errors -----------------------------------------------------

    def _state(self, session: Session) -> ArchiveState:
        state = session.get(ArchiveState, STATE_ID)
        if state is None:
            insert_ignoring_duplicates(session, ArchiveState, dict(  # type: ignore[arg-type]  # any model with an id
                id=STATE_ID, seq=0, lease_holder="", updated_at=self.clock()), ["id"])
            session.commit()
            state = session.get(ArchiveState, STATE_ID)
        assert state is not None
        return state

    def _take_lease(self) -> bool:
        now = self.clock()
        with self.sessions() as session:
            self._state(session)
            taken = cast(CursorResult[Any], session.execute(
                update(ArchiveState)
                .where(ArchiveState.id == STATE_ID, or_(ArchiveState.lease_until.is_(None), ArchiveState.lease_until < now,
                                                         ArchiveState.lease_holder == self.holder))
                .values(lease_holder=self.holder, lease_until=now + timedelta(seconds=self.lease_seconds), updated_at=now)
            )).rowcount == 1
            session.commit()
        return taken

    def _advance(self, session: Session, *, after: int, to: int, now: datetime) -> bool:
        """Store the new seq if this instance still holds the lease and nobody moved the seq; renews the lease."""
        return cast(CursorResult[Any], session.execute(
            update(ArchiveState)
            .where(ArchiveState.id == STATE_ID, ArchiveState.seq == after, ArchiveState.lease_holder == self.holder)
            .values(seq=to, lease_until=now + timedelta(seconds=self.lease_seconds), updated_at=now)
        )).rowcount == 1

    def _release_lease(self) -> None:
        with self.sessions() as session:
            session.execute(update(ArchiveState).where(ArchiveState.id == STATE_ID, ArchiveState.lease_holder == self.holder)
                            .values(lease_holder="", lease_until=None))
            session.commit()

    def _record_error(self, exc: ArchiveError) -> None:
        now = self.clock()
        with self.sessions() as session:
            session.execute(update(ArchiveState).where(ArchiveState.id == STATE_ID)
                            .values(last_error=str(exc)[:2000], last_error_at=now, updated_at=now))
            session.commit()

    def _record_success(self, result: PullResult) -> None:
        now = self.clock()
        with self.sessions() as session:
            session.execute(update(ArchiveState).where(ArchiveState.id == STATE_ID)
                            .values(last_error=None, last_error_at=None, pulled_at=now, updated_at=now))
            session.commit()

    def _open(self) -> ChatSource:
        if self._source is None:
            try:
                self._source = self.open_source()
            except ArchiveError as exc:
                self._record_error(exc)
                raise
        return self._source


class ArchivePoller:
    """Runs `ArchivePuller.pull` in a thread: every `poll_seconds`, when woken, and with backoff after failures."""

    def __init__(self, puller: ArchivePuller, *, poll_seconds: float, first_backoff: float = 1.0,
                 max_backoff: float = MAX_BACKOFF) -> None:
        self.puller = puller
        self.poll_seconds = poll_seconds
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.failures = 0
        self.delays: list[float] = []  # the waits after failures, newest last (for /healthz-minded tests and logs)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="draftbot-archive", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Pull now (a msgaudit_notify event said new messages are archived); a backoff in progress is kept."""
        if self.failures == 0:
            self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.puller.close()

    def run_once(self) -> float:
        """One pull; returns how long to wait before the next one."""
        try:
            result = self.puller.pull()
        except ArchiveError as exc:
            self.failures += 1
            delay = min(self.max_backoff, self.first_backoff * 2.0 ** (self.failures - 1))
            self.delays.append(delay)
            log.warning("archive: pull failed (%s), retrying in %.1f s", exc, delay)
            return delay
        except Exception:
            self.failures += 1
            delay = min(self.max_backoff, self.first_backoff * 2.0 ** (self.failures - 1))
            self.delays.append(delay)
            log.exception("archive: pull failed, retrying in %.1f s", delay)
            return delay
        self.failures = 0
        if not result.leased:  # another instance pulls, or one that died holds the lease until it ends
            return min(self.poll_seconds, self.puller.lease_seconds)
        return self.poll_seconds

    def _run(self) -> None:
        while not self._stop.is_set():
            delay = self.run_once()
            if self._stop.is_set():
                return
            if self.failures:
                self._stop.wait(delay)  # a backoff: wake-ups do not cut it short
            else:
                self._wake.wait(delay)
            self._wake.clear()


def archive_health(session: Session, *, now: datetime) -> dict[str, Any]:
    """What /healthz and the console say about the archive: seq, last pull, last error, items held per key version."""
    state = session.get(ArchiveState, STATE_ID)
    held = []
    for no_key in (True, False):
        reason = ArchiveHeld.reason.startswith(MissingKey.PREFIX)
        held += [(int(version), no_key, int(count)) for version, count in session.execute(
            select(ArchiveHeld.publickey_ver, func.count()).where(reason if no_key else ~reason).group_by(ArchiveHeld.publickey_ver))]
    missing = sorted({version for version, no_key, _ in held if no_key})
    problems = []
    for version, no_key, count in sorted(held):
        if no_key:
            problems.append(f"有 {count} 条会话存档消息缺少 publickey_ver {version} 的私钥，还没有读取：请在 "
                            f"DRAFTBOT_ARCHIVE_PRIVATE_KEY 中加上 {version}=私钥文件")
        else:
            problems.append(f"有 {count} 条会话存档消息（publickey_ver {version}）解密失败，还没有读取：请检查这个版本的私钥")
    if state is not None and state.last_error:
        problems.append(f"会话存档拉取失败：{state.last_error}")
    return {
        "seq": state.seq if state is not None else 0,
        "pulled_at": state.pulled_at.isoformat() if state is not None and state.pulled_at else None,
        "last_error": state.last_error if state is not None else None,
        "missing_key_versions": missing,
        "held": sum(int(count) for _, _, count in held),
        "problems": problems,
        "pulling": bool(state is not None and state.lease_until is not None and state.lease_until > now),
    }


def _int(value: object) -> int:
    """An item's number field (seq, publickey_ver); 0 for anything that is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return 0
    try:
        return int(value)
    except ValueError:
        return 0
