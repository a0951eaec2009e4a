"""Live order facts: the worker asks a real order system on loopback and the shipped templates say what it answered."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.config import PROJECT_DIR
from bot.db.models import Draft
from bot.errors import SettingsError
from bot.services.facts import FactSources
from bot.services.facts.demo import demo_orders_url
from bot.services.facts.orders import UNAVAILABLE, OrderFacts
from tests.conftest import make_settings, run_jobs, runtime
from tests.factories import FakeClock
from tests.order_service import Answer, OrderService

STATUS = "已出库，正在派送中（第 3 站）"
ORDER = dict(status=STATUS, carrier="顺丰速运", tracking_no="SF1428803921", eta="11月25日", updated_at="2026-11-23 09:40",
             items=["经典拿铁挂耳 10 包"], gift_note="附赠手写卡片")
_customers = itertools.count(1)


@pytest.fixture(scope="module")
def service() -> Iterator[OrderService]:
    with OrderService() as server:
        yield server


@pytest.fixture(scope="module")
def client(service: OrderService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on the shipped intents and personas, its orders at `service`; tests run the worker with run_jobs."""
    folder = tmp_path_factory.mktemp("facts")
    settings = make_settings(
        f"sqlite:///{folder}/draftbot.db", intents_dir=PROJECT_DIR / "intents", personas_dir=PROJECT_DIR / "persona_styles",
        orders_url=service.url, orders_token="oms-secret-1", orders_timeout_seconds=0.5,
    )
    app = create_app(settings, clock=FakeClock())
    with TestClient(app) as test_client:
        runtime(test_client).worker.stop()
        yield test_client


@pytest.fixture
def orders(client: TestClient, service: OrderService) -> Iterator[OrderService]:
    """The service with no answers and no requests yet, and the app's own provider (fresh cache and breaker)."""
    service.answers.clear()
    service.requests.clear()
    wired = runtime(client).drafting.facts
    runtime(client).drafting.facts = FactSources([OrderFacts(url=service.url, token="oms-secret-1", timeout=0.5)])
    yield service
    runtime(client).drafting.facts = wired


def draft_for(client: TestClient, text: str, *, persona: str | None = None) -> Draft:
    """Post `text` as a new demo customer's message, run the worker, and return its draft."""
    customer = f"facts-{next(_customers)}"
    body = {"customer_id": customer, "text": text, **({"persona": persona} if persona else {})}
    assert client.post("/demo/messages", json=body).status_code == 202
    run_jobs(client)
    with runtime(client).sessions() as session:
        draft = session.scalar(select(Draft).where(Draft.customer_id == customer))
        session.expunge_all()
    assert draft is not None
    return draft


def codes(draft: Draft) -> list[str]:
    return [flag["code"] for flag in draft.flags]


@pytest.mark.parametrize("persona", ["_default", "advisor", "knowledge_expert", "enthusiast", "deals_officer"])
def test_every_persona_says_the_status_the_order_system_returned(client: TestClient, orders: OrderService, persona: str) -> None:
    orders.answers["20261122001"] = Answer.order(**ORDER)
    draft = draft_for(client, "订单 20261122001 到哪了", persona=persona)
    assert draft.intent == "order_status" and draft.status == "pending"
    assert STATUS in draft.original_text
    assert "20261122001" in draft.original_text
    flag = next(f for f in draft.flags if f["code"] == "order_facts")
    assert flag["order_no"] == "20261122001" and flag["order"]["status"] == STATUS
    assert STATUS in flag["reason"] and flag["reason"].startswith("订单系统查到")
    assert orders.requests[0].accept == "application/json"


def test_the_wired_provider_sends_the_token_and_the_carrier_reaches_the_draft(client: TestClient, service: OrderService) -> None:
    service.answers["20261122011"] = Answer.order(**ORDER)
    draft = draft_for(client, "订单 20261122011 到哪了", persona="_default")
    assert STATUS in draft.original_text and "顺丰速运" in draft.original_text
    assert [seen.authorization for seen in service.requests if seen.order_no == "20261122011"] == ["Bearer oms-secret-1"]


def test_other_order_intents_use_the_order_too(client: TestClient, orders: OrderService) -> None:
    orders.answers["20261122002"] = Answer.order(status="已签收")
    draft = draft_for(client, "订单 20261122002 我想退货", persona="advisor")
    assert draft.intent == "refund_return"
    assert "已签收" in draft.original_text


def test_a_number_the_system_does_not_know_asks_the_customer_to_check_it(client: TestClient, orders: OrderService) -> None:
    draft = draft_for(client, "订单 20261122404 到哪了", persona="_default")
    assert orders.asked("20261122404") == 1
    assert "没有查到订单 20261122404" in draft.original_text and "核对" in draft.original_text
    assert "order_not_found" in codes(draft) and "order_lookup_failed" not in codes(draft)


@pytest.mark.parametrize(("answer", "reason"), [
    (Answer(503, b'{"error": "busy"}'), "订单系统出错（HTTP 503）"),
    (Answer(200, b"<html>upstream error</html>"), "订单系统返回的内容不是 JSON"),
    (Answer(200, b'["not", "an", "order"]'), "订单系统返回的不是一条订单（应为 JSON 对象）"),
    (Answer.order(carrier="顺丰速运"), "订单系统返回的订单没有状态（status）"),
    (Answer(200, b'{"status": "shipped"}', delay=1.5), "订单系统 0.5 秒内没有回应"),
])
def test_a_failing_order_system_leaves_the_holding_wording_and_a_flag(client: TestClient, orders: OrderService,
                                                                      answer: Answer, reason: str) -> None:
    orders.answers["20261122500"] = answer
    draft = draft_for(client, "订单 20261122500 到哪了", persona="_default")
    assert draft.status == "pending" and draft.intent == "order_status"
    failed = [f for f in draft.flags if f["code"] == "order_lookup_failed"]
    assert [f["reason"] for f in failed] == [reason]
    holding = runtime(client).pipeline.renderer.render(
        persona="_default", intent="order_status", only=draft.variation,
        context={"customer_name": "", "message": "订单 20261122500 到哪了", "order_no": "20261122500"},
    )
    assert draft.original_text == holding.text


def test_an_order_looked_up_once_is_not_asked_again_while_cached(client: TestClient, orders: OrderService) -> None:
    orders.answers["20261122003"] = Answer.order(status="仓库备货中")
    first = draft_for(client, "订单 20261122003 到哪了")
    second = draft_for(client, "订单 20261122003 发货了吗")
    assert "仓库备货中" in first.original_text and "仓库备货中" in second.original_text
    assert orders.asked("20261122003") == 1


def test_after_failures_in_a_row_the_system_is_left_alone_for_the_cool_down(client: TestClient, orders: OrderService) -> None:
    now = [1000.0]
    runtime(client).drafting.facts = FactSources([OrderFacts(
        url=orders.url, timeout=0.5, breaker_failures=2, breaker_seconds=30, clock=lambda: now[0],
    )])
    orders.answers["20261122501"] = Answer(502, b"bad gateway")
    orders.answers["20261122001"] = Answer.order(**ORDER)
    for _ in range(2):
        draft_for(client, "订单 20261122501 到哪了")
    assert orders.asked("20261122501") == 2
    paused = draft_for(client, "订单 20261122001 到哪了")
    assert orders.asked("20261122001") == 0  # no request during the cool-down
    assert [f["reason"] for f in paused.flags if f["code"] == "order_lookup_failed"] == [UNAVAILABLE]
    assert paused.status == "pending" and STATUS not in paused.original_text
    now[0] += 31  # the cool-down is over: one try, and it works
    back = draft_for(client, "订单 20261122001 到哪了")
    assert orders.asked("20261122001") == 1 and STATUS in back.original_text


def test_lookups_in_flight_are_bounded(orders: OrderService) -> None:
    orders.answers["20261122004"] = Answer(200, '{"status": "运输中"}'.encode(), delay=0.3)
    provider = OrderFacts(url=orders.url, timeout=2, concurrency=1, cache_seconds=0)
    threads = [threading.Thread(target=provider.lookup, args=({"order_no": "20261122004"},)) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # one at a time: three 0.3 s answers take 0.9 s (in parallel they would take 0.3 s); the server's own
    # in-flight count can overlap by the moment between a client reading an answer and the server closing it
    assert orders.asked("20261122004") == 3 and time.monotonic() - started >= 0.85


def test_a_message_without_an_order_number_or_not_about_orders_asks_nothing(client: TestClient, orders: OrderService) -> None:
    draft_for(client, "我的快递到哪了")
    draft_for(client, "你好")
    assert orders.requests == []


def test_approval_does_not_wait_for_the_order_system(client: TestClient, orders: OrderService) -> None:
    orders.answers["20261122500"] = Answer(503, b"")
    draft = draft_for(client, "订单 20261122500 到哪了")
    response = client.post(f"/demo/drafts/{draft.id}/approve", json={})
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert orders.asked("20261122500") == 1


def test_the_orders_url_must_name_the_order_number(tmp_path) -> None:
    with pytest.raises(SettingsError, match="DRAFTBOT_ORDERS_URL: must contain {order_no}"):
        make_settings(f"sqlite:///{tmp_path}/x.db", orders_url="https://oms.example/api/orders")
    with pytest.raises(SettingsError, match="DRAFTBOT_ORDERS_URL: must start with http"):
        make_settings(f"sqlite:///{tmp_path}/x.db", orders_url="oms.example/{order_no}")


def test_the_demo_serves_its_orders_and_404s_others(client: TestClient) -> None:
    found = client.get("/demo/orders/20261122001")
    assert found.status_code == 200 and found.json()["status"] == "已发货" and found.json()["carrier"] == "顺丰速运"
    missing = client.get("/demo/orders/20261199999")
    assert missing.status_code == 404 and missing.json()["detail"] == "没有订单 20261199999"


def test_without_the_demo_there_are_no_demo_orders(tmp_path) -> None:
    with TestClient(create_app(make_settings(f"sqlite:///{tmp_path}/x.db", demo=False))) as client:
        assert client.get("/demo/orders/20261122001").status_code == 404


def test_the_served_demo_reaches_its_orders_on_a_loopback_address() -> None:
    assert demo_orders_url("0.0.0.0", 8000) == "http://127.0.0.1:8000/demo/orders/{order_no}"
    assert demo_orders_url("::", 8001) == "http://[::1]:8001/demo/orders/{order_no}"
    assert demo_orders_url("10.0.0.5", 80) == "http://10.0.0.5:80/demo/orders/{order_no}"


def test_on_every_database_a_draft_of_the_test_personas_says_the_status(database_url: str, service: OrderService) -> None:
    service.answers["20261122021"] = Answer.order(status="已揽收，等待发往上海")
    settings = make_settings(database_url, orders_url=service.url, orders_timeout_seconds=0.5)
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        runtime(client).worker.stop()
        draft = draft_for(client, "我的订单到哪了 订单 20261122021")
        missing = draft_for(client, "我的订单到哪了 订单 20261122404")
    assert draft.intent == "order_status" and "已揽收，等待发往上海" in draft.original_text
    assert "20261122404" in missing.original_text and "核对" in missing.original_text
