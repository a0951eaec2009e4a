"""The demo is off once WeCom is configured (unless asked for), and its drafts never notify anyone."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.config import get_settings
from bot.db.models import Draft
from tests.conftest import make_settings, run_jobs, runtime
from tests.factories import FakeClock
from tests.fake_wecom import FakeWeCom
from tests.test_staffchat import ADMIN, APPROVER, fake  # fake is a fixture


def test_the_demo_is_on_without_wecom_and_off_with_it_unless_set() -> None:
    assert get_settings(database_url="sqlite:///x.db").demo_enabled is True
    configured = {"wecom_corp_id": "ww1", "wecom_secret": "s"}
    assert get_settings(**configured).demo_enabled is False
    assert get_settings(**configured, demo=True).demo_enabled is True
    assert get_settings(demo=False).demo_enabled is False


def test_with_wecom_configured_the_demo_routes_are_gone(database_url: str) -> None:
    with TestClient(create_app(make_settings(database_url, demo=None))) as client:
        assert client.get("/").status_code == 404
        response = client.post("/demo/messages", json={"text": "本周有什么优惠"})
        assert response.status_code == 404


def test_demo_drafts_send_no_cards_and_no_escalations(database_url: str, fake: FakeWeCom) -> None:
    settings = make_settings(database_url, demo=True, wecom_api_base=fake.base_url, approvers=[APPROVER], admins=[ADMIN],
                             escalate_after_minutes=0.01)
    clock = FakeClock()
    client = TestClient(create_app(settings, clock=clock))
    client.__enter__()
    try:
        runtime(client).worker.stop()
        for text in ("我要投诉你们的服务", "请转人工客服", "点这个链接领取红包"):
            assert client.post("/demo/messages", json={"text": text}).status_code in (200, 202)
        run_jobs(client)
        with runtime(client).sessions() as session:
            assert session.scalar(select(func.count()).select_from(Draft).where(Draft.urgent.is_(True))) >= 1
        clock.advance(minutes=30)
        run_jobs(client)
        assert fake.calls("message/send") == []
    finally:
        client.__exit__(None, None, None)
