"""Security headers on pages and API answers; /docs and /metrics can be switched off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from tests.conftest import make_settings


def _csp(response) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}."""
    policy = response.headers["content-security-policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else "" for part in (p.strip() for p in policy.split(";"))}


@pytest.mark.parametrize("path", ["/", "/admin/login", "/healthz", "/api/drafts", "/static/demo.js", "/wecom/callback"])
def test_every_answer_carries_the_headers_and_cannot_be_framed(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"  # no inline code, no other origin
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"


def test_the_sidebar_may_load_the_wecom_sdk_and_be_framed_by_wecom_only(client: TestClient) -> None:
    response = client.get("/sidebar/assets/sidebar.js")
    csp = _csp(response)
    assert csp["frame-ancestors"].split() == ["'self'", "https://work.weixin.qq.com", "https://*.work.weixin.qq.com"]
    assert set(csp["script-src"].split()) == {"'self'", "https://res.wx.qq.com", "https://open.work.weixin.qq.com"}
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_api_docs_work_under_their_own_policy(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in _csp(docs)["script-src"]
    assert _csp(docs)["frame-ancestors"] == "'none'"
    assert client.get("/openapi.json").status_code == 200


@pytest.fixture
def locked_down(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(f"sqlite:///{tmp_path}/locked.db", docs=False, metrics=False))
    with TestClient(app) as test_client:
        yield test_client


def test_docs_and_metrics_can_be_switched_off(locked_down: TestClient, client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect", "/metrics"):
        assert client.get(path).status_code == 200, path  # on by default
        response = locked_down.get(path)
        assert response.status_code == 404, path
        assert response.headers["x-content-type-options"] == "nosniff"
    assert locked_down.get("/healthz").status_code == 200
