"""Each role on every route: the API (/api/*), the console (/admin/*) and the sidebar API (/sidebar/api/*).

The table below says who may use each route. The test walks the app's routes, so a new route without a
rule here fails it; each rule is then tried with a bearer token or a console session of every role.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.db.accounts import save_account, start_session
from bot.db.models import Account
from bot.errors import Refused
from bot.services.access import set_team
from tests.conftest import bearer, make_settings, runtime
from tests.console.conftest import PASSWORD, make_account
from tests.factories import FakeClock
from tests.fake_wecom import FakeWeCom
from tests.test_sidebar_api import agent_ticket_endpoint, sign_in as sidebar_sign_in

ROLES = ("staff", "supervisor", "admin", "intake")
PEOPLE = {"staff", "supervisor", "admin"}  # see and decide drafts, record opt-outs
INTAKE = {"admin", "intake"}  # post customer messages
READERS = {"supervisor", "admin"}  # the audit trail, the dashboard
ADMIN = {"admin"}  # configuration, customers' data
PUBLIC: set[str] = set(ROLES)  # no sign-in at all
SIDEBAR = "sidebar"  # the signed-in WeCom user of the sidebar, with the staff rule, whatever their role elsewhere

API: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/drafts"): PEOPLE,
    ("GET", "/api/drafts/{draft_id}"): PEOPLE,
    ("POST", "/api/drafts/{draft_id}/approve"): PEOPLE,
    ("POST", "/api/drafts/{draft_id}/reject"): PEOPLE,
    ("POST", "/api/drafts/{draft_id}/intent"): PEOPLE,
    ("POST", "/api/messages"): INTAKE,
    ("POST", "/api/customers/{channel}/{customer_id}/opt-out"): PEOPLE,
    ("DELETE", "/api/customers/{channel}/{customer_id}/opt-out"): PEOPLE,
    ("GET", "/api/customers/{channel}/{customer_id}/opt-out"): PEOPLE,
    ("GET", "/api/customers/{channel}/{customer_id}/export"): ADMIN,
    ("DELETE", "/api/customers/{channel}/{customer_id}"): ADMIN,
    ("GET", "/api/audit"): READERS,
}
CONSOLE: dict[tuple[str, str], set[str]] = {
    ("GET", "/admin/login"): PUBLIC,
    ("POST", "/admin/login"): PUBLIC,
    ("POST", "/admin/logout"): PUBLIC,
    ("GET", "/admin"): READERS,
    ("GET", "/admin/audit"): READERS,
    ("GET", "/admin/audit.csv"): READERS,
    **{key: ADMIN for key in [
        ("GET", "/admin/inbox"), ("POST", "/admin/inbox/{draft_id}/dismiss"),
        ("GET", "/admin/intents"), ("GET", "/admin/intents/{intent}"), ("POST", "/admin/intents"),
        ("POST", "/admin/intents/{intent}/examples"), ("POST", "/admin/intents/{intent}/examples/edit"),
        ("POST", "/admin/intents/{intent}/examples/delete"), ("POST", "/admin/intents/{intent}/examples/move"),
        ("POST", "/admin/intents/{intent}/settings"), ("POST", "/admin/intents/{intent}/rename"),
        ("POST", "/admin/intents/{intent}/disable"), ("POST", "/admin/intents/{intent}/enable"),
        ("POST", "/admin/intents/{intent}/delete"), ("GET", "/admin/intents/{intent}/answers"),
        ("POST", "/admin/intents/{intent}/answers"), ("POST", "/admin/intents/{intent}/answers/{old_id}/edit"),
        ("POST", "/admin/intents/{intent}/answers/{old_id}/delete"), ("POST", "/admin/intents/{intent}/answers/try"),
        ("GET", "/admin/personas"), ("GET", "/admin/personas/{persona}"), ("POST", "/admin/personas/{persona}"),
        ("GET", "/admin/personas/{persona}/templates/{intent}"),
        ("POST", "/admin/personas/{persona}/templates/{intent}/preview"),
        ("POST", "/admin/personas/{persona}/templates/{intent}"),
        ("GET", "/admin/evaluate"), ("POST", "/admin/evaluate"), ("GET", "/admin/versions"),
        ("POST", "/admin/versions/publish"), ("POST", "/admin/versions/{number}/rollback"),
        ("POST", "/admin/draft/discard"),
        ("GET", "/admin/customers"), ("GET", "/admin/customers/delete"), ("POST", "/admin/customers/export"),
        ("POST", "/admin/customers/delete"),
    ]},
}
SIDEBAR_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/sidebar"): "public",
    ("GET", "/sidebar/auth"): "public",
    ("GET", "/sidebar/assets/{name}"): "public",
    ("GET", "/sidebar/api/drafts"): SIDEBAR,
    ("GET", "/sidebar/api/drafts/{draft_id}"): SIDEBAR,
    ("POST", "/sidebar/api/drafts/{draft_id}/check"): SIDEBAR,
    ("POST", "/sidebar/api/drafts/{draft_id}/sent"): SIDEBAR,
    ("POST", "/sidebar/api/drafts/{draft_id}/reject"): SIDEBAR,
    ("GET", "/sidebar/api/jsapi-config"): SIDEBAR,
}
VALUES = {"draft_id": "999999", "channel": "kf", "customer_id": "wmNOBODY", "intent": "nope", "persona": "nope",
          "old_id": "nope", "number": "999", "name": "nope.js"}
DENIED = (401, 403)


def routes(app: Any) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app answers, with included routers flattened."""

    def walk(found: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in found:
            if hasattr(route, "original_router"):  # FastAPI's included router
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif hasattr(route, "routes") and not getattr(route, "methods", None):
                yield from walk(route.routes, prefix + getattr(route, "path", ""))
            elif getattr(route, "methods", None):
                for method in sorted(route.methods - {"HEAD"}):
                    yield method, prefix + route.path

    yield from walk(app.routes, "")


def url(path: str, role: str = "") -> str:
    """The path with example values; each role its own customer (so a staff member lifts the opt-out they recorded)."""
    values = {**VALUES, "customer_id": f"wm-{role or 'nobody'}"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server, agent_ticket_endpoint():
        yield server


@pytest.fixture
def app_client(database_url: str, fake: FakeWeCom, clock: FakeClock) -> Iterator[TestClient]:
    settings = make_settings(database_url, wecom_api_base=fake.base_url)
    with TestClient(create_app(settings, clock=clock)) as client:
        runtime(client).worker.stop()
        yield client


def test_every_route_has_a_role_rule(app_client: TestClient) -> None:
    served = {key for key in routes(app_client.app) if key[1].startswith(("/api/", "/admin", "/sidebar"))}
    ruled = set(API) | set(CONSOLE) | set(SIDEBAR_ROUTES)
    assert served - ruled == set(), "a route without a role rule: add it to the tables of this test"
    assert ruled - served == set(), "a rule for a route that no longer exists"


def test_each_role_on_every_api_route(app_client: TestClient) -> None:
    tokens = {role: bearer(app_client, f"user-{role}", role) for role in ROLES}
    for (method, path), allowed in API.items():
        anonymous = app_client.request(method, url(path), json={})
        assert anonymous.status_code == 401, (method, path)
        for role in ROLES:
            answer = app_client.request(method, url(path, role), json={}, headers=tokens[role])
            if role in allowed:
                assert answer.status_code not in DENIED, (method, path, role, answer.text)
            else:
                assert answer.status_code == 403, (method, path, role, answer.text)
                assert re.search(r"[\u4e00-\u9fff]", answer.json()["detail"]), answer.text  # the reason, in Chinese


def console_client(app_client: TestClient, role: str) -> tuple[TestClient, str]:
    """A client signed in to the console as `role` (staff cannot sign in: their session is made directly)."""
    client = TestClient(app_client.app)
    rt = runtime(app_client)
    user = f"console-{role}"
    if role == "staff":
        with rt.sessions() as session:
            save_account(session, user_id=user, role=role, password=PASSWORD, now=rt.clock())
            token = start_session(session, session.get(Account, user), now=rt.clock())
            session.commit()
        client.cookies.set("draftbot_admin", token, path="/admin")
        refused = TestClient(app_client.app).post("/admin/login", data={"user_id": user, "password": PASSWORD})
        assert refused.status_code == 403 and "员工账号" in refused.text
    else:
        make_account(app_client, user, role)
        signed = client.post("/admin/login", data={"user_id": user, "password": PASSWORD, "next": "/admin"},
                             follow_redirects=False)
        assert signed.status_code == 303, signed.text
    page = client.get("/admin/audit" if role != "staff" else "/admin/login")
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    return client, found.group(1) if found else ""


def test_each_role_on_every_console_page(app_client: TestClient) -> None:
    with runtime(app_client).sessions() as session:
        with pytest.raises(Refused):  # an intake token is a pipeline: it never has a console account
            save_account(session, user_id="pipe", role="intake", password=PASSWORD, now=runtime(app_client).clock())
        set_team(session, "console-supervisor", ["zhangsan"], actor="test", role="admin", surface="cli",
                 now=runtime(app_client).clock())
        session.commit()
    clients = {role: console_client(app_client, role) for role in ("staff", "supervisor", "admin")}
    anonymous = TestClient(app_client.app)
    for (method, path), allowed in CONSOLE.items():
        if allowed is PUBLIC:
            continue
        answer = anonymous.request(method, url(path), follow_redirects=False)
        assert (answer.status_code, answer.headers.get("location", "")[:12]) in ((303, "/admin/login"), (401, "")), (method, path)
        for role, (client, csrf) in clients.items():
            answer = client.request(method, url(path), data={"csrf": csrf} if method == "POST" else None,
                                    headers={"X-CSRF-Token": csrf} if method == "POST" else None, follow_redirects=False)
            if role in allowed:
                assert answer.status_code not in DENIED, (method, path, role, answer.text[:300])
            else:
                assert answer.status_code == 403, (method, path, role, answer.status_code)
    page = clients["supervisor"][0].get("/admin")
    nav = re.search(r'<nav class="nav".*?</nav>', page.text, re.S).group(0)
    assert "操作记录" in nav and "概览" in nav and "意图" not in nav and "发布与版本" not in nav


def test_the_sidebar_api_takes_its_own_sign_in_not_api_tokens(app_client: TestClient, fake: FakeWeCom) -> None:
    tokens = {role: bearer(app_client, f"user-{role}", role) for role in ROLES}
    signed = TestClient(app_client.app)
    csrf = sidebar_sign_in(signed, fake, "zhangsan")
    for (method, path), rule in SIDEBAR_ROUTES.items():
        if rule == "public":
            continue
        target = url(path) + ("?customer_id=wmA" if path == "/sidebar/api/drafts" else "")
        target += "?url=http%3A%2F%2Ftestserver%2Fsidebar" if path.endswith("jsapi-config") else ""
        for role in ROLES:
            answer = app_client.request(method, target, json={"text": "好的"}, headers=tokens[role])
            assert answer.status_code == 401, (method, path, role)
        answer = signed.request(method, target, json={"text": "好的"}, headers={"X-CSRF-Token": csrf})
        assert answer.status_code not in DENIED, (method, path, answer.text)
