"""Staff correct a draft's intent: POST /api/drafts/{id}/intent, with the same access rules as approving."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bot.db.models import Draft
from tests.api.test_drafts_api import submit
from tests.conftest import bearer, runtime


def test_staff_correct_the_intent_of_their_own_draft(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    zhang = bearer(client, "zhangsan")
    draft_id = submit(client, admin, msg_id="m1", staff_id="zhangsan")
    response = client.post(f"/api/drafts/{draft_id}/intent", json={"intent": "complaint"}, headers=zhang)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["intent"], body["corrected_intent"], body["corrected_by"]) == ("order_status", "complaint", "zhangsan")
    assert body["status"] == "pending"  # correcting decides nothing
    with runtime(client).sessions() as session:
        draft = session.get(Draft, draft_id)
        assert (draft.corrected_intent, draft.corrected_by) == ("complaint", "zhangsan")


def test_unassigned_drafts_are_open_to_any_staff_and_admins_correct_any(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    unassigned = submit(client, admin, msg_id="m1")
    mine = submit(client, admin, msg_id="m2", staff_id="zhangsan")
    assert client.post(f"/api/drafts/{unassigned}/intent", json={"intent": "greeting"}, headers=bearer(client, "lisi")).status_code == 200
    again = client.post(f"/api/drafts/{mine}/intent", json={"intent": "greeting"}, headers=admin)
    assert again.status_code == 200 and again.json()["corrected_by"] == "boss"


def test_someone_elses_draft_and_an_unknown_draft_are_404(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    mine = submit(client, admin, msg_id="m1", staff_id="zhangsan")
    lisi = bearer(client, "lisi")
    assert client.post(f"/api/drafts/{mine}/intent", json={"intent": "complaint"}, headers=lisi).status_code == 404
    unknown = client.post("/api/drafts/999/intent", json={"intent": "complaint"}, headers=admin)
    assert unknown.status_code == 404 and unknown.json()["detail"] == "没有草稿 999（或它不归你处理）"
    with runtime(client).sessions() as session:
        assert session.get(Draft, mine).corrected_intent is None


def test_an_unknown_intent_or_a_bad_body_is_422(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    draft_id = submit(client, admin, msg_id="m1")
    unknown = client.post(f"/api/drafts/{draft_id}/intent", json={"intent": "refund_return"}, headers=admin)
    assert unknown.status_code == 422
    assert "没有意图 refund_return" in unknown.json()["detail"] and "order_status" in unknown.json()["detail"]
    assert client.post(f"/api/drafts/{draft_id}/intent", json={"intent": "fallback"}, headers=admin).status_code == 422
    assert client.post(f"/api/drafts/{draft_id}/intent", json={"intent": ""}, headers=admin).status_code == 422
    assert client.post(f"/api/drafts/{draft_id}/intent", json={}, headers=admin).status_code == 422
    assert client.get(f"/api/drafts/{draft_id}", headers=admin).json()["corrected_intent"] is None


def test_without_a_token_it_is_401(client: TestClient) -> None:
    assert client.post("/api/drafts/1/intent", json={"intent": "complaint"}).status_code == 401
