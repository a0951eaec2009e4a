"""U+0000 and lone surrogates (which PostgreSQL text or UTF-8 cannot hold) never stop a message or a kf account."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.db.models import Job, KfCursor, Message
from bot.drafts.pipeline import Inbound
from bot.services.storable import REPLACEMENT, UnstorableMessage, storable_inbound, storable_text
from bot.wecom.kf import KfMessage
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


def deliver_event(client: TestClient, token: str) -> None:
    now = int(runtime(client).clock().timestamp())
    signed = signed_callback(kf_event_xml(token=token, open_kfid=KF, create_time=now), timestamp=now)
    assert client.post(f"/wecom/callback?{signed.query}", content=signed.body).status_code == 200


def stored(client: TestClient) -> list[tuple[str, str, str]]:
    with runtime(client).sessions() as session:
        return [tuple(row) for row in session.execute(select(Message.msg_id, Message.customer_id, Message.text).order_by(Message.id))]


def job_statuses(client: TestClient) -> dict[str, str]:
    with runtime(client).sessions() as session:
        return dict(session.execute(select(Job.key, Job.status)).all())


def test_a_nul_in_a_kf_message_neither_stalls_the_account_nor_loses_the_others(
    kf_client: TestClient, fake: FakeWeCom, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.page_size = 2
    sent = int(clock().timestamp())
    fake.add_customer_message(KF, "wm1", "你好", msgid="m1", send_time=sent)
    fake.add_customer_message(KF, "wm2", "在吗\x00我的快递到哪了", msgid="m2", send_time=sent)
    fake.add_customer_message(KF, "wm\x003", "发货了吗", msgid="m3", send_time=sent)
    fake.add_customer_message(KF, "wm4", "有人吗", msgid="m" * 200, send_time=sent)  # longer than any msg_id column
    fake.add_customer_message(KF, "wm5", "谢谢", msgid="m5", send_time=sent)
    deliver_event(kf_client, "T1")
    with caplog.at_level(logging.WARNING, logger="bot.services.intake"):
        run_jobs(kf_client)
    assert stored(kf_client) == [
        ("m1", "wm1", "你好"), ("m2", "wm2", f"在吗{REPLACEMENT}我的快递到哪了"), ("m3", f"wm{REPLACEMENT}3", "发货了吗"), ("m5", "wm5", "谢谢"),
    ]
    assert "msg_id is 200 characters" in caplog.text  # the one that cannot be stored is named in the log
    with runtime(kf_client).sessions() as session:
        cursor = session.scalar(select(KfCursor.cursor).where(KfCursor.open_kfid == KF))
    assert cursor  # moved past all five

    fake.add_customer_message(KF, "wm6", "\x00", msgid="m6", send_time=sent)
    deliver_event(kf_client, "T2")
    run_jobs(kf_client)
    assert fake.calls("kf/sync_msg")[-1]["body"]["cursor"] == cursor
    assert stored(kf_client)[-1] == ("m6", "wm6", REPLACEMENT)
    statuses = job_statuses(kf_client)
    assert {key: status for key, status in statuses.items() if status != "done"} == {}
    assert sum(key.startswith("draft:") for key in statuses) == 5  # every stored message was drafted


def test_api_messages_with_nul_are_stored_not_500(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    body = json.dumps({"channel": "archive", "customer_id": "wm\u0000A", "customer_name": "王\u0000", "text": "订单\u0000到哪了",
                       "msg_id": "a\u00001", "staff_id": "lin"}, ensure_ascii=True)
    headers = {**admin, "Content-Type": "application/json"}
    first = client.post("/api/messages", content=body, headers=headers)
    assert first.status_code == 202, first.text
    again = client.post("/api/messages", content=body, headers=headers)  # WeCom-style retry: found under the stored id
    assert again.status_code == 200 and again.json() == {"message_id": first.json()["message_id"], "duplicate": True}
    assert stored(client) == [(f"a{REPLACEMENT}1", f"wm{REPLACEMENT}A", f"订单{REPLACEMENT}到哪了")]
    with runtime(client).sessions() as session:
        assert session.scalar(select(Message.customer_name)) == f"王{REPLACEMENT}"
    run_jobs(client)
    assert job_statuses(client)[f"draft:{first.json()['message_id']}"] == "done"


def test_the_demo_chat_takes_a_nul_and_shows_it_back(client: TestClient) -> None:
    response = client.post("/demo/messages", json={"customer_id": "c\u0000", "customer_name": "\u0000", "text": "\u0000"})
    assert response.status_code == 202, response.text
    run_jobs(client)
    chat = client.get("/demo/conversation", params={"customer_id": f"c{REPLACEMENT}"})  # stored with NUL made storable
    assert chat.status_code == 200
    assert [m["text"] for m in chat.json()["messages"]] == [REPLACEMENT]
    assert len(chat.json()["drafts"]) == 1


def test_storable_text_replaces_only_what_the_databases_refuse() -> None:
    assert storable_text("普通的文字 😀 \t\n") == "普通的文字 😀 \t\n"
    assert storable_text("a\x00b\ud800c\udfff") == f"a{REPLACEMENT}b{REPLACEMENT}c{REPLACEMENT}"


@pytest.mark.parametrize(("change", "reason"), [({"msg_id": ""}, "msg_id is empty"), ({"customer_id": ""}, "customer_id is empty"),
                                                ({"msg_type": "x" * 33}, "msg_type is 33 characters")])
def test_a_message_that_cannot_be_stored_says_which_field(change: dict, reason: str) -> None:
    inbound = Inbound(msg_id="m", channel="kf", customer_id="c", text="t", **{k: v for k, v in change.items() if k not in ("msg_id", "customer_id")})
    if "msg_id" in change or "customer_id" in change:
        inbound = Inbound(**{**inbound.__dict__, **change})
    with pytest.raises(UnstorableMessage, match=reason):
        storable_inbound(inbound)


def test_kf_items_with_fields_of_the_wrong_type_read_as_empty() -> None:
    message = KfMessage.from_item({"msgid": 7, "send_time": "soon", "origin": "3", "msgtype": "text", "text": "not a dict"})
    assert (message.msgid, message.send_time, message.origin, message.text) == ("7", 0, 3, "")


@pytest.mark.parametrize("path", [
    "/api/customers/kf/wm%00A/opt-out",
    "/api/drafts?customer_id=wm%00A",
    "/api/drafts?status=pending&customer_id=%00",
    "/demo/conversation?customer_id=%00",
])
def test_a_nul_in_an_address_is_a_400_with_a_reason(client: TestClient, path: str) -> None:
    response = client.get(path, headers=bearer(client, "boss", "admin"))
    assert response.status_code == 400
    assert "U+0000" in response.json()["detail"]
