"""微信客服 end to end in-process: event -> sync_msg -> drafts -> approval -> kf/send_msg."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.db.models import KfCursor
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import FakeClock, kf_event_xml, signed_callback
from tests.fake_wecom import FakeWeCom

KF = "wkLUCKY"


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server:
        yield server


@pytest.fixture
def kf_client(database_url: str, fake: FakeWeCom, clock: FakeClock) -> Iterator[TestClient]:
    settings = make_settings(database_url, wecom_api_base=fake.base_url, wecom_timeout_seconds=2)
    with TestClient(create_app(settings, clock=clock)) as client:
        runtime(client).worker.stop()
        yield client


def deliver_event(client: TestClient, token: str = "ENC1") -> None:
    now = int(runtime(client).clock().timestamp())
    signed = signed_callback(kf_event_xml(token=token, open_kfid=KF, create_time=now), timestamp=now)
    assert client.post(f"/wecom/callback?{signed.query}", content=signed.body).status_code == 200


def drafts(client: TestClient, headers: dict, **params: str) -> list[dict]:
    response = client.get("/api/drafts", params=params, headers=headers)
    assert response.status_code == 200
    return response.json()


def test_a_kf_message_becomes_a_draft_in_the_bound_persona_and_goes_out_only_after_approval(
    kf_client: TestClient, fake: FakeWeCom, clock: FakeClock
) -> None:
    fake.add_customer_message(KF, "wmCUSTOMER", "最近有什么优惠吗", send_time=int(clock().timestamp()))
    deliver_event(kf_client)
    run_jobs(kf_client)
    admin = bearer(kf_client, "boss", "admin")
    [draft] = drafts(kf_client, admin, status="pending")
    assert draft["persona"] == "lucky"  # lucky is bound to wkLUCKY
    assert draft["intent"] == "promotion_inquiry"
    assert draft["marketing"] is True
    assert draft["customer_id"] == "wmCUSTOMER"
    assert fake.deliveries() == []  # nothing leaves before a human decides

    approved = kf_client.post(f"/api/drafts/{draft['id']}/approve", json={"text": "本周满 30 减 5，周日截止"}, headers=admin)
    assert approved.json()["status"] == "approved"
    run_jobs(kf_client)
    [sent] = fake.deliveries()
    assert sent["content"] == "本周满 30 减 5，周日截止"
    assert sent["touser"] == "wmCUSTOMER"
    assert sent["open_kfid"] == KF
    after = kf_client.get(f"/api/drafts/{draft['id']}", headers=admin).json()
    assert after["status"] == "sent"
    assert after["text"] != after["final_text"]  # the original draft is kept beside the final text


def test_sync_follows_has_more_and_persists_the_cursor(kf_client: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.page_size = 2
    for n in range(5):
        fake.add_customer_message(KF, f"wm{n}", "我的快递到哪了", send_time=int(clock().timestamp()))
    deliver_event(kf_client)
    run_jobs(kf_client)
    assert len(fake.calls("kf/sync_msg")) == 3
    admin = bearer(kf_client, "boss", "admin")
    assert len(drafts(kf_client, admin)) == 5
    with runtime(kf_client).sessions() as session:
        cursor = session.scalar(select(KfCursor.cursor).where(KfCursor.open_kfid == KF))
    assert cursor
    fake.add_customer_message(KF, "wm9", "在吗", send_time=int(clock().timestamp()))
    deliver_event(kf_client, token="ENC2")
    run_jobs(kf_client)
    assert fake.calls("kf/sync_msg")[-1]["body"]["cursor"] == cursor
    assert len(drafts(kf_client, admin)) == 6


def test_a_message_seen_twice_in_sync_makes_one_draft(kf_client: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.add_customer_message(KF, "wmA", "你好", msgid="same-msg", send_time=int(clock().timestamp()))
    deliver_event(kf_client, token="T1")
    run_jobs(kf_client)
    with runtime(kf_client).sessions() as session:  # forget the cursor: WeCom sends the message again
        session.query(KfCursor).delete()
        session.commit()
    deliver_event(kf_client, token="T2")
    run_jobs(kf_client)
    assert len(drafts(kf_client, bearer(kf_client, "boss", "admin"))) == 1


def test_non_text_messages_become_drafts_that_need_a_manual_reply(kf_client: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.add_customer_message(KF, "wmB", msgtype="image", send_time=int(clock().timestamp()))
    deliver_event(kf_client)
    run_jobs(kf_client)
    admin = bearer(kf_client, "boss", "admin")
    [draft] = drafts(kf_client, admin)
    assert draft["status"] == "needs_manual"
    assert draft["manual_reason"] == "客户发来的是图片，不是文字"
    response = kf_client.post(f"/api/drafts/{draft['id']}/approve", json={}, headers=admin)
    assert response.status_code == 409  # a manual reply needs its text
    kf_client.post(f"/api/drafts/{draft['id']}/approve", json={"text": "图片收到了，我看一下"}, headers=admin)
    run_jobs(kf_client)
    assert [d["content"] for d in fake.deliveries()] == ["图片收到了，我看一下"]


def test_system_and_servicer_messages_make_no_drafts(kf_client: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.add_customer_message(KF, "wmC", "enter_session", msgtype="event", origin=4)
    fake.add_customer_message(KF, "wmC", "我是客服", origin=5)
    deliver_event(kf_client)
    run_jobs(kf_client)
    assert drafts(kf_client, bearer(kf_client, "boss", "admin")) == []


def approve_latest(client: TestClient, headers: dict, text: str | None = None) -> dict:
    draft = drafts(client, headers, status="pending")[0]
    body = {"text": text} if text else {}
    response = client.post(f"/api/drafts/{draft['id']}/approve", json=body, headers=headers)
    assert response.status_code == 200
    return response.json()


def test_network_errors_and_5xx_are_retried_with_the_same_msgid(kf_client: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.add_customer_message(KF, "wmD", "你好", send_time=int(clock().timestamp()))
    deliver_event(kf_client)
    run_jobs(kf_client)
    admin = bearer(kf_client, "boss", "admin")
    draft = approve_latest(kf_client, admin)
    fake.fail_next("kf/send_msg", 2, "http500")
    run_jobs(kf_client)
    sends = fake.calls("kf/send_msg")
    assert len(sends) == 3
    assert len({call["body"]["msgid"] for call in sends}) == 1
    assert len(fake.deliveries()) == 1
    assert kf_client.get(f"/api/drafts/{draft['id']}", headers=admin).json()["status"] == "sent"


def test_a_wecom_error_code_is_shown_on_the_draft(kf_client: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.add_customer_message(KF, "wmE", "你好", send_time=int(clock().timestamp()))
    deliver_event(kf_client)
    run_jobs(kf_client)
    admin = bearer(kf_client, "boss", "admin")
    draft = approve_latest(kf_client, admin)
    fake.fail_next("kf/send_msg", 1, "errcode95018")
    run_jobs(kf_client)
    shown = kf_client.get(f"/api/drafts/{draft['id']}", headers=admin).json()
    assert shown["status"] == "send_failed"
    assert shown["send_errcode"] == 95018
    assert shown["send_errmsg"]
    assert fake.deliveries() == []


def test_no_call_is_made_48_hours_after_the_customer_wrote(kf_client: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.add_customer_message(KF, "wmF", "你好", send_time=int(clock().timestamp()))
    deliver_event(kf_client)
    run_jobs(kf_client)
    admin = bearer(kf_client, "boss", "admin")
    draft = approve_latest(kf_client, admin)
    clock.advance(hours=49)
    run_jobs(kf_client)
    shown = kf_client.get(f"/api/drafts/{draft['id']}", headers=admin).json()
    assert shown["status"] == "blocked"
    assert shown["send_errmsg"] == "客户的上一条消息是 49 小时前：企业微信只允许在 48 小时内回复"
    assert fake.calls("kf/send_msg") == []


def test_no_sixth_reply_before_the_customer_writes_again(kf_client: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    admin = bearer(kf_client, "boss", "admin")
    written = int(clock().timestamp())
    for n in range(6):  # six messages all written at once, each answered before the next is read
        fake.add_customer_message(KF, "wmG", f"你好 {n}", send_time=written)
        deliver_event(kf_client, token=f"EV{n}")
        run_jobs(kf_client)
        clock.advance(seconds=1)
        approve_latest(kf_client, admin)
        run_jobs(kf_client)
    statuses = [d["status"] for d in reversed(drafts(kf_client, admin))]
    assert statuses == ["sent"] * 5 + ["blocked"]
    assert len(fake.deliveries()) == 5
    assert drafts(kf_client, admin)[0]["send_errmsg"] == "客户的上一条消息之后已回复 5 条：企业微信最多允许 5 条"
