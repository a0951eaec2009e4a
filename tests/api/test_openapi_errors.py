"""The OpenAPI schema documents every refusal a route answers, in the shape the API really sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter

from bot.api.errors import MAX_ID
from bot.api.schemas import DraftOut, ErrorOut, MessageAccepted, ValidationErrorOut
from bot.app import create_app
from tests.conftest import bearer, make_settings, run_jobs

MODELS: dict[str, type[BaseModel]] = {m.__name__: m for m in (DraftOut, ErrorOut, MessageAccepted, ValidationErrorOut)}
DRAFT_ROUTES = ["/api/drafts/{id}", "/api/drafts/{id}/approve", "/api/drafts/{id}/reject", "/api/drafts/{id}/intent",
                "/sidebar/api/drafts/{id}/check", "/sidebar/api/drafts/{id}/sent", "/sidebar/api/drafts/{id}/reject",
                "/demo/drafts/{id}/approve", "/demo/drafts/{id}/reject"]


def documented(schema: dict, method: str, path: str) -> dict[str, Any]:
    """The documented responses of an operation, by status."""
    return schema["paths"][path][method.lower()]["responses"]


def _template(url: str, schema: dict) -> str:
    """The schema path an URL belongs to (numbers stand for the path parameter)."""
    parts = url.split("?")[0].strip("/").split("/")
    for path in schema["paths"]:
        names = path.strip("/").split("/")
        if len(names) == len(parts) and all(n == p or n.startswith("{") for n, p in zip(names, parts, strict=True)):
            return path
    raise AssertionError(f"{url} is not in the schema")


def check_documented(schema: dict, method: str, url: str, response) -> None:
    """The status is documented for the route, and a JSON body fits the documented model."""
    assert response.status_code < 500, (method, url, response.status_code, response.text)
    responses = documented(schema, method, _template(url, schema))
    status = str(response.status_code)
    assert status in responses, f"{method} {url} answered {status}, documented only {sorted(responses)}"
    content = responses[status].get("content", {}).get("application/json", {}).get("schema", {})
    ref = content.get("$ref") or content.get("items", {}).get("$ref")
    if ref and response.headers.get("content-type", "").startswith("application/json"):
        model = MODELS[ref.rsplit("/", 1)[-1]]
        body = response.json()
        TypeAdapter(list[model] if content.get("type") == "array" else model).validate_python(body)
        if response.status_code >= 400:
            assert isinstance(body["detail"], str) and body["detail"]


def test_the_schema_documents_the_refusals_of_each_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    expected = {
        ("GET", "/wecom/callback"): {400, 403, 503},
        ("POST", "/wecom/callback"): {400, 403, 408, 413, 503},
        ("GET", "/api/drafts"): {401, 422},
        ("GET", "/api/drafts/{draft_id}"): {401, 404, 422},
        ("POST", "/api/drafts/{draft_id}/approve"): {401, 403, 404, 408, 409, 422},
        ("POST", "/api/drafts/{draft_id}/reject"): {401, 403, 404, 408, 409, 422},
        ("POST", "/api/drafts/{draft_id}/intent"): {401, 403, 404, 408, 422},
        ("POST", "/api/messages"): {401, 403, 408, 422},
        ("POST", "/api/customers/{channel}/{customer_id}/opt-out"): {401, 404, 408, 422},
        ("POST", "/sidebar/api/drafts/{draft_id}/sent"): {401, 403, 404, 408, 409, 422},
        ("GET", "/sidebar/api/jsapi-config"): {400, 401, 502, 503},
        ("POST", "/demo/drafts/{draft_id}/approve"): {404, 408, 409, 422},
        ("GET", "/healthz"): {503},
    }
    for (method, path), statuses in expected.items():
        assert statuses <= {int(s) for s in documented(schema, method, path)}, (method, path)
    assert "HTTPValidationError" not in str(schema)  # FastAPI's default 422 (detail: array) is not what is sent
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
                if status.startswith("4") and "application/json" in response.get("content", {}):
                    assert ref.endswith(("/ErrorOut", "/ValidationErrorOut")), (method, path, status)


@pytest.mark.parametrize("draft_id", [99999999999999999999, 2**31, -1, 0, 2**63])
def test_ids_beyond_the_database_integer_are_422_on_every_route(client: TestClient, draft_id: int) -> None:
    schema = client.get("/openapi.json").json()
    admin = bearer(client, "boss", "admin")
    for route in DRAFT_ROUTES:
        url = route.format(id=draft_id)
        method = "GET" if route == "/api/drafts/{id}" else "POST"
        response = client.request(method, url, headers=admin, json={"text": "好的", "intent": "complaint"})
        assert response.status_code == 422, (url, response.text)
        assert "draft_id" in response.json()["detail"], response.text
        check_documented(schema, method, url, response)
    assert client.get(f"/api/drafts/{MAX_ID}", headers=admin).status_code == 404  # the largest id is a real lookup


def test_validation_errors_say_what_is_wrong_in_chinese(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    response = client.post("/api/messages", json={"channel": "nowhere", "text": "x" * 5000}, headers=admin)
    assert response.status_code == 422
    body = ValidationErrorOut.model_validate(response.json())
    assert "请求体字段 channel 只能是" in body.detail and "缺少请求体字段 customer_id" in body.detail, body.detail
    assert "最多 4096 个字符" in body.detail
    assert {tuple(e.loc) for e in body.errors} >= {("body", "channel"), ("body", "customer_id"), ("body", "text")}
    assert "x" * 100 not in response.text  # the input is not echoed back
    broken = client.post("/api/drafts/1/approve", content=b"{not json", headers={**admin, "Content-Type": "application/json"})
    assert broken.status_code == 422 and "不是合法的 JSON" in broken.json()["detail"]


def test_probes_answer_only_documented_statuses(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    admin, staff = bearer(client, "boss", "admin"), bearer(client, "lisi")
    accepted = client.post("/api/messages", headers=admin, json={
        "channel": "archive", "customer_id": "wmC", "text": "我的订单到哪了", "msg_id": "m1", "staff_id": "zhangsan"})
    check_documented(schema, "POST", "/api/messages", accepted)
    run_jobs(client)
    drafts = client.get("/api/drafts", headers=admin)
    check_documented(schema, "GET", "/api/drafts", drafts)
    draft_id = drafts.json()[0]["id"]
    probes = [
        ("GET", "/api/drafts", {}, None), ("GET", "/api/drafts?limit=0", admin, None),
        ("GET", "/api/drafts/abc", admin, None), ("GET", f"/api/drafts/{draft_id}", {"Authorization": "Bearer nope"}, None),
        ("GET", "/api/drafts/424242", admin, None), ("GET", f"/api/drafts/{draft_id}", admin, None),
        ("POST", f"/api/drafts/{draft_id}/approve", staff, {}), ("POST", f"/api/drafts/{draft_id}/approve", admin, {"text": " "}),
        ("POST", f"/api/drafts/{draft_id}/intent", admin, {"intent": "no_such_intent"}),
        ("POST", f"/api/drafts/{draft_id}/reject", admin, {"reason": "不合适"}),
        ("POST", f"/api/drafts/{draft_id}/approve", admin, {}),
        ("POST", "/api/customers/nowhere/wmC/opt-out", admin, {}), ("GET", "/api/customers/kf/wmC/opt-out", {}, None),
        ("POST", f"/sidebar/api/drafts/{draft_id}/check", {}, {"text": "好"}), ("GET", "/sidebar/api/jsapi-config", {}, None),
        ("POST", "/demo/drafts/424242/approve", {}, {}), ("POST", "/wecom/callback", {}, None),
        ("GET", "/wecom/callback?echostr=x", {}, None),
    ]
    for method, url, headers, body in probes:
        response = client.request(method, url, headers=headers, json=body) if body is not None else \
            client.request(method, url, headers=headers)
        check_documented(schema, method, url, response)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict, dict[str, str]]]:
    """One app for all fuzzed examples (SQLite), with a demo draft; yields the client, its schema and an admin token."""
    folder = tmp_path_factory.mktemp("fuzz")
    with TestClient(create_app(make_settings(f"sqlite:///{folder}/fuzz.db"))) as client:
        client.app.state.runtime.worker.stop()
        admin = bearer(client, "boss", "admin")
        client.post("/api/messages", headers=admin, json={"channel": "demo", "customer_id": "c", "text": "我的订单到哪了", "msg_id": "m1"})
        run_jobs(client)
        yield client, client.get("/openapi.json").json(), admin


ids = st.one_of(st.integers(), st.sampled_from([0, 1, MAX_ID, MAX_ID + 1, -(2**63), 2**64]))
texts = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["", " ", "\x00", "好的" * 1100]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route=st.sampled_from(DRAFT_ROUTES), draft_id=ids, text=texts, intent=texts)
def test_fuzzed_draft_routes_never_fail_and_answer_as_documented(fuzz, route: str, draft_id: int,
                                                                  text: str | None, intent: str | None) -> None:
    client, schema, admin = fuzz
    url = route.format(id=draft_id)
    method = "GET" if route == "/api/drafts/{id}" else "POST"
    body = {key: value for key, value in (("text", text), ("intent", intent), ("reason", text)) if value is not None}
    check_documented(schema, method, url, client.request(method, url, headers=admin, json=body))
