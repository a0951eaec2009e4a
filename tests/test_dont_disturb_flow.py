"""Don't disturb through the API: checks shown before approval, quiet hours hold, caps and opt-outs block."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from fastapi.testclient import TestClient

from bot.app import create_app
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import FakeClock

PROMO = "本周有满减优惠券，欢迎来店"


def start(database_url: str, clock: FakeClock) -> TestClient:
    client = TestClient(create_app(make_settings(database_url), clock=clock))
    client.__enter__()
    runtime(client).worker.stop()
    return client


def message(client: TestClient, headers: dict, customer: str, text: str, msg_id: str) -> dict:
    client.post("/api/messages", json={"channel": "demo", "customer_id": customer, "text": text, "msg_id": msg_id}, headers=headers)
    run_jobs(client)
    return client.get("/api/drafts", params={"customer_id": customer, "limit": 1}, headers=headers).json()[0]


def test_an_unsolicited_promotion_approved_at_night_waits_for_the_morning(database_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc))  # 23:00 in Shanghai
    client = start(database_url, clock)
    try:
        admin = bearer(client, "boss", "admin")
        draft = message(client, admin, "c1", "你好", "m1")
        client.post(f"/api/drafts/{draft['id']}/approve", json={"text": PROMO}, headers=admin)
        run_jobs(client)
        held = client.get(f"/api/drafts/{draft['id']}", headers=admin).json()
        assert held["status"] == "approved"
        assert any(flag["code"] == "held" and "09:00（北京时间）" in flag["reason"] for flag in held["flags"])
        clock.advance(hours=10, minutes=1)  # 09:01 in Shanghai
        run_jobs(client)
        assert client.get(f"/api/drafts/{draft['id']}", headers=admin).json()["status"] == "sent"
    finally:
        client.__exit__(None, None, None)


def test_a_service_reply_goes_out_at_night_and_to_an_opted_out_customer(database_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc))
    client = start(database_url, clock)
    try:
        admin = bearer(client, "boss", "admin")
        client.post("/api/customers/demo/c1/opt-out", headers=admin)
        draft = message(client, admin, "c1", "我的快递到哪了", "m1")
        assert draft["checks"] == []
        client.post(f"/api/drafts/{draft['id']}/approve", json={}, headers=admin)
        run_jobs(client)
        assert client.get(f"/api/drafts/{draft['id']}", headers=admin).json()["status"] == "sent"
    finally:
        client.__exit__(None, None, None)


def test_opt_out_and_the_daily_cap_block_unsolicited_promotion_with_reasons(database_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc))  # 11:00 in Shanghai
    client = start(database_url, clock)
    try:
        admin = bearer(client, "boss", "admin")
        first = message(client, admin, "c1", "你好", "m1")
        client.post(f"/api/drafts/{first['id']}/approve", json={"text": PROMO}, headers=admin)
        run_jobs(client)
        assert client.get(f"/api/drafts/{first['id']}", headers=admin).json()["status"] == "sent"
        second = message(client, admin, "c1", "我的快递到哪了", "m2")
        client.post(f"/api/drafts/{second['id']}/approve", json={"text": PROMO}, headers=admin)
        run_jobs(client)
        blocked = client.get(f"/api/drafts/{second['id']}", headers=admin).json()
        assert blocked["status"] == "blocked"
        assert blocked["send_errmsg"] == "24 小时内已给该客户发过 1 条营销消息（上限 1 条）"

        client.post("/api/customers/demo/c2/opt-out", headers=admin)
        third = message(client, admin, "c2", "你好", "m3")
        client.post(f"/api/drafts/{third['id']}/approve", json={"text": PROMO}, headers=admin)
        run_jobs(client)
        assert "退订营销消息" in client.get(f"/api/drafts/{third['id']}", headers=admin).json()["send_errmsg"]
    finally:
        client.__exit__(None, None, None)


def test_a_question_about_deals_is_answered_after_an_opt_out_and_does_not_lift_it(database_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc))
    client = start(database_url, clock)
    try:
        admin = bearer(client, "boss", "admin")
        client.post("/api/customers/demo/c1/opt-out", headers=admin)
        draft = message(client, admin, "c1", "有没有优惠券", "m1")
        assert draft["solicited"] is True
        assert draft["checks"] == []
        client.post(f"/api/drafts/{draft['id']}/approve", json={}, headers=admin)
        run_jobs(client)
        assert client.get(f"/api/drafts/{draft['id']}", headers=admin).json()["status"] == "sent"
        assert client.get("/api/customers/demo/c1/opt-out", headers=admin).json()["opted_out"] is True
    finally:
        client.__exit__(None, None, None)


def test_a_stale_draft_is_superseded_and_the_new_one_covers_the_conversation(database_url: str) -> None:
    client = start(database_url, FakeClock())
    try:
        admin = bearer(client, "boss", "admin")
        first = message(client, admin, "c1", "你好", "m1")
        second = message(client, admin, "c1", "我的快递到哪了", "m2")
        old = client.get(f"/api/drafts/{first['id']}", headers=admin).json()
        assert old["status"] == "superseded"
        assert old["superseded_by"] == second["id"]
        assert second["message_text"] == "你好\n我的快递到哪了"
        assert client.post(f"/api/drafts/{first['id']}/approve", json={}, headers=admin).status_code == 409
    finally:
        client.__exit__(None, None, None)


def test_an_opt_out_after_an_unanswered_question_is_recorded_and_answered(database_url: str) -> None:
    root = Path(__file__).resolve().parents[1]
    client = TestClient(create_app(make_settings(database_url, intents_dir=root / "intents", personas_dir=root / "persona_styles"),
                                   clock=FakeClock()))
    client.__enter__()
    runtime(client).worker.stop()
    try:
        admin = bearer(client, "boss", "admin")
        first = message(client, admin, "c1", "下周三下午能约个试驾吗", "m1")
        assert first["intent"] == "booking"
        second = message(client, admin, "c1", "别再给我发广告了", "m2")
        assert (second["intent"], second["message_text"]) == ("opt_out", "下周三下午能约个试驾吗\n别再给我发广告了")
        assert client.get(f"/api/drafts/{first['id']}", headers=admin).json()["status"] == "superseded"
        assert client.get("/api/customers/demo/c1/opt-out", headers=admin).json()["opted_out"] is True
    finally:
        client.__exit__(None, None, None)


def test_one_customer_in_two_staff_members_chats_are_two_conversations(database_url: str) -> None:
    client = start(database_url, FakeClock())
    try:
        admin = bearer(client, "boss", "admin")
        for staff, msg_id in (("zhang", "a1"), ("li", "a2")):
            body = {"channel": "archive", "customer_id": "wmX", "text": "你好", "msg_id": msg_id, "staff_id": staff}
            client.post("/api/messages", json=body, headers=admin)
            run_jobs(client)
        statuses = {d["assignee"]: d["status"] for d in client.get("/api/drafts", headers=admin).json()}
        assert statuses == {"zhang": "pending", "li": "pending"}
    finally:
        client.__exit__(None, None, None)
