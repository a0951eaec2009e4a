"""Drafts that follow the conversation through 微信客服: earlier details carry forward, two questions get one reply."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.config import PROJECT_DIR
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import FakeClock, kf_event_xml, signed_callback
from tests.fake_wecom import FakeWeCom

KF = "wkSHOP"
_customers = itertools.count(1)
_tokens = itertools.count(1)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server:
        yield server


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def client(fake: FakeWeCom, clock: FakeClock, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on the shipped intents and personas behind the fake WeCom; tests run the worker with run_jobs."""
    folder = tmp_path_factory.mktemp("conversation")
    settings = make_settings(
        f"sqlite:///{folder}/draftbot.db", intents_dir=PROJECT_DIR / "intents", personas_dir=PROJECT_DIR / "persona_styles",
        wecom_api_base=fake.base_url, wecom_timeout_seconds=2,
    )
    with TestClient(create_app(settings, clock=clock)) as test_client:
        runtime(test_client).worker.stop()
        yield test_client


@pytest.fixture
def customer() -> str:
    return f"wmTALK{next(_customers)}"


def say(client: TestClient, fake: FakeWeCom, customer: str, *texts: str) -> dict:
    """The customer writes `texts` one after another through 微信客服; returns the newest pending draft as JSON."""
    clock = runtime(client).clock
    for text in texts:
        now = int(clock().timestamp())
        fake.add_customer_message(KF, customer, text, send_time=now)
        signed = signed_callback(kf_event_xml(token=f"T{next(_tokens)}", open_kfid=KF, create_time=now), timestamp=now)
        assert client.post(f"/wecom/callback?{signed.query}", content=signed.body).status_code == 200
        run_jobs(client)
    response = client.get("/api/drafts", params={"customer_id": customer, "status": "pending"}, headers=admin(client))
    assert response.status_code == 200
    return response.json()[0]


def admin(client: TestClient) -> dict[str, str]:
    return bearer(client, "boss", "admin")


def send(client: TestClient, draft: dict) -> None:
    """Approve the draft unchanged and let the worker send it."""
    assert client.post(f"/api/drafts/{draft['id']}/approve", json={}, headers=admin(client)).status_code == 200
    run_jobs(client)


def test_an_order_number_given_first_is_not_asked_for_again(client: TestClient, fake: FakeWeCom, customer: str) -> None:
    draft = say(client, fake, customer, "订单 87654321", "到哪了")
    assert draft["intent"] == "order_status"
    assert draft["entities"]["order_no"] == "87654321"
    assert "87654321" in draft["text"]
    assert "订单号" not in draft["text"]  # never "请您提供订单号或预留手机号"
    carried = next(flag for flag in draft["flags"] if flag["code"] == "carried_entities")
    assert carried["sources"] == {"order_no": "earlier"}
    assert "87654321" in carried["reason"]


def test_the_newest_message_wins_when_two_disagree(client: TestClient, fake: FakeWeCom, customer: str) -> None:
    draft = say(client, fake, customer, "订单 11112222 还没到", "不对，是订单 33334444", "到哪了")
    assert draft["entities"]["order_no"] == "33334444"
    assert "11112222" not in draft["text"] and "订单号" not in draft["text"]


def test_entities_of_several_messages_add_up(client: TestClient, fake: FakeWeCom, customer: str) -> None:
    draft = say(client, fake, customer, "我想预约", "周六下午3点", "手机 13800138000")
    assert draft["entities"]["date"] == "周六"
    assert draft["entities"]["time"] == "下午3点"
    assert draft["entities"]["phone"] == "13800138000"


def test_after_a_reply_the_order_number_is_still_context_for_a_while(
    client: TestClient, fake: FakeWeCom, clock: FakeClock, customer: str
) -> None:
    send(client, say(client, fake, customer, "订单 55556666 到哪了"))
    clock.advance(minutes=60)
    draft = say(client, fake, customer, "还是那个订单，现在到哪了")
    assert draft["intent"] == "order_status"
    assert draft["entities"]["order_no"] == "55556666"
    assert "55556666" in draft["text"]
    assert draft["message_text"] == "还是那个订单，现在到哪了"  # the answered question is not reopened
    assert next(f for f in draft["flags"] if f["code"] == "carried_entities")["sources"] == {"order_no": "context"}


def test_context_never_changes_the_intent_and_expires(client: TestClient, fake: FakeWeCom, clock: FakeClock, customer: str) -> None:
    send(client, say(client, fake, customer, "订单 77778888 到哪了"))
    clock.advance(minutes=10)
    draft = say(client, fake, customer, "能开发票吗")
    assert draft["intent"] == "payment_invoice"
    assert draft["intents"] == ["payment_invoice"]  # the answered order question is not asked again
    assert draft["entities"]["order_no"] == "77778888"
    send(client, draft)
    clock.advance(minutes=180)
    later = say(client, fake, customer, "到哪了")
    assert "order_no" not in later["entities"]


def test_two_questions_over_two_messages_get_one_reply_answering_both(client: TestClient, fake: FakeWeCom, customer: str) -> None:
    fake.add_kf_customer(customer, "王女士")
    draft = say(client, fake, customer, "我的快递到哪了？订单 12345678", "另外能开发票吗")
    assert draft["intent"] == "payment_invoice"
    assert draft["intents"] == ["payment_invoice", "order_status"]
    assert draft["entities"]["order_no"] == "12345678"
    text = draft["text"]
    assert "12345678" in text and "发票" in text
    assert text.index("12345678") < text.index("发票")  # in the customer's order
    assert text.startswith("王女士，") and text.count("王女士") == 1  # one greeting
    assert "订单号" not in text


def test_a_price_and_a_store_address_in_one_message(client: TestClient, fake: FakeWeCom, customer: str) -> None:
    draft = say(client, fake, customer, "多少钱？店在哪里")
    assert draft["intents"] == ["price_inquiry", "store_info"]
    assert draft["intent"] == "price_inquiry"
    assert "价" in draft["text"] and "南京西路" in draft["text"]
    assert not any(flag["code"] == "low_confidence" for flag in draft["flags"])


def test_one_question_stays_one_intent(client: TestClient, fake: FakeWeCom, customer: str) -> None:
    draft = say(client, fake, customer, "谢谢。能开发票吗")
    assert draft["intents"] == ["payment_invoice"]


def test_a_promotional_part_makes_the_draft_marketing(client: TestClient, fake: FakeWeCom, customer: str) -> None:
    draft = say(client, fake, customer, "你们门店在哪？最近有什么优惠吗")
    assert set(draft["intents"]) == {"store_info", "promotion_inquiry"}
    assert draft["marketing"] is True
    assert draft["solicited"] is True  # the customer asked for it


def test_an_opt_out_anywhere_decides_the_draft_alone(client: TestClient, fake: FakeWeCom, customer: str) -> None:
    draft = say(client, fake, customer, "我的快递到哪了", "别再给我发广告了")
    assert draft["intent"] == "opt_out"
    assert draft["intents"] == ["opt_out"]
