"""The staff app chat in-process: draft cards, taps, text commands, card outcomes, escalation."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.db.models import Card, Draft, EditRequest, Job
from bot.staffchat import parse_command
from bot.wecom.cards import draft_card
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import CORP_ID, FakeClock, app_text_xml, kf_event_xml, signed_callback
from tests.fake_wecom import FakeWeCom

KF = "wkLUCKY"        # bound to zhangsan by kf_staff
KF_OPEN = "wkOPEN"    # no staff bound: its drafts go to the approvers
ASSIGNEE, APPROVER, ADMIN, STRANGER = "zhangsan", "lisi", "boss", "wangwu"
_serial = itertools.count(1)


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server:
        yield server


def start(database_url: str, fake: FakeWeCom, clock: FakeClock, **overrides: object) -> TestClient:
    values: dict[str, object] = dict(
        wecom_api_base=fake.base_url, wecom_timeout_seconds=2, approvers=[APPROVER], admins=[ADMIN],
        kf_staff={KF: ASSIGNEE},
    )
    values.update(overrides)
    client = TestClient(create_app(make_settings(database_url, **values), clock=clock))
    client.__enter__()
    runtime(client).worker.stop()
    return client


@pytest.fixture
def chat(database_url: str, fake: FakeWeCom, clock: FakeClock) -> Iterator[TestClient]:
    client = start(database_url, fake, clock)
    yield client
    client.__exit__(None, None, None)


# -- driving the service ----------------------------------------------------------------------------


def post_callback(client: TestClient, xml: str) -> None:
    signed = signed_callback(xml, timestamp=int(runtime(client).clock().timestamp()), nonce=f"n{next(_serial)}")
    assert client.post(f"/wecom/callback?{signed.query}", content=signed.body).status_code == 200


def customer_writes(client: TestClient, fake: FakeWeCom, text: str, *, customer: str = "wmA", kf: str = KF) -> Draft:
    """A 微信客服 customer writes; the worker drafts (and notifies); returns the customer's newest draft."""
    now = int(runtime(client).clock().timestamp())
    fake.add_customer_message(kf, customer, text, send_time=now)
    post_callback(client, kf_event_xml(token=f"EV{next(_serial)}", open_kfid=kf, create_time=now))
    run_jobs(client)
    return newest_draft(client, customer)


def newest_draft(client: TestClient, customer: str = "wmA") -> Draft:
    with runtime(client).sessions() as session:
        return session.scalars(select(Draft).where(Draft.customer_id == customer).order_by(Draft.id.desc())).first()


def draft(client: TestClient, draft_id: int) -> Draft:
    with runtime(client).sessions() as session:
        return session.get(Draft, draft_id)


def cards(client: TestClient, draft_id: int | None = None) -> list[Card]:
    with runtime(client).sessions() as session:
        query = select(Card).order_by(Card.id)
        if draft_id is not None:
            query = query.where(Card.draft_id == draft_id)
        return list(session.scalars(query))


def card_event_xml(*, user: str, key: str, task_id: str, response_code: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[template_card_event]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
        "<CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>1000002</AgentID></xml>"
    )


def tap(client: TestClient, user: str, action: str, draft_id: int, *, response_code: str | None = None) -> str:
    """`user` taps a button of the draft's card (theirs, or the assignee's if they have none); returns the click's code."""
    mine = [c for c in cards(client, draft_id) if c.userid == user] or cards(client, draft_id)
    code = response_code or f"click-{next(_serial)}"
    created = int(runtime(client).clock().timestamp()) + next(_serial)  # each tap is its own event
    post_callback(client, card_event_xml(user=user, key=f"{action}:{draft_id}", task_id=mine[0].task_id,
                                         response_code=code, create_time=created))
    run_jobs(client)
    return code


def say(client: TestClient, user: str, content: str) -> None:
    """`user` writes `content` to the app in WeCom."""
    post_callback(client, app_text_xml(msg_id=str(next(_serial)), user=user, content=content))
    run_jobs(client)


def texts_to(fake: FakeWeCom, user: str) -> list[str]:
    return [call["body"]["text"]["content"] for call in fake.calls("message/send")
            if call["body"]["msgtype"] == "text" and user in call["body"]["touser"].split("|") and not call["failure"]]


def card_sends(fake: FakeWeCom) -> list[dict]:
    return [call["body"] for call in fake.calls("message/send") if call["body"]["msgtype"] == "template_card"]


def updates(fake: FakeWeCom) -> list[dict]:
    return [call["body"] for call in fake.calls("message/update_template_card")]


def delivered(fake: FakeWeCom) -> list[str]:
    return [d["content"] for d in fake.deliveries()]


# -- cards --------------------------------------------------------------------------------------------


def test_a_draft_notifies_its_assignee_with_a_card_within_wecom_limits(chat: TestClient, fake: FakeWeCom) -> None:
    long_message = "我的快递到哪了？" + "我上周五下的单，订单号 20240501123456，到现在还没有任何物流信息，" * 3
    made = customer_writes(chat, fake, long_message)
    assert made.status == "pending" and made.assignee == ASSIGNEE
    [body] = card_sends(fake)
    assert body["touser"] == ASSIGNEE  # the assignee only, not the approvers
    assert body["msgtype"] == "template_card"
    assert body["agentid"] == 1000002
    assert body["enable_duplicate_check"] == 1
    assert 0 < body["duplicate_check_interval"] <= 4 * 3600
    card = body["template_card"]
    assert card["card_type"] == "button_interaction"
    assert [(b["text"], b["key"]) for b in card["button_list"]] == [
        ("发送", f"approve:{made.id}"), ("修改", f"edit:{made.id}"), ("不发", f"reject:{made.id}")]
    assert re.fullmatch(r"[A-Za-z0-9_\-@]{1,128}", card["task_id"])
    assert str(made.id) in card["task_id"]
    assert len(card["main_title"]["title"]) <= 26 and card["main_title"]["title"].endswith("…")
    assert card["main_title"]["title"].startswith("wmA：我的快递到哪了")
    assert len(card["main_title"]["desc"]) <= 30
    assert "订单进度" in card["main_title"]["desc"] and made.persona in card["main_title"]["desc"]  # the intent's Chinese name
    assert len(card["sub_title_text"]) <= 112
    assert made.original_text[:20] in card["sub_title_text"]
    assert 0 < len(card["horizontal_content_list"]) <= 6
    for item in card["horizontal_content_list"]:
        assert len(item["keyname"]) <= 5 and len(item["value"]) <= 26
    assert any("全文" in item["keyname"] + item["value"] for item in card["horizontal_content_list"])
    [stored] = cards(chat, made.id)
    assert stored.userid == ASSIGNEE
    assert stored.task_id == card["task_id"]
    assert stored.response_code  # from WeCom's answer
    assert fake.deliveries() == []  # a card is not a reply


def test_the_card_is_cut_with_an_ellipsis_and_links_the_full_draft_when_public_url_is_set() -> None:
    long = SimpleNamespace(
        id=42, status="pending", customer_id="wmLONG", customer_name="一位名字特别特别特别特别长的客户朋友",
        message_text="消息" * 80, intent="order_status", persona="lucky", original_text="草稿很长。" * 60,
        manual_reason=None, urgent=True,
    )
    body = draft_card(long, userid="zhangsan", agentid="1000002", public_url="https://bot.example.com/")
    card = body["template_card"]
    assert card["sub_title_text"].endswith("…") and len(card["sub_title_text"]) == 112
    assert len(card["main_title"]["title"]) == 26 and card["main_title"]["title"].endswith("…")
    url = "https://bot.example.com/sidebar?draft=42"
    assert card["card_action"] == {"type": 1, "url": url}
    assert {"type": 1, "keyname": "网页", "value": "打开草稿", "url": url} in card["horizontal_content_list"]
    assert all(len(i["value"]) <= 26 and len(i["keyname"]) <= 5 for i in card["horizontal_content_list"])
    assert len(card["horizontal_content_list"]) <= 6
    other = draft_card(long, userid="lisi", agentid="1000002")
    assert other["template_card"]["task_id"] != card["task_id"]  # one card per person
    assert "card_action" not in other["template_card"]


def test_a_needs_manual_draft_has_no_send_button() -> None:
    manual = SimpleNamespace(id=7, status="needs_manual", customer_id="wmB", customer_name="", message_text="",
                             intent=None, persona="lucky", original_text="", manual_reason="客户发来的是图片，不是文字", urgent=False)
    card = draft_card(manual, userid="zhangsan", agentid="1000002")["template_card"]
    assert card["sub_title_text"].startswith("需人工回复：客户发来的是图片，不是文字。")
    assert [b["key"] for b in card["button_list"]] == ["edit:7", "reject:7"]


def test_unassigned_drafts_go_to_every_approver(chat: TestClient, fake: FakeWeCom) -> None:
    made = customer_writes(chat, fake, "我的快递到哪了", customer="wmOPEN", kf=KF_OPEN)
    assert made.assignee is None
    assert [b["touser"] for b in card_sends(fake)] == [APPROVER]
    tap(chat, STRANGER, "approve", made.id)
    assert draft(chat, made.id).status == "pending"
    tap(chat, APPROVER, "approve", made.id)
    assert delivered(fake) == [made.original_text]


def test_a_retried_notify_job_does_not_send_a_second_card(chat: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    fake.fail_next("message/send", 1, "http500")  # WeCom does not answer the first try
    made = customer_writes(chat, fake, "我的快递到哪了")
    assert cards(chat, made.id) == []
    clock.advance(seconds=5)
    run_jobs(chat)
    assert len(cards(chat, made.id)) == 1
    rt = runtime(chat)
    with rt.sessions() as session:  # the notify job runs again, e.g. after a crash before it finished
        rt.staffchat.notify(session, made.id, rt.clock())
        session.commit()
    assert len(cards(chat, made.id)) == 1
    sends = card_sends(fake)
    assert len(sends) == 2 and sends[0] == sends[1]  # the retry is the same JSON: WeCom's duplicate check drops a repeat
    assert len({c["template_card"]["task_id"] for c in sends}) == 1


# -- taps ---------------------------------------------------------------------------------------------


def test_tapping_send_delivers_exactly_the_draft_and_updates_the_card_once(chat: TestClient, fake: FakeWeCom) -> None:
    made = customer_writes(chat, fake, "我的快递到哪了")
    code = tap(chat, ASSIGNEE, "approve", made.id)
    assert delivered(fake) == [made.original_text]
    after = draft(chat, made.id)
    assert after.status == "sent" and after.approved_by == ASSIGNEE
    [update] = updates(fake)
    assert update == {"userids": [ASSIGNEE], "agentid": 1000002, "response_code": code, "button": {"replace_name": "已发送"}}
    [card] = cards(chat, made.id)
    assert card.outcome == "已发送" and card.response_code is None
    tap(chat, ASSIGNEE, "approve", made.id)  # a second tap: refused with a reason, nothing sent again
    run_jobs(chat)
    assert delivered(fake) == [made.original_text]
    assert len(updates(fake)) == 1
    assert "已经发出去了" in texts_to(fake, ASSIGNEE)[-1]


def test_edit_then_a_text_message_sends_the_edited_reply(chat: TestClient, fake: FakeWeCom) -> None:
    made = customer_writes(chat, fake, "我的快递到哪了")
    code = tap(chat, ASSIGNEE, "edit", made.id)
    hint, full = texts_to(fake, ASSIGNEE)
    assert "修改" in hint and "\n" not in hint
    assert full == made.original_text  # alone in its message, easy to copy
    assert fake.deliveries() == []
    say(chat, ASSIGNEE, "您好，已帮您催促快递，今天内会有物流更新")
    assert delivered(fake) == ["您好，已帮您催促快递，今天内会有物流更新"]
    assert draft(chat, made.id).final_text == "您好，已帮您催促快递，今天内会有物流更新"
    [update] = updates(fake)
    assert update["response_code"] == code and update["button"]["replace_name"] == "已修改发送"
    with runtime(chat).sessions() as session:
        assert session.get(EditRequest, ASSIGNEE) is None
    say(chat, ASSIGNEE, "还有一句话")  # the edit is over: plain text is not a reply any more
    assert len(fake.deliveries()) == 1
    assert "回复指令" in texts_to(fake, ASSIGNEE)[-1]


def test_an_empty_edit_is_refused_with_the_reason(chat: TestClient, fake: FakeWeCom) -> None:
    made = customer_writes(chat, fake, "我的快递到哪了")
    tap(chat, ASSIGNEE, "edit", made.id)
    say(chat, ASSIGNEE, "   ")
    assert texts_to(fake, ASSIGNEE)[-1] == "没有发出：修改后的文字为空。"
    assert fake.deliveries() == [] and draft(chat, made.id).status == "pending"


def test_tapping_dont_send_rejects_and_the_card_says_so(chat: TestClient, fake: FakeWeCom) -> None:
    made = customer_writes(chat, fake, "我的快递到哪了")
    code = tap(chat, ASSIGNEE, "reject", made.id)
    assert draft(chat, made.id).status == "rejected"
    assert fake.calls("kf/send_msg") == []
    [update] = updates(fake)
    assert update["response_code"] == code and update["button"]["replace_name"] == "未发送"


def test_an_unauthorised_tap_is_refused_and_changes_nothing(chat: TestClient, fake: FakeWeCom) -> None:
    made = customer_writes(chat, fake, "我的快递到哪了")
    [before] = cards(chat, made.id)
    for user in (STRANGER, APPROVER):  # an approver does not decide a draft assigned to someone else
        for action in ("approve", "reject", "edit"):
            tap(chat, user, action, made.id)
        assert all("不归你处理" in text for text in texts_to(fake, user))
        assert len(texts_to(fake, user)) == 3
    after = draft(chat, made.id)
    assert after.status == "pending" and after.approved_by is None and after.rejected_by is None
    [card] = cards(chat, made.id)
    assert card.response_code == before.response_code
    assert fake.calls("kf/send_msg") == [] and updates(fake) == []
    with runtime(chat).sessions() as session:
        assert session.scalars(select(EditRequest)).all() == []
    tap(chat, ADMIN, "approve", made.id)  # an admin decides any draft
    assert delivered(fake) == [made.original_text]


# -- text commands ------------------------------------------------------------------------------------


def test_text_commands_approve_edit_reject_list_full_and_help(chat: TestClient, fake: FakeWeCom) -> None:
    first = customer_writes(chat, fake, "我的快递到哪了", customer="wm1")
    say(chat, ASSIGNEE, "全文")
    assert first.original_text in texts_to(fake, ASSIGNEE)[-1]
    say(chat, ASSIGNEE, "1")
    assert delivered(fake) == [first.original_text]
    assert "wm1" in texts_to(fake, ASSIGNEE)[-1]

    second = customer_writes(chat, fake, "我的快递到哪了", customer="wm2")
    say(chat, ASSIGNEE, "改 您好，快递已经在派送中了")
    assert delivered(fake)[-1] == "您好，快递已经在派送中了"
    assert draft(chat, second.id).status == "sent"

    third = customer_writes(chat, fake, "我的快递到哪了", customer="wm3")
    say(chat, ASSIGNEE, "0")
    assert draft(chat, third.id).status == "rejected"
    assert len(fake.deliveries()) == 2

    say(chat, ASSIGNEE, "在吗？帮我看看")  # not a command: help, and nothing goes to a customer
    assert "回复指令" in texts_to(fake, ASSIGNEE)[-1]
    say(chat, ASSIGNEE, "帮助")
    assert "列表" in texts_to(fake, ASSIGNEE)[-1]
    assert len(fake.deliveries()) == 2

    fourth = customer_writes(chat, fake, "我的快递到哪了", customer="wm4")
    fifth = customer_writes(chat, fake, "你好", customer="wm5")
    say(chat, ASSIGNEE, "列表")
    listing = texts_to(fake, ASSIGNEE)[-1]
    assert f"#{fifth.id} wm5" in listing and f"#{fourth.id} wm4" in listing
    assert listing.index(f"#{fifth.id}") < listing.index(f"#{fourth.id}")  # newest first
    assert all(len(line) <= 60 for line in listing.splitlines())
    say(chat, ASSIGNEE, "1")  # two are waiting: "the latest" may be one not read yet, so ask which
    assert draft(chat, fourth.id).status == "pending" and draft(chat, fifth.id).status == "pending"
    assert f"发 #{fifth.id}" in texts_to(fake, ASSIGNEE)[-1]
    say(chat, ASSIGNEE, f"发 #{fourth.id}")
    assert delivered(fake)[-1] == fourth.original_text
    say(chat, ASSIGNEE, f"不发 {fifth.id}")
    assert draft(chat, fifth.id).status == "rejected"
    say(chat, ASSIGNEE, "1")
    assert "没有待处理" in texts_to(fake, ASSIGNEE)[-1]
    say(chat, STRANGER, "列表")
    assert "没有待处理" in texts_to(fake, STRANGER)[-1]
    say(chat, STRANGER, f"发 #{first.id}")
    assert "不归你处理" in texts_to(fake, STRANGER)[-1]
    assert len(fake.deliveries()) == 3


def test_a_sensitive_edit_is_refused_with_the_words(database_url: str, fake: FakeWeCom, clock: FakeClock, tmp_path: Path) -> None:
    words = tmp_path / "sensitive.txt"
    words.write_text("加微信\n", encoding="utf-8")
    client = start(database_url, fake, clock, sensitive_words_file=words)
    try:
        made = customer_writes(client, fake, "我的快递到哪了")
        say(client, ASSIGNEE, "改 加微信 abc123 我帮您查")
        assert texts_to(fake, ASSIGNEE)[-1] == f"没有发出：含敏感词（加微信），请修改后再发送（点 修改，或回复 改 #{made.id} 新内容）。"
        assert draft(client, made.id).status == "pending"
        assert fake.calls("kf/send_msg") == []
    finally:
        client.__exit__(None, None, None)


def test_a_failed_reply_to_a_command_does_not_undo_the_decision(chat: TestClient, fake: FakeWeCom) -> None:
    made = customer_writes(chat, fake, "我的快递到哪了")
    fake.fail_next("message/send", 1, "errcode-1")  # the answer "好的…" cannot be delivered
    say(chat, ASSIGNEE, "0")
    assert draft(chat, made.id).status == "rejected"
    assert updates(fake)[-1]["button"]["replace_name"] == "未发送"


def test_parse_command() -> None:
    assert parse_command("1").name == "approve"
    assert parse_command(" OK ").name == "approve"
    assert parse_command("发 #12").draft_id == 12
    assert parse_command("发12").draft_id == 12
    assert parse_command("不发 3").name == "reject"
    assert parse_command("0").name == "reject"
    assert parse_command("改 12点前送到").text == "12点前送到"
    assert parse_command("改 #5 好的").draft_id == 5
    assert parse_command("改：好的").text == "好的"
    assert parse_command("改天再说") is None
    assert parse_command("112") is None
    assert parse_command("列表").name == "list" and parse_command("全文 #9").draft_id == 9


# -- outcomes -----------------------------------------------------------------------------------------


def test_a_superseded_draft_card_shows_expired_and_the_new_draft_is_notified(chat: TestClient, fake: FakeWeCom) -> None:
    old = customer_writes(chat, fake, "我的快递到哪了")
    [old_card] = cards(chat, old.id)
    new = customer_writes(chat, fake, "订单号 20240501123456")
    assert new.id != old.id
    assert draft(chat, old.id).status == "superseded"
    [update] = updates(fake)
    assert update["response_code"] == old_card.response_code  # the code of the send: no one tapped
    assert update["button"]["replace_name"] == "已过期"
    assert [body["template_card"]["button_list"][0]["key"] for body in card_sends(fake)] == [f"approve:{old.id}", f"approve:{new.id}"]
    tap(chat, ASSIGNEE, "approve", old.id)  # a tap on the stale card (before it greyed out)
    assert "已过期" in texts_to(fake, ASSIGNEE)[-1]
    assert fake.deliveries() == []


def test_a_send_failure_updates_the_card_and_says_why(chat: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    made = customer_writes(chat, fake, "我的快递到哪了")
    fake.fail_next("kf/send_msg", 1, "errcode95018")
    code = tap(chat, ASSIGNEE, "approve", made.id)
    assert draft(chat, made.id).status == "send_failed"
    [update] = updates(fake)
    assert update["response_code"] == code and update["button"]["replace_name"] == "发送失败"
    [why] = texts_to(fake, ASSIGNEE)
    assert "发送失败" in why and "95018" in why and f"发 #{made.id}" in why
    clock.advance(minutes=1)
    say(chat, ASSIGNEE, f"发 #{made.id}")  # try again from the chat
    assert delivered(fake) == [made.original_text]
    assert len(updates(fake)) == 1  # the card's code is spent: the outcome comes as a text
    assert texts_to(fake, ASSIGNEE)[-1].startswith("已发送")


def test_an_urgent_complaint_left_undecided_is_escalated_to_the_admins_once(chat: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    made = customer_writes(chat, fake, "你们服务太差了，我要投诉")
    assert made.urgent and made.status == "pending"
    run_jobs(chat)
    assert texts_to(fake, ADMIN) == []
    clock.advance(minutes=9)
    run_jobs(chat)
    assert texts_to(fake, ADMIN) == []
    clock.advance(minutes=1)
    run_jobs(chat)
    run_jobs(chat)
    [alert] = texts_to(fake, ADMIN)
    assert "wmA" in alert and "你们服务太差了" in alert and "10 分钟" in alert
    assert draft(chat, made.id).escalated_at is not None
    rt = runtime(chat)
    with rt.sessions() as session:  # the job runs again (a retry): still one message
        rt.staffchat.escalate(session, made.id, rt.clock())
        session.commit()
    assert len(texts_to(fake, ADMIN)) == 1


def test_an_urgent_draft_decided_in_time_is_not_escalated(chat: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    made = customer_writes(chat, fake, "你们服务太差了，我要投诉")
    tap(chat, ASSIGNEE, "approve", made.id)
    clock.advance(minutes=15)
    run_jobs(chat)
    assert texts_to(fake, ADMIN) == []
    assert draft(chat, made.id).escalated_at is None


# -- without the app ----------------------------------------------------------------------------------


def test_without_app_credentials_drafts_and_callbacks_still_work(database_url: str, fake: FakeWeCom, clock: FakeClock) -> None:
    client = start(database_url, fake, clock, wecom_agent_id="")
    try:
        assert runtime(client).staffchat is None
        made = customer_writes(client, fake, "你们服务太差了，我要投诉")
        assert made.status == "pending"
        say(client, ASSIGNEE, "1")
        assert draft(client, made.id).status == "pending"
        assert fake.calls("message/send") == []
        with runtime(client).sessions() as session:
            kinds = {job.kind for job in session.scalars(select(Job))}
            assert not kinds & {"notify", "escalate"}
            assert all(job.status == "done" for job in session.scalars(select(Job)))
    finally:
        client.__exit__(None, None, None)


def test_the_card_and_the_full_text_carry_the_drafts_warnings(chat: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    admin = bearer(chat, "boss", "admin")
    chat.post("/api/customers/archive/cWarn/opt-out", headers=admin)
    body = {"channel": "archive", "customer_id": "cWarn", "text": "有没有优惠券", "msg_id": "warn-1", "staff_id": "zhangsan"}
    assert chat.post("/api/messages", json=body, headers=admin).status_code == 202
    run_jobs(chat)
    card = [c for c in fake.calls("message/send") if c["body"].get("msgtype") == "template_card"][-1]["body"]["template_card"]
    items = {item["keyname"]: item["value"] for item in card["horizontal_content_list"]}
    assert "营销内容" in items["提醒"]
    say(chat, "zhangsan", "全文")
    run_jobs(chat)
    reply = fake.calls("message/send")[-1]["body"]["text"]["content"]
    assert "提醒：营销内容（意图 优惠活动 属于营销）" in reply


def test_a_promotion_held_for_the_night_says_until_when_in_beijing_time(database_url: str, fake: FakeWeCom) -> None:
    clock = FakeClock(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc))  # 23:00 in Beijing, inside the quiet hours
    client = start(database_url, fake, clock)
    try:
        made = customer_writes(client, fake, "你好")
        say(client, ASSIGNEE, f"改 #{made.id} 本周有满减优惠券，欢迎来店")
        assert draft(client, made.id).status == "approved"  # approved, and held by the quiet hours
        say(client, ASSIGNEE, f"全文 #{made.id}")
        assert "提醒：等免打扰时段结束（免打扰时段：营销消息要等到 09:00（北京时间）以后再发）" in texts_to(fake, ASSIGNEE)[-1]
    finally:
        client.__exit__(None, None, None)
