"""Who the customer is: nicknames (kf/customer/batchget), remarks and tags (externalcontact/get), on drafts and cards.

Everything runs through the real pipeline and worker against the loopback fake WeCom.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.console import audit_trail
from bot.db.models import AuditLog, Customer, Draft
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import FakeClock, app_text_xml, kf_event_xml, signed_callback
from tests.fake_wecom import FakeWeCom

KF = "wkLUCKY"
STAFF = "zhangsan"
_serial = itertools.count(1)


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server:
        yield server


@pytest.fixture
def app(database_url: str, fake: FakeWeCom, clock: FakeClock) -> Iterator[TestClient]:
    settings = make_settings(database_url, wecom_api_base=fake.base_url, wecom_timeout_seconds=2,
                             kf_staff={KF: STAFF}, admins=["boss"])
    with TestClient(create_app(settings, clock=clock)) as client:
        runtime(client).worker.stop()
        yield client


def kf_customers_write(client: TestClient, fake: FakeWeCom, *lines: tuple[str, str]) -> None:
    """Each (customer, text) is queued in 微信客服; one event; the worker pulls, looks up and drafts."""
    now = int(runtime(client).clock().timestamp())
    for customer, text in lines:
        fake.add_customer_message(KF, customer, text, send_time=now)
    signed = signed_callback(kf_event_xml(token=f"EV{next(_serial)}", open_kfid=KF, create_time=now),
                             timestamp=now, nonce=f"n{next(_serial)}")
    assert client.post(f"/wecom/callback?{signed.query}", content=signed.body).status_code == 200
    run_jobs(client)


def newest(client: TestClient, customer: str) -> Draft:
    with runtime(client).sessions() as session:
        return session.scalars(select(Draft).where(Draft.customer_id == customer).order_by(Draft.id.desc())).first()


def cards_for(fake: FakeWeCom, draft_id: int) -> list[dict]:
    return [c["body"]["template_card"] for c in fake.calls("message/send")
            if c["body"]["msgtype"] == "template_card" and c["body"]["template_card"]["task_id"].startswith(f"draft-{draft_id}-")]


def test_kf_nicknames_are_fetched_in_one_batch_and_named_on_the_draft_the_card_and_the_api(
    app: TestClient, fake: FakeWeCom
) -> None:
    fake.add_kf_customer("wmA", "小鱼")  # wmB is a customer WeCom does not return (invalid_external_userid)
    kf_customers_write(app, fake, ("wmA", "我的快递到哪了"), ("wmB", "我的快递到哪了"))

    [batch] = fake.calls("kf/customer/batchget")
    assert sorted(batch["body"]["external_userid_list"]) == ["wmA", "wmB"]
    assert batch["body"]["need_enter_session_context"] == 0
    named, unnamed = newest(app, "wmA"), newest(app, "wmB")
    assert named.customer_name == "小鱼" and named.original_text.startswith("小鱼，")
    assert unnamed.customer_name == "" and not unnamed.original_text.startswith("，")

    [card] = cards_for(fake, named.id)  # the name on the card, where the id was
    assert card["main_title"]["title"].startswith("小鱼：我的快递")
    assert {"keyname": "客户", "value": "小鱼"} in card["horizontal_content_list"]
    assert "订单进度" in card["main_title"]["desc"] and "order_status" not in card["main_title"]["desc"]
    [other] = cards_for(fake, unnamed.id)
    assert other["main_title"]["title"].startswith("wmB：")  # no name: the id, as before

    body = app.get(f"/api/drafts/{named.id}", headers=bearer(app, "boss", "admin")).json()
    assert (body["customer_name"], body["customer_id"]) == ("小鱼", "wmA")  # the id stays available
    assert (body["intent"], body["intent_name"]) == ("order_status", "订单进度")
    assert body["intent_names"]["order_status"] == "订单进度"
    assert set(body["intent_names"]) == {"order_status", *(name for name, _ in body["runners_up"])}
    assert body["intent_names"].get("complaint", "投诉") == "投诉"  # runners-up by their Chinese names too


def test_a_nickname_is_cached_for_a_day_then_asked_again(app: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.add_kf_customer("wmA", "小鱼")
    kf_customers_write(app, fake, ("wmA", "在吗"))
    clock.advance(hours=2)
    kf_customers_write(app, fake, ("wmA", "我的快递到哪了"))
    assert len(fake.calls("kf/customer/batchget")) == 1  # the second draft used the cache
    assert newest(app, "wmA").customer_name == "小鱼"

    fake.add_kf_customer("wmA", "小鱼儿")
    clock.advance(hours=23)
    kf_customers_write(app, fake, ("wmA", "订单 20261122001 到哪了"))
    assert len(fake.calls("kf/customer/batchget")) == 2
    assert newest(app, "wmA").customer_name == "小鱼儿"
    with runtime(app).sessions() as session:
        [row] = session.scalars(select(Customer).where(Customer.customer_id == "wmA")).all()
        assert (row.channel, row.staff_id, row.nickname) == ("kf", None, "小鱼儿")


def test_a_failed_lookup_leaves_the_id_and_never_blocks_the_draft(app: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.add_kf_customer("wmA", "小鱼")
    fake.fail_next("kf/customer/batchget", mode="http500")
    kf_customers_write(app, fake, ("wmA", "我的快递到哪了"))
    draft = newest(app, "wmA")
    assert draft.status == "pending" and draft.customer_name == ""
    [card] = cards_for(fake, draft.id)
    assert card["main_title"]["title"].startswith("wmA：")  # the id, as before
    assert len(fake.calls("kf/customer/batchget")) == 1

    kf_customers_write(app, fake, ("wmA", "在吗"))  # WeCom is left alone for a minute: no call, no wait
    assert len(fake.calls("kf/customer/batchget")) == 1
    assert newest(app, "wmA").status == "pending"
    clock.advance(minutes=2)
    kf_customers_write(app, fake, ("wmA", "订单 20261122001 到哪了"))
    assert len(fake.calls("kf/customer/batchget")) == 2
    assert newest(app, "wmA").customer_name == "小鱼"


def test_own_chat_customers_get_the_staff_members_remark_before_their_name_and_tags(
    app: TestClient, fake: FakeWeCom
) -> None:
    fake.add_external_contact("wo1", "王芳", follow_user=[
        {"userid": "lisi", "remark": "芳芳", "tags": ["门店会员"]},
        {"userid": STAFF, "remark": "王姐", "tags": ["VIP", "老客户"]},
    ])
    fake.add_external_contact("wo2", "李雷", follow_user=[{"userid": STAFF}])
    intake = bearer(app, "pipeline", "intake")
    for n, (customer, name) in enumerate((("wo1", ""), ("wo2", ""), ("wo3", "赵先生"), ("wo1", ""))):
        response = app.post("/api/messages", headers=intake, json={
            "channel": "archive", "customer_id": customer, "staff_id": STAFF, "text": "我的快递到哪了",
            "msg_id": f"arch-{n}", "customer_name": name})
        assert response.status_code == 202, response.text
        run_jobs(app)

    assert [c["query"]["external_userid"] for c in fake.calls("externalcontact/get")] == ["wo1", "wo2", "wo3"]
    assert newest(app, "wo1").customer_name == "王姐"  # this staff member's remark, not lisi's
    assert newest(app, "wo2").customer_name == "李雷"  # no remark: the name
    assert newest(app, "wo3").customer_name == "赵先生"  # not a contact WeCom knows (84061): the name intake gave
    with runtime(app).sessions() as session:
        row = session.scalar(select(Customer).where(Customer.customer_id == "wo1"))
        assert (row.channel, row.staff_id, row.remark, row.nickname, row.tags) == ("archive", STAFF, "王姐", "王芳", ["VIP", "老客户"])

    staff = bearer(app, STAFF)
    listed = app.get("/api/drafts", params={"customer_id": "wo1"}, headers=staff).json()
    assert {d["customer_name"] for d in listed} == {"王姐"} and {d["intent_name"] for d in listed} == {"订单进度"}


def test_the_full_text_command_names_the_customer_and_the_intent_in_chinese(app: TestClient, fake: FakeWeCom) -> None:
    fake.add_kf_customer("wmA", "小鱼")
    kf_customers_write(app, fake, ("wmA", "我的快递到哪了"))
    draft = newest(app, "wmA")
    now = int(runtime(app).clock().timestamp())
    signed = signed_callback(app_text_xml(msg_id="cmd-1", user=STAFF, content=f"全文 #{draft.id}"), timestamp=now, nonce="full")
    assert app.post(f"/wecom/callback?{signed.query}", content=signed.body).status_code == 200
    run_jobs(app)
    [reply] = [c["body"]["text"]["content"] for c in fake.calls("message/send") if c["body"]["msgtype"] == "text"]
    assert reply.startswith(f"#{draft.id} 小鱼：我的快递到哪了") and "意图：订单进度" in reply


def test_the_audit_log_names_the_customer_beside_the_id(app: TestClient, fake: FakeWeCom) -> None:
    fake.add_kf_customer("wmA", "小鱼")
    kf_customers_write(app, fake, ("wmA", "我的快递到哪了"))
    staff = bearer(app, STAFF)
    assert app.post("/api/customers/kf/wmA/opt-out", json={"reason": "电话里说不要推送"}, headers=staff).status_code == 201
    with runtime(app).sessions() as session:
        entry = session.scalar(select(AuditLog).order_by(AuditLog.id.desc()))
        assert entry is not None and audit_trail.customer_label(session, entry) == "小鱼（kf/wmA）"  # as 操作记录 shows it
    assert (entry.action, entry.channel, entry.customer_id) == ("opt_out", "kf", "wmA")
    assert "wmA" not in str(entry.detail) and "小鱼" not in str(entry.detail)  # the redactable fields hold the customer


def control(fake: FakeWeCom, action: str, body: dict) -> tuple[int, dict]:
    """POST a control action to the fake over HTTP, as an out-of-process test would."""
    request = urllib.request.Request(f"{fake.origin}/_fake/{action}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_the_fakes_control_api_scripts_customers_for_both_wecom_endpoints(fake: FakeWeCom) -> None:
    from bot.errors import WeComError
    from bot.wecom.client import WeComClient
    from bot.wecom.contacts import batchget_kf_customers, get_external_contact

    assert control(fake, "kf_customer", {"external_userid": "wmA", "nickname": "小鱼"}) == (200, {"ok": True})
    assert control(fake, "external_contact", {
        "external_userid": "wo1", "name": "王芳",
        "follow_user": [{"userid": STAFF, "remark": "王姐", "tags": ["VIP", "VIP", "老客户"]}]}) == (200, {"ok": True})
    assert control(fake, "kf_customer", {"nickname": "no id"})[0] == 400
    client = WeComClient(corp_id="corp", secret="s", api_base=fake.base_url, timeout=2)
    try:
        found = batchget_kf_customers(client, [f"wm{n}" for n in range(150)] + ["wmA"])
        assert [(c.external_userid, c.nickname) for c in found.values()] == [("wmA", "小鱼")]
        assert [len(c["body"]["external_userid_list"]) for c in fake.calls("kf/customer/batchget")] == [100, 51]
        mine = get_external_contact(client, "wo1", staff_id=STAFF)
        assert (mine.nickname, mine.remark, mine.tags) == ("王芳", "王姐", ("VIP", "老客户"))
        theirs = get_external_contact(client, "wo1", staff_id="lisi")  # another colleague's remark is not theirs
        assert (theirs.nickname, theirs.remark, theirs.tags) == ("王芳", "", ())
        with pytest.raises(WeComError) as unknown:
            get_external_contact(client, "wo404", staff_id=STAFF)
        assert unknown.value.errcode == 84061
    finally:
        client.close()


def test_a_card_for_two_questions_names_both_intents_and_the_customer(app: TestClient, fake: FakeWeCom) -> None:
    fake.add_kf_customer("wmTWO", "阿青")
    kf_customers_write(app, fake, ("wmTWO", "我的快递到哪了？另外最近有什么优惠活动吗"))
    draft = newest(app, "wmTWO")
    assert draft.intents == ["order_status", "promotion_inquiry"]
    [card] = cards_for(fake, draft.id)
    assert card["main_title"]["title"].startswith("阿青：我的快递到哪了")
    assert "意图 订单进度 + 优惠活动" in card["main_title"]["desc"]
