"""`draftbot serve` with live order facts: its worker process asks the order system over HTTP and the draft says the status."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2 as httpx

from bot.config import PROJECT_DIR
from tests.e2e.server import ServerProcess
from tests.order_service import Answer, OrderService

SHIPPED = {"DRAFTBOT_INTENTS_DIR": str(PROJECT_DIR / "intents"), "DRAFTBOT_PERSONAS_DIR": str(PROJECT_DIR / "persona_styles"),
           "DRAFTBOT_DEMO": "true"}


def demo_draft(server: ServerProcess, text: str, *, customer: str, timeout: float = 30.0) -> dict:
    """Say `text` in the demo chat and wait for the worker process's draft of it."""
    response = httpx.post(f"{server.url}/demo/messages", json={"customer_id": customer, "text": text, "persona": "_default"})
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drafts = httpx.get(f"{server.url}/demo/conversation", params={"customer_id": customer}).json()["drafts"]
        if drafts:
            return drafts[0]
        time.sleep(0.1)
    raise AssertionError(f"no draft within {timeout} s:\n{server.log_path.read_text()}")


def test_a_served_draft_says_the_status_the_order_system_returned(env: dict[str, str], tmp_path: Path) -> None:
    status = "已到达【上海浦东转运中心】，下一站 静安营业部"
    with OrderService() as orders:
        orders.answers["20261122001"] = Answer.order(status=status, carrier="京东物流", tracking_no="JD0012345678")
        env = {**env, **SHIPPED, "DRAFTBOT_ORDERS_URL": orders.url, "DRAFTBOT_ORDERS_TOKEN": "oms-e2e"}
        with ServerProcess(env, tmp_path / "server.log") as server:
            found = demo_draft(server, "订单 20261122001 到哪了", customer="e2e-order")
            missing = demo_draft(server, "订单 20261122404 到哪了", customer="e2e-missing")
        assert found["intent"] == "order_status" and status in found["text"] and "京东物流" in found["text"]
        assert any(flag["code"] == "order_facts" for flag in found["flags"])
        assert "没有查到订单 20261122404" in missing["text"]
        assert {seen.authorization for seen in orders.requests} == {"Bearer oms-e2e"}


def test_the_demo_answers_from_its_own_order_system_without_settings(env: dict[str, str], tmp_path: Path) -> None:
    """The quick start: `draftbot serve` without WeCom and without DRAFTBOT_ORDERS_URL uses the demo's orders, over HTTP."""
    quick_start = {key: value for key, value in env.items() if not key.startswith("DRAFTBOT_WECOM_")}
    with ServerProcess({**quick_start, **SHIPPED}, tmp_path / "server.log") as server:
        draft = demo_draft(server, "订单 20261122001 到哪了", customer="e2e-demo")
        missing = demo_draft(server, "订单 20261199999 到哪了", customer="e2e-demo-missing")
    assert "已发货" in draft["text"] and "顺丰速运" in draft["text"] and "SF1428803921" in draft["text"]
    assert "没有查到订单 20261199999" in missing["text"]


def test_with_wecom_configured_the_demo_orders_never_reach_drafts(env: dict[str, str], tmp_path: Path) -> None:
    """Real customers write in once WeCom is configured: no demo order reaches a draft, even with the demo kept on."""
    with ServerProcess({**env, **SHIPPED}, tmp_path / "server.log") as server:
        draft = demo_draft(server, "订单 20261122001 到哪了", customer="e2e-real")
    assert "已发货" not in draft["text"] and not [f for f in draft["flags"] if f["code"].startswith("order_")]
