"""Every action that changes what a customer may receive or what a person may do is an audit event, written by
the surface that did it (API, app-chat card and command, sidebar, console, CLI, worker) with who, as which role,
and the object, in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.db.models import Draft
from bot.services import opt_outs
from tests.audit.helpers import assert_about_customer, events, one, who
from tests.conftest import bearer, run_jobs, runtime
from tests.console.conftest import make_account, sign_in as console_sign_in
from tests.factories import FakeClock
from tests.fake_wecom import FakeWeCom
from tests.test_sidebar_api import archive_draft, sign_in as sidebar_sign_in
from tests.test_staffchat import ADMIN, ASSIGNEE, customer_writes, say, start, tap


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server:
        yield server


@pytest.fixture
def chat(database_url: str, fake: FakeWeCom, clock: FakeClock) -> Iterator[TestClient]:
    client = start(database_url, fake, clock)
    yield client
    client.__exit__(None, None, None)


def test_a_card_tap_approves_and_the_worker_sends_each_an_event_with_the_exact_text(chat: TestClient, fake: FakeWeCom) -> None:
    made = customer_writes(chat, fake, "我的快递到哪了")
    tap(chat, ASSIGNEE, "approve", made.id)
    approved, sent = one(chat, "approved"), one(chat, "sent")
    assert who(approved) == (ASSIGNEE, "staff", "card", f"draft:{made.id}")
    assert approved.text == made.original_text and approved.detail["edited"] is False
    assert who(sent) == ("system", "system", "worker", f"draft:{made.id}")
    assert sent.text == made.original_text == fake.deliveries()[0]["content"]
    assert sent.detail["approved_by"] == ASSIGNEE
    for event in (approved, sent):
        assert_about_customer(event, "kf", "wmA")


def test_text_commands_edit_and_reject_from_the_app_chat(chat: TestClient, fake: FakeWeCom) -> None:
    first = customer_writes(chat, fake, "我的快递到哪了", customer="wmB")
    say(chat, ASSIGNEE, f"改 #{first.id} 您好，已为您催促快递")
    approved = one(chat, "approved")
    assert who(approved) == (ASSIGNEE, "staff", "chat", f"draft:{first.id}")
    assert approved.text == "您好，已为您催促快递" and approved.detail["edited"] is True
    second = customer_writes(chat, fake, "你好", customer="wmC")
    say(chat, ASSIGNEE, f"不发 #{second.id}")
    rejected = one(chat, "rejected")
    assert who(rejected) == (ASSIGNEE, "staff", "chat", f"draft:{second.id}")
    assert_about_customer(rejected, "kf", "wmC")


def test_a_failed_send_a_superseded_draft_and_an_escalation_are_the_workers(chat: TestClient, fake: FakeWeCom,
                                                                            clock: FakeClock) -> None:
    old = customer_writes(chat, fake, "我的快递到哪了")
    new = customer_writes(chat, fake, "你们服务太差了，我要投诉")
    superseded = one(chat, "superseded")
    assert who(superseded) == ("system", "system", "worker", f"draft:{old.id}") and superseded.detail["superseded_by"] == new.id
    clock.advance(minutes=11)
    run_jobs(chat)
    escalated = one(chat, "escalated")
    assert who(escalated) == ("system", "system", "worker", f"draft:{new.id}") and escalated.detail["to"] == [ADMIN]
    fake.fail_next("kf/send_msg", 1, "errcode95018")
    tap(chat, ASSIGNEE, "approve", new.id)
    failed = one(chat, "failed")
    assert who(failed) == ("system", "system", "worker", f"draft:{new.id}") and failed.detail["errcode"] == 95018
    assert_about_customer(failed, "kf", "wmA")


def test_a_reply_outside_the_kf_window_is_blocked_and_a_promotion_at_night_is_held(database_url: str, fake: FakeWeCom) -> None:
    from datetime import datetime, timezone

    clock = FakeClock(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc))  # 23:00 in Beijing: quiet hours
    client = start(database_url, fake, clock)
    try:
        promo = customer_writes(client, fake, "你好")
        say(client, ASSIGNEE, f"改 #{promo.id} 本周有满减优惠券，欢迎来店")
        held = one(client, "held")
        assert who(held) == ("system", "system", "worker", f"draft:{promo.id}") and held.detail["until"]
        late = customer_writes(client, fake, "我的快递到哪了", customer="wmLATE")
        clock.advance(hours=49)  # past WeCom's 48 hours after the customer's message
        tap(client, ASSIGNEE, "approve", late.id)
        blocked = one(client, "blocked")
        assert who(blocked) == ("system", "system", "worker", f"draft:{late.id}") and "48" in blocked.detail["reason"]
        assert_about_customer(blocked, "kf", "wmLATE")
    finally:
        client.__exit__(None, None, None)


def test_the_api_records_approvals_rejections_and_opt_outs(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    staff = bearer(client, "zhangsan")
    for msg_id, text in (("m1", "我的快递到哪了"), ("m2", "你好")):
        body = {"channel": "kf", "customer_id": f"wm{msg_id}", "text": text, "msg_id": msg_id, "open_kfid": "wkX"}
        assert client.post("/api/messages", json=body, headers=admin).status_code == 202
    run_jobs(client)
    first, second = sorted(d["id"] for d in client.get("/api/drafts", headers=admin).json())
    assert client.post(f"/api/drafts/{first}/approve", json={"text": "马上为您查询"}, headers=staff).status_code == 200
    assert client.post(f"/api/drafts/{second}/reject", json={"reason": "客户已电话沟通"}, headers=admin).status_code == 200
    approved, rejected = one(client, "approved"), one(client, "rejected")
    assert who(approved) == ("zhangsan", "staff", "api", f"draft:{first}") and approved.text == "马上为您查询"
    assert who(rejected) == ("boss", "admin", "api", f"draft:{second}") and rejected.text == "客户已电话沟通"
    assert_about_customer(approved, "kf", "wmm1")

    url = "/api/customers/kf/wmm1/opt-out"
    assert client.post(url, json={"reason": "电话里说不要活动信息"}, headers=staff).status_code == 201
    assert client.request("DELETE", url, json={"reason": "客户又要了"}, headers=admin).status_code == 200
    recorded, lifted = one(client, "opt_out"), one(client, "opt_out_lifted")
    assert who(recorded) == ("zhangsan", "staff", "api", "customer") and recorded.detail["reason"] == "电话里说不要活动信息"
    assert who(lifted) == ("boss", "admin", "api", "customer") and lifted.detail["recorded_by"] == "zhangsan"
    assert_about_customer(lifted, "kf", "wmm1")


def test_the_customers_own_opt_out_keeps_their_words_in_the_redactable_text(client: TestClient) -> None:
    rt = runtime(client)
    with rt.sessions() as session:
        opt_outs.record_customer_said(session, channel="kf", customer_id="wmQ", words="退订，别再发了", now=rt.clock())
        session.commit()
    event = one(client, "opt_out")
    assert who(event) == ("customer", "customer", "worker", "customer") and event.text == "退订，别再发了"
    assert_about_customer(event, "kf", "wmQ")


def test_an_insert_from_the_sidebar(database_url: str, fake: FakeWeCom, clock: FakeClock) -> None:
    from tests.test_sidebar_api import agent_ticket_endpoint
    from bot.app import create_app
    from tests.conftest import make_settings

    with agent_ticket_endpoint():
        with TestClient(create_app(make_settings(database_url, wecom_api_base=fake.base_url), clock=clock)) as client:
            runtime(client).worker.stop()
            draft_id = archive_draft(client, msg_id="s1")
            csrf = sidebar_sign_in(client, fake, "zhangsan")
            sent = client.post(f"/sidebar/api/drafts/{draft_id}/sent", json={"text": "取件码 8-2-1034"},
                               headers={"X-CSRF-Token": csrf})
            assert sent.status_code == 200, sent.text
            inserted = one(client, "inserted")
    assert who(inserted) == ("zhangsan", "staff", "sidebar", f"draft:{draft_id}") and inserted.text == "取件码 8-2-1034"
    assert inserted.detail["edited"] is True


def test_console_actions_are_the_admins_from_the_console(client: TestClient) -> None:
    make_account(client, "lin")
    csrf = console_sign_in(client, "lin")
    admin = bearer(client, "boss", "admin")
    body = {"channel": "kf", "customer_id": "wmN", "text": "哈哈哈哈哈", "msg_id": "n1", "open_kfid": "wkX"}
    assert client.post("/api/messages", json=body, headers=admin).status_code == 202
    run_jobs(client)
    [made] = client.get("/api/drafts", headers=admin).json()
    assert client.post(f"/admin/inbox/{made['id']}/dismiss", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.post("/admin/draft/discard", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    dismissed, discarded = one(client, "inbox_dismiss"), one(client, "discard")
    assert who(dismissed) == ("lin", "admin", "console", f"draft:{made['id']}") and dismissed.text == "哈哈哈哈哈"
    assert_about_customer(dismissed, "kf", "wmN")
    assert who(discarded) == ("lin", "admin", "console", "config:draft")
    assert who(one(client, "initial"))[1:3] == ("system", "worker")


def test_the_cli_records_tokens_accounts_and_teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAFTBOT_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("USER", "ops")
    monkeypatch.setenv("LOGNAME", "ops")
    runner = CliRunner()
    for args in (["token", "create", "--user", "wang", "--role", "supervisor", "--team", "zhangsan,lisi"],
                 ["token", "revoke", "1"], ["team", "set", "wang", "zhangsan"],
                 ["account", "create", "--user", "lin", "--password-stdin"], ["account", "disable", "lin"]):
        result = runner.invoke(cli, args, input="correct horse\n")
        assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, ["audit", "--json"])
    assert listed.exit_code == 0, listed.output
    import json

    found = [(e["actor"], e["role"], e["surface"], e["action"], e["subject"]) for e in reversed(json.loads(listed.output))]
    assert found == [
        ("cli:ops", "admin", "cli", "team_set", "team:wang"),
        ("cli:ops", "admin", "cli", "token_created", "token:1"),
        ("cli:ops", "admin", "cli", "token_revoked", "token:1"),
        ("cli:ops", "admin", "cli", "team_set", "team:wang"),
        ("cli:ops", "admin", "cli", "account_created", "account:lin"),
        ("cli:ops", "admin", "cli", "account_disabled", "account:lin"),
    ]
    table = runner.invoke(cli, ["audit", "--action", "token_created"])
    assert "创建令牌" in table.output and "吊销令牌" not in table.output


def test_an_approval_that_is_refused_writes_no_event(client: TestClient) -> None:
    admin, stranger = bearer(client, "boss", "admin"), bearer(client, "wangwu")
    body = {"channel": "archive", "customer_id": "wmR", "text": "你好", "msg_id": "r1", "staff_id": "zhangsan"}
    assert client.post("/api/messages", json=body, headers=admin).status_code == 202
    run_jobs(client)
    [made] = client.get("/api/drafts", headers=admin).json()
    assert client.post(f"/api/drafts/{made['id']}/approve", json={}, headers=stranger).status_code == 404
    assert client.post(f"/api/drafts/{made['id']}/approve", json={"text": " "}, headers=admin).status_code == 422
    assert events(client, "approved") == []
    with runtime(client).sessions() as session:
        assert session.get(Draft, made["id"]).status == "pending"
