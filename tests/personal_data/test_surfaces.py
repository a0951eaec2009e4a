"""The CLI (draftbot customer export|delete) and the console's 客户资料 page, through the real app and command."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.db.models import AuditLog, Message
from tests.conftest import bearer, runtime
from tests.console.conftest import make_account, sign_in
from tests.factories import FakeClock
from tests.personal_data.helpers import CUSTOMER, FIRST, NAME, OTHER, SECOND, WORDS, converse, found_in_columns, start


def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc))


def test_the_cli_exports_to_a_file_and_deletes_after_asking(database_url: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    client = start(database_url, clock())
    try:
        converse(client, bearer(client, "boss", "admin"))
        engine = runtime(client).engine
        monkeypatch.setenv("DRAFTBOT_DATABASE_URL", database_url)
        runner = CliRunner()
        target = tmp_path / "export.json"
        exported = runner.invoke(cli, ["customer", "export", "demo", CUSTOMER, "--out", str(target)])
        assert exported.exit_code == 0, exported.output
        assert f"demo/{CUSTOMER}" in exported.output and str(target) in exported.output
        data = json.loads(target.read_text(encoding="utf-8"))
        assert [m["text"] for m in data["messages"]][:2] == [FIRST, SECOND]
        assert target.stat().st_mode & 0o077 == 0  # readable by its owner only

        refused = runner.invoke(cli, ["customer", "delete", "demo", CUSTOMER], input="n\n")
        assert refused.exit_code != 0 and "不可撤销" in refused.output
        assert found_in_columns(engine, WORDS)  # nothing was deleted

        deleted = runner.invoke(cli, ["customer", "delete", "demo", CUSTOMER], input="y\n")
        assert deleted.exit_code == 0, deleted.output
        assert f"客户 demo/{CUSTOMER}：已删除或抹去" in deleted.output
        assert found_in_columns(engine, WORDS) == []
        again = runner.invoke(cli, ["customer", "delete", "demo", CUSTOMER, "--yes"])
        assert again.exit_code == 0 and "没有需要删除的资料" in again.output

        printed = runner.invoke(cli, ["customer", "export", "demo", CUSTOMER])
        assert printed.exit_code == 0 and json.loads(printed.stdout)["messages"][0]["text"] == ""
        with runtime(client).sessions() as session:
            surfaces = session.execute(select(AuditLog.action, AuditLog.surface).where(
                AuditLog.action.in_(("customer_exported", "customer_deleted")))).all()
            assert {(a, s) for a, s in surfaces} == {("customer_exported", "cli"), ("customer_deleted", "cli")}

        wrong = runner.invoke(cli, ["customer", "delete", "wechat", CUSTOMER, "--yes"])
        assert wrong.exit_code == 2 and "wechat" in wrong.output and CUSTOMER in wrong.output
    finally:
        client.__exit__(None, None, None)


def test_the_console_page_finds_exports_and_deletes_a_customer_after_confirmation(database_url: str) -> None:
    client = start(database_url, clock())
    try:
        converse(client, bearer(client, "boss", "admin"))
        make_account(client, "lin")
        csrf = sign_in(client, "lin")
        found = client.get("/admin/customers", params={"channel": "demo", "customer_id": CUSTOMER})
        assert found.status_code == 200
        assert FIRST in found.text and NAME in found.text and "已退订" in found.text and "客户资料" in found.text
        assert OTHER not in found.text

        exported = client.post("/admin/customers/export", data={"csrf": csrf, "channel": "demo", "customer_id": CUSTOMER})
        assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
        assert exported.json()["messages"][0]["text"] == FIRST

        confirm = client.get("/admin/customers/delete", params={"channel": "demo", "customer_id": CUSTOMER})
        assert confirm.status_code == 200 and "确认删除" in confirm.text and "单向哈希" in confirm.text
        assert found_in_columns(runtime(client).engine, WORDS)  # asking deletes nothing

        forged = client.post("/admin/customers/delete", data={"channel": "demo", "customer_id": CUSTOMER},
                             follow_redirects=False)
        assert forged.status_code == 403  # no CSRF token
        deleted = client.post("/admin/customers/delete", data={"csrf": csrf, "channel": "demo", "customer_id": CUSTOMER})
        assert deleted.status_code == 200 and "已删除或抹去" in deleted.text and "（已删除）" in deleted.text
        assert found_in_columns(runtime(client).engine, WORDS) == []
        with runtime(client).sessions() as session:
            assert session.scalars(select(Message.text).where(Message.text == OTHER)).all() == [OTHER]

        bad = client.get("/admin/customers", params={"channel": "wechat", "customer_id": CUSTOMER})
        assert bad.status_code == 400 and "没有渠道 wechat" in bad.text
    finally:
        client.__exit__(None, None, None)


def test_the_console_page_is_for_admins(database_url: str) -> None:
    client = start(database_url, clock())
    try:
        assert client.get("/admin/customers", follow_redirects=False).status_code in (302, 303, 307)  # sign in first
        make_account(client, "zhangsan", role="staff")
        client.post("/admin/login", data={"user_id": "zhangsan", "password": "correct horse", "next": "/admin"})
        converse(client, bearer(client, "boss", "admin"))
        page = client.get("/admin/customers", params={"channel": "demo", "customer_id": CUSTOMER}, follow_redirects=False)
        assert page.status_code in (303, 403) and FIRST not in page.text  # refused, or sent back to sign in
        assert client.post("/admin/customers/delete", data={"channel": "demo", "customer_id": CUSTOMER},
                           follow_redirects=False).status_code in (303, 401, 403)
        assert found_in_columns(runtime(client).engine, WORDS)
    finally:
        client.__exit__(None, None, None)
