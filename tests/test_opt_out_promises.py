"""An opt-out holds against every role: no forged "customer" message, no staff member lifts the customer's 退订."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.db.models import AuditLog
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import FakeClock
from tests.test_guarantee import RecordingSender

ROOT = Path(__file__).resolve().parents[1]
KF = "wkLUCKY"
PROMO = "本周全场五折，欢迎来店"
LATE = datetime(2026, 11, 20, 15, 41, tzinfo=timezone.utc)  # 23:41 in Shanghai: quiet hours too


@pytest.fixture
def app(database_url: str) -> Iterator[tuple[TestClient, RecordingSender]]:
    shipped = make_settings(database_url, intents_dir=ROOT / "intents", personas_dir=ROOT / "persona_styles")
    client = TestClient(create_app(shipped, clock=FakeClock(LATE)))
    client.__enter__()
    runtime(client).worker.stop()
    sender = RecordingSender()
    runtime(client).outbox.senders["kf"] = sender
    yield client, sender
    client.__exit__(None, None, None)


def post(client: TestClient, headers: dict, customer: str, text: str, msg_id: str, **extra: object) -> int:
    body = {"channel": "kf", "open_kfid": KF, "customer_id": customer, "text": text, "msg_id": msg_id, **extra}
    return client.post("/api/messages", json=body, headers=headers).status_code


def opted_out_customer(client: TestClient, intake: dict, customer: str) -> None:
    """The customer's own 退订, through the pipeline."""
    assert post(client, intake, customer, "退订，别再给我发广告了", f"{customer}-out", verified_customer=True) == 202
    run_jobs(client)
    admin = bearer(client, "boss", "admin")
    assert client.get(f"/api/customers/kf/{customer}/opt-out", headers=admin).json()["opted_out"] is True


def latest_draft(client: TestClient, customer: str) -> dict:
    return client.get("/api/drafts", params={"customer_id": customer, "limit": 1}, headers=bearer(client, "boss", "admin")).json()[0]


def test_staff_cannot_post_customer_messages_and_intake_tokens_cannot_read_drafts(app: tuple[TestClient, RecordingSender]) -> None:
    client, _ = app
    staff = bearer(client, "zhangsan")
    refused = client.post("/api/messages", json={"channel": "kf", "open_kfid": KF, "customer_id": "wm1", "text": "有没有优惠",
                                                 "msg_id": "forged-1", "staff_id": "zhangsan"}, headers=staff)
    assert refused.status_code == 403
    assert "接入令牌" in refused.json()["detail"]
    intake = bearer(client, "pipeline", "intake")
    assert post(client, intake, "wm1", "你好", "ok-1") == 202
    for path in ("/api/drafts", "/api/customers/kf/wm1/opt-out"):
        assert client.get(path, headers=intake).status_code == 403


def test_an_unverified_message_never_makes_a_promotion_solicited_for_an_opted_out_customer(
    app: tuple[TestClient, RecordingSender],
) -> None:
    client, sender = app
    intake = bearer(client, "pipeline", "intake")
    opted_out_customer(client, intake, "wmOUT")
    assert post(client, intake, "wmOUT", "有没有优惠券", "forged-ask") == 202  # not vouched as the customer's words
    run_jobs(client)
    draft = latest_draft(client, "wmOUT")
    assert draft["solicited"] is False
    assert "dont_disturb" in [check["code"] for check in draft["checks"]]
    staff = bearer(client, "zhangsan")
    assert client.post(f"/api/drafts/{draft['id']}/approve", json={"text": PROMO}, headers=staff).status_code == 200
    run_jobs(client)
    assert sender.replies == []
    assert latest_draft(client, "wmOUT")["status"] == "blocked"


def test_the_customers_own_question_about_deals_is_answered_even_after_an_opt_out(app: tuple[TestClient, RecordingSender]) -> None:
    client, sender = app
    intake = bearer(client, "pipeline", "intake")
    opted_out_customer(client, intake, "wmASK")
    assert post(client, intake, "wmASK", "有没有优惠券", "real-ask", verified_customer=True) == 202
    run_jobs(client)
    draft = latest_draft(client, "wmASK")
    assert draft["solicited"] is True
    client.post(f"/api/drafts/{draft['id']}/approve", json={"text": PROMO}, headers=bearer(client, "zhangsan"))
    run_jobs(client)
    assert [reply.text for reply in sender.replies] == [PROMO]


def test_only_an_admin_with_a_reason_lifts_the_customers_own_opt_out_and_it_is_audited(app: tuple[TestClient, RecordingSender]) -> None:
    client, _ = app
    intake = bearer(client, "pipeline", "intake")
    opted_out_customer(client, intake, "wmLIFT")
    staff, admin = bearer(client, "zhangsan"), bearer(client, "boss", "admin")
    url = "/api/customers/kf/wmLIFT/opt-out"
    refused = client.request("DELETE", url, json={"reason": "客户口头说可以"}, headers=staff)
    assert refused.status_code == 403
    assert "客户本人的退订" in refused.json()["detail"]
    assert client.request("DELETE", url, headers=admin).status_code == 422  # no reason
    assert client.get(url, headers=admin).json()["opted_out"] is True
    lifted = client.request("DELETE", url, json={"reason": "客户来电要求恢复活动通知"}, headers=admin)
    assert lifted.status_code == 200
    assert client.get(url, headers=admin).json()["opted_out"] is False
    with runtime(client).sessions() as session:
        [event] = session.scalars(select(AuditLog).where(AuditLog.action == "opt_out_lifted")).all()
    assert event.actor == "boss"
    assert (event.role, event.surface, event.channel, event.customer_id) == ("admin", "api", "kf", "wmLIFT")
    assert event.detail["recorded_by"] == "customer" and "wmLIFT" not in str(event.detail)
    assert "客户来电要求恢复活动通知" in event.detail["reason"]


def test_staff_lift_only_the_opt_outs_they_recorded(app: tuple[TestClient, RecordingSender]) -> None:
    client, _ = app
    zhang, li = bearer(client, "zhangsan"), bearer(client, "lisi")
    url = "/api/customers/kf/wmSTAFF/opt-out"
    assert client.post(url, json={"reason": "电话里说不要活动信息"}, headers=zhang).status_code == 201
    assert client.request("DELETE", url, json={"reason": "我来解除"}, headers=li).status_code == 403
    assert client.request("DELETE", url, json={"reason": "记错了客户"}, headers=zhang).status_code == 200
    with runtime(client).sessions() as session:
        actions = [e.action for e in session.scalars(select(AuditLog).where(AuditLog.action.like("opt_out%")).order_by(AuditLog.id))]
    assert actions == ["opt_out", "opt_out_lifted"]
