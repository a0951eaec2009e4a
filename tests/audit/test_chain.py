"""The hash chain: it verifies, redaction keeps it whole, a row changed behind the service's back is named by
`draftbot audit verify`, and parallel appends (threads, parallel requests) on SQLite and PostgreSQL make one chain."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.db.models import AuditLog
from bot.db.session import make_engine, make_sessions, upgrade
from bot.services import audit
from tests.conftest import bearer, run_jobs, runtime

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def sessions(database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    yield make_sessions(engine)
    engine.dispose()


def append(sessions, count: int, *, actor: str = "lin", customer: str | None = None) -> None:
    for n in range(count):
        with sessions() as session:
            audit.record(session, actor=actor, role="admin", surface="api", action="approved", subject=f"draft:{n}",
                         channel="kf" if customer else None, customer_id=customer, text=f"回复 {n}" if customer else None,
                         detail={"edited": False}, now=NOW + timedelta(seconds=n))
            session.commit()


def test_the_chain_links_each_event_to_the_one_before(sessions) -> None:
    append(sessions, 5)
    with sessions() as session:
        chain = list(session.query(AuditLog).order_by(AuditLog.id))
        assert chain[0].prev_hash == audit.GENESIS
        assert all(later.prev_hash == earlier.hash for earlier, later in zip(chain, chain[1:]))
        assert all(event.hash == audit.event_hash(event) for event in chain)
        assert audit.verify(session) == audit.Verification(checked=5)


def test_redaction_clears_the_customer_and_keeps_the_chain_whole(sessions) -> None:
    append(sessions, 3, customer="wmA")
    append(sessions, 2, customer="wmB")
    with sessions() as session:
        assert audit.redact_customer(session, "kf", "wmA", NOW) == 3
        session.commit()
        assert audit.redact_customer(session, "kf", "wmA", NOW) == 0  # idempotent
        redacted = session.query(AuditLog).filter(AuditLog.customer_key == audit.customer_key("kf", "wmA")).all()
        assert [(e.customer_id, e.text, e.redacted_at is not None) for e in redacted] == [(None, None, True)] * 3
        assert all(e.customer_id == "wmB" for e in session.query(AuditLog).filter(AuditLog.channel == "kf",
                                                                                  AuditLog.customer_id.is_not(None)))
        assert audit.verify(session).ok


@pytest.mark.parametrize(("column", "value"), [("actor", "'mallory'"), ("detail", "'{}'"), ("text", "'别的文字'"),
                                               ("customer_id", "'wmX'"), ("prev_hash", "'" + "1" * 64 + "'")])
def test_a_row_changed_behind_the_services_back_is_named(sessions, database_url: str, column: str, value: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    append(sessions, 5, customer="wmA")
    runner = CliRunner()
    monkeypatch.setenv("DRAFTBOT_DATABASE_URL", database_url)
    intact = runner.invoke(cli, ["audit", "verify"])
    assert intact.exit_code == 0 and "5 events" in intact.output
    with sessions() as session:
        third = session.query(AuditLog).order_by(AuditLog.id).offset(2).first().id
        session.execute(text(f"UPDATE audit_log SET {column} = {value} WHERE id = {third}"))
        session.commit()
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"broken at event {third}" in broken.output and "2 events before it are intact" in broken.output


def test_deleting_an_event_is_named_too(sessions, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    append(sessions, 4)
    with sessions() as session:
        ids = [e.id for e in session.query(AuditLog).order_by(AuditLog.id)]
        session.execute(text(f"DELETE FROM audit_log WHERE id = {ids[1]}"))
        session.commit()
        assert audit.verify(session).broken_id == ids[2]
        session.execute(text(f"DELETE FROM audit_log WHERE id >= {ids[2]}"))  # the tail: only the head knows
        session.commit()
        result = audit.verify(session)
        assert result.broken_id == ids[3] and "链头" in result.reason


def test_parallel_appends_in_threads_make_one_unbroken_chain(sessions) -> None:
    threads, errors = 8, []

    def work(n: int) -> None:
        try:
            append(sessions, 10, actor=f"user{n}")
        except Exception as exc:  # reported below: the test fails with it
            errors.append(exc)

    runners = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    assert errors == []
    with sessions() as session:
        assert audit.verify(session) == audit.Verification(checked=threads * 10)


def test_parallel_requests_deciding_many_drafts_keep_one_chain(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    for n in range(12):
        body = {"channel": "kf", "customer_id": f"wm{n}", "text": "我的快递到哪了", "msg_id": f"p{n}", "open_kfid": "wkX"}
        assert client.post("/api/messages", json=body, headers=admin).status_code == 202
    run_jobs(client)
    ids = [d["id"] for d in client.get("/api/drafts", headers=admin).json()]
    results: list[int] = []

    def decide(draft_id: int) -> None:
        action = "approve" if draft_id % 2 else "reject"
        results.append(client.post(f"/api/drafts/{draft_id}/{action}", json={}, headers=admin).status_code)

    runners = [threading.Thread(target=decide, args=(draft_id,)) for draft_id in ids for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    assert set(results) == {200}
    with runtime(client).sessions() as session:
        assert audit.verify(session).ok
        decided = session.query(AuditLog).filter(AuditLog.action.in_(["approved", "rejected"])).count()
    assert decided == len(ids)  # each draft decided once: the twin request is a no-op, and writes nothing


def test_the_migration_chains_existing_rows_and_moves_customer_ids_out_of_the_detail(database_url: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from bot.db.session import MIGRATIONS

    engine = create_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
        connection.execute(text(
            "INSERT INTO audit_log (at, actor, action, version, detail) VALUES "
            "('2026-12-01 10:00:00', 'system', 'initial', 1, '{\"digest\": \"abc\"}'), "
            "('2026-12-02 10:00:00', 'zhangsan', 'opt_out', NULL, "
            "'{\"what\": \"客户 小鱼（kf/wmA）：记录退订\", \"channel\": \"kf\", \"customer_id\": \"wmA\", "
            "\"customer_name\": \"小鱼\", \"reason\": \"电话里说的\"}')"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()
    engine = make_engine(database_url)
    with make_sessions(engine)() as session:
        first, second = session.query(AuditLog).order_by(AuditLog.id).all()
        assert first.subject == "config:v1" and first.prev_hash == audit.GENESIS
        assert (second.channel, second.customer_id, second.customer_key) == ("kf", "wmA", audit.customer_key("kf", "wmA"))
        assert "wmA" not in str(second.detail) and "小鱼" not in str(second.detail)
        assert second.detail["reason"] == "电话里说的" and second.prev_hash == first.hash
        assert audit.verify(session) == audit.Verification(checked=2)
        audit.record(session, actor="lin", role="admin", surface="cli", action="token_created", subject="token:1", now=NOW)
        session.commit()
        assert audit.verify(session) == audit.Verification(checked=3)
    engine.dispose()
