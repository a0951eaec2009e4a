"""The chat archive as an intake: the stand-in SDK (compiled C) serves encrypted items; drafts appear in the API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.db.models import ArchiveHeld, ArchiveState, Draft, Message
from bot.services.archive import ArchivePoller, ArchivePuller
from bot.wiring import Runtime
from tests.archive.sdk import ArchiveScript, text_message
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import FakeClock
from tests.fake_wecom import FakeWeCom

STAFF, CUSTOMER, OTHER = "zhangsan", "wmCustomerA", "wmCustomerB"


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server:
        yield server


def archive_app(database_url: str, fake_sdk: Path, keys: dict, fake: FakeWeCom, clock: FakeClock,
                versions: tuple[int, ...] = (1, 2), public_url: str = "https://draftbot.example") -> TestClient:
    private = ",".join(f"{v}={keys[v][1]}" for v in versions)
    settings = make_settings(database_url, archive_sdk=str(fake_sdk), archive_secret="archive-secret",
                             archive_private_key=private, wecom_api_base=fake.base_url, wecom_timeout_seconds=2,
                             archive_timeout_seconds=2, public_url=public_url)
    return TestClient(create_app(settings, clock=clock))


@pytest.fixture
def app(database_url: str, fake_sdk: Path, archive_keys: dict, fake: FakeWeCom, clock: FakeClock,
        script: ArchiveScript) -> Iterator[TestClient]:
    with archive_app(database_url, fake_sdk, archive_keys, fake, clock) as client:
        runtime(client).worker.stop()  # the tests pull and run jobs themselves
        yield client


def puller(client: TestClient) -> ArchivePuller:
    poller = runtime(client).archive
    assert poller is not None
    return poller.puller


def pull(client: TestClient) -> None:
    puller(client).pull()
    run_jobs(client)


def drafts(client: TestClient, user: str = "boss") -> list[dict]:
    answer = client.get("/api/drafts", headers=bearer(client, user, "admin"))
    assert answer.status_code == 200
    return answer.json()


def counts(rt: Runtime) -> tuple[int, int]:
    with rt.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Message)) or 0,
                session.scalar(select(func.count()).select_from(Draft)) or 0)


def test_a_customers_text_to_a_staff_member_becomes_their_draft_in_the_api(app: TestClient, script: ArchiveScript) -> None:
    script.add(text_message(CUSTOMER, [STAFF], "我的订单到哪了"))
    script.add(text_message(STAFF, [CUSTOMER], "早上好"))  # the staff member's own words: no draft
    script.add(text_message("lisi", [STAFF], "下午开会"))  # colleagues: ignored
    pull(app)
    [draft] = drafts(app)
    assert (draft["channel"], draft["customer_id"], draft["assignee"]) == ("archive", CUSTOMER, STAFF)
    assert draft["message_text"] == "我的订单到哪了" and draft["status"] == "pending"
    assert draft["room_id"] is None and draft["group"] is False
    with runtime(app).sessions() as session:
        assert session.get(ArchiveState, 1).seq == 3
        assert [m.direction for m in session.scalars(select(Message).order_by(Message.id))] == ["in", "out"]


def test_non_text_needs_a_human(app: TestClient, script: ArchiveScript) -> None:
    script.add(text_message(CUSTOMER, [STAFF], "", msgtype="image"))
    pull(app)
    [draft] = drafts(app)
    assert draft["status"] == "needs_manual" and "图片" in draft["manual_reason"]


def test_a_batch_read_again_after_a_crash_stores_each_message_once(app: TestClient, script: ArchiveScript) -> None:
    """The messages and the seq commit together: a crash before the commit leaves both, and the batch is read again."""
    for n in range(5):
        script.add(text_message(CUSTOMER if n % 2 else OTHER, [STAFF], f"订单 2026112200{n} 到哪了"))

    class CrashBeforeCommit(ArchivePuller):
        def _advance(self, session, *, after, to, now):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt("the process died between storing the batch and advancing the seq")

    real = puller(app)
    crashing = CrashBeforeCommit(open_source=real.open_source, keys=real.keys, intake=real.intake,
                                 sessions=real.sessions, clock=real.clock)
    with pytest.raises(KeyboardInterrupt):
        crashing.pull()
    assert counts(runtime(app)) == (0, 0)  # nothing half-written
    with runtime(app).sessions() as session:
        assert session.get(ArchiveState, 1).seq == 0
    pull(app)
    assert counts(runtime(app)) == (5, 5)
    with runtime(app).sessions() as session:  # the seq moved back (as if a batch were stored but not the seq): no repeats
        session.get(ArchiveState, 1).seq = 2
        session.commit()
    pull(app)
    assert counts(runtime(app)) == (5, 5)
    with runtime(app).sessions() as session:
        assert session.get(ArchiveState, 1).seq == 5


def test_duplicate_items_are_stored_once(app: TestClient, script: ArchiveScript) -> None:
    message = text_message(CUSTOMER, [STAFF], "你们几点开门？")
    script.add(message)
    script.add(message)  # WeCom gave the same msgid twice (another seq)
    pull(app)
    assert counts(runtime(app)) == (1, 1)


def test_a_missing_key_version_is_held_and_reported_while_the_others_are_read(
    database_url: str, fake_sdk: Path, archive_keys: dict, fake: FakeWeCom, clock: FakeClock, script: ArchiveScript,
    caplog: pytest.LogCaptureFixture,
) -> None:
    script.add(text_message(CUSTOMER, [STAFF], "在吗？订单 20261122001"), version=1)
    script.add(text_message(OTHER, [STAFF], "请问怎么退货"), version=2)
    script.add(text_message(OTHER, [STAFF], "还有发票怎么开"), version=2)
    with archive_app(database_url, fake_sdk, archive_keys, fake, clock, versions=(1,)) as client:
        runtime(client).worker.stop()
        with caplog.at_level(logging.ERROR, logger="bot.services.archive"):
            pull(client)
        assert [d["customer_id"] for d in drafts(client)] == [CUSTOMER]
        reports = [r for r in caplog.records if "publickey_ver 2" in r.getMessage()]
        assert len(reports) == 1  # loudly, once
        health = client.get("/healthz").json()
        assert health["archive"]["missing_key_versions"] == [2] and health["archive"]["held"] == 2
        assert any("publickey_ver 2" in p for p in health["archive"]["problems"])
    with archive_app(database_url, fake_sdk, archive_keys, fake, clock, versions=(1, 2)) as client:  # the key is given
        runtime(client).worker.stop()
        pull(client)
        pending = [d for d in drafts(client) if d["status"] == "pending"]
        assert sorted(d["customer_id"] for d in pending) == [CUSTOMER, OTHER]
        assert "请问怎么退货" in next(d for d in pending if d["customer_id"] == OTHER)["message_text"]
        with runtime(client).sessions() as session:
            assert session.scalar(select(func.count()).select_from(ArchiveHeld)) == 0
        assert client.get("/healthz").json()["archive"]["missing_key_versions"] == []


def test_network_errors_are_retried_with_backoff_and_logged_with_their_meaning(
    app: TestClient, script: ArchiveScript, caplog: pytest.LogCaptureFixture, fake_sdk: Path,
) -> None:
    script.add(text_message(CUSTOMER, [STAFF], "订单 20261122001 到哪了"))
    script.fail_next(fake_sdk, 10001, 10001)
    poller = ArchivePoller(puller(app), poll_seconds=30, first_backoff=0.5)
    with caplog.at_level(logging.WARNING, logger="bot.services.archive"):
        assert poller.run_once() == 0.5
        assert "10001（网络错误）" in caplog.text
        assert app.get("/healthz").json()["archive"]["last_error"] == "GetChatData 返回 10001（网络错误）"
        assert poller.run_once() == 1.0  # doubled
        assert poller.run_once() == 30  # through: back to polling
    run_jobs(app)
    assert [d["customer_id"] for d in drafts(app)] == [CUSTOMER]
    assert app.get("/healthz").json()["archive"]["last_error"] is None


def test_another_code_is_named_too(app: TestClient, script: ArchiveScript, caplog: pytest.LogCaptureFixture,
                                   fake_sdk: Path) -> None:
    script.fail_next(fake_sdk, 10009)
    poller = ArchivePoller(puller(app), poll_seconds=30, first_backoff=2)
    with caplog.at_level(logging.WARNING, logger="bot.services.archive"):
        poller.run_once()
    assert "10009（ip非法）" in caplog.text


def test_a_slow_call_is_bounded_and_the_web_keeps_answering(app: TestClient, script: ArchiveScript) -> None:
    import threading
    import time

    script.add(text_message(CUSTOMER, [STAFF], "订单 20261122001 到哪了"))
    script.delay(30_000)  # the library hangs far past its timeout (2 s) and the guard (5 s more)
    failures: list[Exception] = []

    def pull_in_background() -> None:
        try:
            puller(app).pull()
        except Exception as exc:
            failures.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=pull_in_background)
    thread.start()
    for _ in range(5):  # meanwhile the web process answers at once
        before = time.monotonic()
        assert app.get("/healthz").status_code == 200
        assert time.monotonic() - before < 1.0
    thread.join(20)
    assert not thread.is_alive() and time.monotonic() - started < 12
    assert failures and "没有返回" in str(failures[0])


def test_a_question_in_a_group_is_drafted_for_its_owner_and_chit_chat_is_not(
    app: TestClient, script: ArchiveScript, fake: FakeWeCom,
) -> None:
    fake.add_group_chat("wrGroup1", "wangwu", staff={"wangwu": "王五", STAFF: "张三"}, customers=[CUSTOMER, OTHER])
    script.add(text_message(CUSTOMER, [OTHER, "wangwu", STAFF], "哈哈今天天气真好", room="wrGroup1"))
    script.add(text_message(OTHER, [CUSTOMER, "wangwu", STAFF], "是啊 一起去爬山吧", room="wrGroup1"))
    script.add(text_message(CUSTOMER, [OTHER, "wangwu", STAFF], "请问你们门店几点关门？", room="wrGroup1"))
    script.add(text_message(OTHER, [CUSTOMER, "wangwu", STAFF], "@张三 我的订单 20261122001 到哪了", room="wrGroup1"))
    pull(app)
    found = sorted(drafts(app), key=lambda d: d["id"])
    assert [(d["customer_id"], d["assignee"], d["room_id"], d["group"]) for d in found] == [
        (CUSTOMER, "wangwu", "wrGroup1", True), (OTHER, STAFF, "wrGroup1", True)]
    [card] = [c["body"]["template_card"] for c in fake.calls("message/send") if c["body"].get("touser") == STAFF]
    assert "群聊" in card["source"]["desc"] and "客户群" in card["main_title"]["title"]
    assert [b["text"] for b in card["button_list"]] == ["不发"]  # no 发送 that would only record an approval
    [send] = [item for item in card["horizontal_content_list"] if item["keyname"] == "发送"]
    assert send["value"] == "在与客户的聊天里打开侧边栏发送"
    assert send["url"] == f"https://draftbot.example/sidebar?draft={found[1]['id']}"


def test_the_staff_members_own_reply_closes_the_draft_as_answered_manually(app: TestClient, script: ArchiveScript) -> None:
    script.add(text_message(CUSTOMER, [STAFF], "你们几点开门？"))
    script.add(text_message(OTHER, [STAFF], "我要退货"))
    pull(app)
    script.add(text_message(STAFF, [CUSTOMER], "亲，我们早上十点开门哦"))
    pull(app)
    by_customer = {d["customer_id"]: d for d in drafts(app)}
    answered = by_customer[CUSTOMER]
    assert answered["status"] == "answered_manually" and answered["final_text"] == "亲，我们早上十点开门哦"
    assert by_customer[OTHER]["status"] == "pending"  # another customer's draft stays
    from bot.db.models import AuditLog

    with runtime(app).sessions() as session:
        [event] = session.scalars(select(AuditLog).where(AuditLog.action == "answered_manually")).all()
        assert (event.actor, event.subject) == (STAFF, f"draft:{answered['id']}")
    refused = app.post(f"/api/drafts/{answered['id']}/approve", json={}, headers=bearer(app, STAFF))
    assert refused.status_code == 409 and "已人工回复" in refused.json()["detail"]


def test_a_customer_group_event_and_a_contact_event_are_acted_on(app: TestClient, fake: FakeWeCom) -> None:
    from bot.db.models import ArchiveRoom
    from bot.services.archive_events import handle_event

    rt = runtime(app)
    fake.add_group_chat("wrGroup2", "lisi")
    fake.add_external_contact(CUSTOMER, "王芳", follow_user=[{"userid": STAFF, "remark": "王姐"}])
    handlers = rt.worker.handlers  # the worker's own table: what a stored callback runs
    with rt.sessions() as session:
        handlers["wecom_event"](session, {"kind": "event", "name": "change_external_chat",
                                          "fields": {"ChatId": "wrGroup2", "ChangeType": "create"}}, rt.clock())
        handlers["wecom_event"](session, {"kind": "event", "name": "change_external_contact",
                                          "fields": {"ChangeType": "add_external_contact", "UserID": STAFF,
                                                     "ExternalUserID": CUSTOMER}}, rt.clock())
        session.commit()
        assert session.get(ArchiveRoom, "wrGroup2").owner == "lisi"
    assert fake.calls("externalcontact/get")
    with rt.sessions() as session:
        handle_event(session, "change_external_chat", {"ChatId": "wrGroup2", "ChangeType": "dismiss"}, now=rt.clock(),
                     wake_archive=None, customers=None, intake=None)
        session.commit()
        assert session.get(ArchiveRoom, "wrGroup2") is None


def test_the_sidebar_shows_a_group_draft_in_its_group_only_and_opens_on_the_cards_draft(
    database_url: str, fake_sdk: Path, archive_keys: dict, fake: FakeWeCom, clock: FakeClock, script: ArchiveScript,
) -> None:
    with archive_app(database_url, fake_sdk, archive_keys, fake, clock, public_url="") as app:  # signed in on testserver
        runtime(app).worker.stop()
        sidebar_group_draft(app, script, fake)


def sidebar_group_draft(app: TestClient, script: ArchiveScript, fake: FakeWeCom) -> None:
    from tests.test_sidebar_api import sign_in

    fake.add_group_chat("wrGroup3", STAFF, staff={STAFF: "张三"}, customers=[CUSTOMER])
    script.add(text_message(CUSTOMER, [STAFF], "你们几点开门？"))
    script.add(text_message(CUSTOMER, [STAFF], "请问这个杯子多少钱？", room="wrGroup3"))
    pull(app)
    one_to_one, group = sorted(drafts(app), key=lambda d: d["id"])
    sign_in(app, fake, STAFF, query=f"?draft={group['id']}&sdk=0")
    in_chat = app.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).json()
    in_group = app.get("/sidebar/api/drafts", params={"room_id": "wrGroup3"}).json()
    assert [d["id"] for d in in_chat] == [one_to_one["id"]]  # the group's draft is not offered in the 1:1 chat
    assert [(d["id"], d["group"]) for d in in_group] == [(group["id"], True)]
    assert app.get(f"/sidebar/api/drafts/{group['id']}").json()["room_id"] == "wrGroup3"
    neither = app.get("/sidebar/api/drafts")
    assert neither.status_code == 422 and "room_id" in neither.json()["detail"]


def test_text_commands_for_an_archive_draft_say_where_it_is_sent_from(app: TestClient, script: ArchiveScript,
                                                                      fake: FakeWeCom) -> None:
    from tests.test_staffchat import post_callback
    from tests.factories import app_text_xml

    script.add(text_message(CUSTOMER, [STAFF], "你们几点开门？"))
    pull(app)
    [draft] = drafts(app)
    for n, command in enumerate(("发", f"改 #{draft['id']} 我们十点开门", f"全文 #{draft['id']}")):
        post_callback(app, app_text_xml(msg_id=f"cmd{n}", user=STAFF, content=command))
        run_jobs(app)
    answers = [c["body"]["text"]["content"] for c in fake.calls("message/send")
               if c["body"].get("msgtype") == "text" and c["body"].get("touser") == STAFF]
    assert len(answers) == 3 and all("在与客户的聊天里打开侧边栏发送" in a for a in answers)
    assert not any("马上发给" in a for a in answers)
    assert f"https://draftbot.example/sidebar?draft={draft['id']}" in answers[0]
    assert drafts(app)[0]["status"] == "pending" and drafts(app)[0]["approved_by"] is None  # nothing recorded as approved


def test_the_card_of_a_draft_answered_by_hand_says_so(app: TestClient, script: ArchiveScript, fake: FakeWeCom) -> None:
    script.add(text_message(CUSTOMER, [STAFF], "你们几点开门？"))
    pull(app)
    script.add(text_message(STAFF, [CUSTOMER], "十点开门哦"))
    pull(app)
    updates = fake.calls("message/update_template_card")
    assert [u["body"]["button"]["replace_name"] for u in updates] == ["已人工回复"]


def test_the_console_learns_from_a_reply_staff_wrote_by_hand_and_names_a_missing_key(
    app: TestClient, script: ArchiveScript,
) -> None:
    from tests.console.conftest import make_account, sign_in

    script.add(text_message(CUSTOMER, [STAFF], "你们几点开门？"))
    pull(app)
    script.add(text_message(STAFF, [CUSTOMER], "亲，我们每天早上十点开门，晚上九点半打烊，周末也一样哦"))
    script.add(text_message(OTHER, [STAFF], "请问可以开发票吗"), version=3)  # a key version nobody configured
    pull(app)
    make_account(app, "lin")
    sign_in(app, "lin")
    inbox = app.get("/admin/inbox")
    assert inbox.status_code == 200
    assert 'data-testid="answered-manually"' in inbox.text and "晚上九点半打烊" in inbox.text
    board = app.get("/admin")
    assert 'data-testid="stat-answered-manually"' in board.text
    assert 'data-testid="archive-problem"' in board.text and "publickey_ver 3" in board.text
