"""The staff API: authentication, roles, visibility, decisions and their HTTP statuses."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import bearer, run_jobs, runtime


def submit(client: TestClient, headers: dict, *, msg_id: str, text: str = "我的快递到哪了", staff_id: str | None = None, channel: str = "demo") -> int:
    body = {"channel": channel, "customer_id": f"cust-{msg_id}", "text": text, "msg_id": msg_id, "customer_name": "王女士"}
    if staff_id:
        body["staff_id"] = staff_id
    response = client.post("/api/messages", json=body, headers=headers)
    assert response.status_code == 202, response.text
    run_jobs(client)
    return client.get("/api/drafts", params={"limit": 1}, headers=bearer(client, "root", "admin")).json()[0]["id"]


def test_no_token_or_an_unknown_one_is_401(client: TestClient) -> None:
    assert client.get("/api/drafts").status_code == 401
    response = client.get("/api/drafts", headers={"Authorization": "Bearer dbt_nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "令牌无效或已被吊销"


def test_a_revoked_token_is_401(client: TestClient) -> None:
    from bot.db.tokens import create_token, revoke_token

    rt = runtime(client)
    with rt.sessions() as session:
        token_id, token = create_token(session, user_id="lisi", role="staff", now=rt.clock())
        session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/drafts", headers=headers).status_code == 200
    with rt.sessions() as session:
        assert revoke_token(session, token_id, now=rt.clock())
        session.commit()
    assert client.get("/api/drafts", headers=headers).status_code == 401


def test_the_draft_json_has_the_contract_fields(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    draft_id = submit(client, admin, msg_id="m1")
    draft = client.get(f"/api/drafts/{draft_id}", headers=admin).json()
    for field in ("id", "status", "customer_id", "message_text", "intent", "confidence", "persona", "text", "marketing", "flags", "created_at", "runners_up"):
        assert field in draft
    assert draft["status"] == "pending"
    assert draft["intent"] == "order_status"
    assert draft["message_text"] == "我的快递到哪了"
    assert draft["text"].startswith("王女士，")
    assert len(draft["runners_up"]) == 2


def test_staff_see_and_decide_only_their_own_or_unassigned_drafts(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    zhang = bearer(client, "zhangsan")
    li = bearer(client, "lisi")
    mine = submit(client, admin, msg_id="m1", staff_id="zhangsan")
    unassigned = submit(client, admin, msg_id="m2")
    assert {d["id"] for d in client.get("/api/drafts", headers=li).json()} == {unassigned}
    assert client.get(f"/api/drafts/{mine}", headers=li).status_code == 404
    assert client.post(f"/api/drafts/{mine}/approve", json={}, headers=li).status_code == 404
    assert {d["id"] for d in client.get("/api/drafts", headers=zhang).json()} == {mine, unassigned}
    assert client.post(f"/api/drafts/{mine}/approve", json={}, headers=zhang).status_code == 200
    assert client.post(f"/api/drafts/{unassigned}/reject", json={}, headers=li).status_code == 200


def test_unknown_draft_is_404(client: TestClient) -> None:
    response = client.get("/api/drafts/999", headers=bearer(client, "boss", "admin"))
    assert response.status_code == 404
    assert response.json()["detail"] == "没有草稿 999（或它不归你处理）"


def test_empty_edited_text_is_422_and_changes_nothing(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    draft_id = submit(client, admin, msg_id="m1")
    response = client.post(f"/api/drafts/{draft_id}/approve", json={"text": "   "}, headers=admin)
    assert response.status_code == 422
    assert client.get(f"/api/drafts/{draft_id}", headers=admin).json()["status"] == "pending"


def test_approving_a_rejected_draft_is_409(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    draft_id = submit(client, admin, msg_id="m1")
    rejected = client.post(f"/api/drafts/{draft_id}/reject", json={"reason": "客户已到店"}, headers=admin).json()
    assert rejected["status"] == "rejected"
    assert rejected["reject_reason"] == "客户已到店"
    response = client.post(f"/api/drafts/{draft_id}/approve", json={}, headers=admin)
    assert response.status_code == 409
    assert response.json()["detail"] == f"草稿 {draft_id} 已选择不发，不能再批准"


def test_approving_a_sent_draft_is_409_and_sends_nothing_more(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    draft_id = submit(client, admin, msg_id="m1")
    client.post(f"/api/drafts/{draft_id}/approve", json={"text": "第一次"}, headers=admin)
    run_jobs(client)
    assert client.get(f"/api/drafts/{draft_id}", headers=admin).json()["status"] == "sent"
    assert client.post(f"/api/drafts/{draft_id}/approve", json={"text": "第二次"}, headers=admin).status_code == 409
    replies = [m for m in client.get("/demo/conversation", params={"customer_id": "cust-m1"}).json()["messages"] if m["direction"] == "out"]
    assert [m["text"] for m in replies] == ["第一次"]


def test_approving_an_approved_draft_with_other_text_is_409(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    draft_id = submit(client, admin, msg_id="m1")
    client.post(f"/api/drafts/{draft_id}/approve", json={"text": "好的"}, headers=admin)
    assert client.post(f"/api/drafts/{draft_id}/approve", json={"text": "好的"}, headers=admin).status_code == 200
    assert client.post(f"/api/drafts/{draft_id}/approve", json={"text": "另一句"}, headers=admin).status_code == 409


def test_the_original_draft_and_the_final_text_are_both_kept(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    draft_id = submit(client, admin, msg_id="m1")
    original = client.get(f"/api/drafts/{draft_id}", headers=admin).json()["text"]
    approved = client.post(f"/api/drafts/{draft_id}/approve", json={"text": "改过的回复"}, headers=admin).json()
    assert approved["text"] == original
    assert approved["final_text"] == "改过的回复"
    assert approved["approved_by"] == "boss"


def test_messages_are_deduplicated_by_channel_and_msg_id(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    body = {"channel": "archive", "customer_id": "c", "text": "你好", "msg_id": "dup-1", "staff_id": "boss"}
    first = client.post("/api/messages", json=body, headers=admin)
    second = client.post("/api/messages", json=body, headers=admin)
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json() == {"message_id": first.json()["message_id"], "duplicate": True}
    run_jobs(client)
    assert len(client.get("/api/drafts", headers=admin).json()) == 1


def test_message_validation_errors_are_422(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    bad = [
        {"channel": "sms", "customer_id": "c", "text": "x", "msg_id": "1"},
        {"channel": "kf", "customer_id": "c", "text": "x", "msg_id": "1"},  # kf needs open_kfid
        {"channel": "demo", "customer_id": "", "text": "x", "msg_id": "1"},
        {"channel": "demo", "customer_id": "c", "text": "x"},
    ]
    for body in bad:
        assert client.post("/api/messages", json=body, headers=admin).status_code == 422, body


def test_staff_cannot_submit_messages_for_another_staff_member(client: TestClient) -> None:
    response = client.post(
        "/api/messages",
        json={"channel": "archive", "customer_id": "c", "text": "你好", "msg_id": "1", "staff_id": "lisi"},
        headers=bearer(client, "zhangsan"),
    )
    assert response.status_code == 403


def test_archive_drafts_wait_for_the_sidebar_after_approval(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    client.post("/api/messages", json={"channel": "archive", "customer_id": "c", "text": "你好", "msg_id": "a1", "staff_id": "boss"}, headers=admin)
    run_jobs(client)
    [draft] = client.get("/api/drafts", headers=admin).json()
    client.post(f"/api/drafts/{draft['id']}/approve", json={}, headers=admin)
    run_jobs(client)
    assert client.get(f"/api/drafts/{draft['id']}", headers=admin).json()["status"] == "approved"


def test_filter_by_status(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    first = submit(client, admin, msg_id="m1")
    submit(client, admin, msg_id="m2")
    client.post(f"/api/drafts/{first}/reject", json={}, headers=admin)
    assert [d["id"] for d in client.get("/api/drafts", params={"status": "rejected"}, headers=admin).json()] == [first]
    assert client.get("/api/drafts", params={"status": "nonsense"}, headers=admin).status_code == 422


def test_health_and_metrics(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    submit(client, admin, msg_id="m1")
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    metrics = client.get("/metrics").text
    assert 'draftbot_drafts_total{intent="order_status",persona="_default",status="pending"} 1.0' in metrics
    assert "draftbot_pipeline_seconds_bucket" in metrics


def test_staff_record_and_lift_an_opt_out_and_the_history_is_kept(client: TestClient) -> None:
    staff = bearer(client, "zhangsan")
    assert client.post("/api/customers/demo/c9/opt-out", json={"reason": "电话里说不要推送"}, headers=staff).status_code == 201
    assert client.get("/api/customers/demo/c9/opt-out", headers=staff).json()["opted_out"] is True
    assert client.request("DELETE", "/api/customers/demo/c9/opt-out", headers=staff).status_code == 200
    state = client.get("/api/customers/demo/c9/opt-out", headers=staff).json()
    assert state["opted_out"] is False
    assert [h["recorded_by"] for h in state["history"]] == ["zhangsan", "zhangsan"]
    assert client.post("/api/customers/sms/c9/opt-out", headers=staff).status_code == 404


def test_a_draft_with_a_sensitive_word_cannot_be_approved_unchanged(database_url: str, tmp_path) -> None:
    from bot.app import create_app
    from tests.conftest import make_settings

    words = tmp_path / "sensitive.txt"
    words.write_text("# brand list\n订单  # both order_status variations say it\n", encoding="utf-8")
    with TestClient(create_app(make_settings(database_url, sensitive_words_file=words))) as app_client:
        runtime(app_client).worker.stop()
        admin = bearer(app_client, "boss", "admin")
        draft_id = submit(app_client, admin, msg_id="m1")
        draft = app_client.get(f"/api/drafts/{draft_id}", headers=admin).json()
        assert "订单" in draft["text"]
        assert {"code": "sensitive", "reason": "含敏感词（订单），请修改后再发送"} in draft["flags"]
        refused = app_client.post(f"/api/drafts/{draft_id}/approve", json={}, headers=admin)
        assert refused.status_code == 409
        assert refused.json()["detail"] == "含敏感词（订单），请修改后再发送"
        assert app_client.post(f"/api/drafts/{draft_id}/approve", json={"text": "已为您催件"}, headers=admin).status_code == 200
