"""Retention: texts older than DRAFTBOT_RETENTION_DAYS are emptied in bounded rounds; choices, facts and counts stay."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlalchemy import func, select

from bot.db.models import AuditLog, Draft, Message, OptOut
from bot.services import audit, opt_outs
from bot.services.retention import Retention, redact_expired
from tests.conftest import bearer, runtime
from tests.factories import FakeClock
from tests.personal_data.helpers import (
    CUSTOMER, REPLY, WORDS, converse, found_in_columns, found_in_files, say, start,
)

WAITING = "我想问问麒麟阁的营业时间"  # an old message whose draft nobody has decided yet
FRESH = "昨天刚下的单在哪里"


def statuses(session) -> dict[str, int]:
    return dict(session.execute(select(Draft.status, func.count()).group_by(Draft.status)).all())


def test_old_texts_are_emptied_in_bounded_rounds_and_recent_ones_stay(database_url: str) -> None:
    clock = FakeClock(datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc))
    client = start(database_url, clock, retention_days=180)
    try:
        admin = bearer(client, "boss", "admin")
        converse(client, admin)
        waiting = say(client, admin, "wmWaiting03", WAITING, "m-wait")
        rt = runtime(client)
        with rt.sessions() as session:
            opt_outs.record_customer_said(session, channel="demo", customer_id=CUSTOMER, words="不要再给我发紫藤花园小区的广告",
                                          now=clock())
            session.commit()
            before = statuses(session)
        clock.advance(days=181)
        fresh = say(client, admin, "wmFresh04", FRESH, "m-fresh")

        retention = Retention(sessions=rt.sessions, days=180, clock=clock, batch=2)
        rounds = [retention.run_once()]
        while rounds[-1].more:
            rounds.append(retention.run_once())
            assert len(rounds) < 20
        assert len(rounds) > 1 and all(n <= 2 for r in rounds for n in r.counts.values())  # bounded batches
        assert retention.run_once().changed == 0  # nothing left

        assert found_in_columns(rt.engine, WORDS) == []
        assert found_in_columns(rt.engine, (REPLY,)) == []
        if database_url.startswith("sqlite"):
            assert found_in_files(database_url, WORDS) == []
        with rt.sessions() as session:
            assert statuses(session) == {**before, "pending": before.get("pending", 0) + 1}  # the dashboard's counts
            old = session.scalars(select(Message).where(Message.msg_id != "m-fresh")).all()
            assert old and all(m.text == "" and m.redacted_at is not None for m in old)
            assert session.scalars(select(Message.text).where(Message.msg_id == "m-fresh")).one() == FRESH
            assert session.get(Draft, fresh["id"]).message_text == FRESH
            kept = session.get(Draft, waiting["id"])
            assert kept.status == "pending" and kept.message_text == WAITING  # a human may still act on it
            sent = session.scalars(select(Draft).where(Draft.status == "sent")).one()
            assert (sent.original_text, sent.final_text, sent.approved_by, sent.intent is not None) == ("", None, "boss", True)
            rows = session.scalars(select(OptOut).where(OptOut.customer_id == CUSTOMER).order_by(OptOut.id)).all()
            assert rows[-1].opted_out and rows[-1].reason == ""  # the choice stays, the words go
            assert opt_outs.latest(session, "demo", CUSTOMER).opted_out
            old_events = session.scalars(select(AuditLog).where(AuditLog.at < clock().replace(year=2026, month=6))).all()
            assert old_events and all(e.text is None for e in old_events)
            assert audit.verify(session).ok
    finally:
        client.__exit__(None, None, None)


def test_the_worker_runs_retention_beside_it(database_url: str) -> None:
    clock = FakeClock(datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc))
    client = start(database_url, clock)
    try:
        admin = bearer(client, "boss", "admin")
        say(client, admin, CUSTOMER, WAITING, "m1")
        clock.advance(days=200)
        rt = runtime(client)
        assert any(isinstance(c, Retention) for c in rt.worker.beside)  # wired with the worker
        retention = Retention(sessions=rt.sessions, days=180, clock=clock, first_after=0, every=0.05)
        retention.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with rt.sessions() as session:
                    if session.scalars(select(Message.text)).one() == "":
                        break
                time.sleep(0.05)
        finally:
            retention.stop()
        with rt.sessions() as session:
            assert session.scalars(select(Message.text)).one() == ""
    finally:
        client.__exit__(None, None, None)


def test_one_round_touches_at_most_the_batch(database_url: str) -> None:
    clock = FakeClock(datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc))
    client = start(database_url, clock)
    try:
        admin = bearer(client, "boss", "admin")
        for n in range(5):
            say(client, admin, f"wmMany{n}", f"第{n}条很久以前的消息", f"m{n}")
        clock.advance(days=400)
        with runtime(client).sessions() as session:
            first = redact_expired(session, days=180, now=clock(), batch=3)
            session.commit()
            assert first.counts["messages"] == 3 and first.more
            assert session.scalar(select(func.count()).select_from(Message).where(Message.redacted_at.is_(None))) == 2
    finally:
        client.__exit__(None, None, None)
