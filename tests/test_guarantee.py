"""The guarantee: nothing reaches a customer unless a named human approved exactly that text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.db.models import Draft
from bot.db.queue import enqueue
from bot.drafts.lifecycle import ApprovedReply, Status, approved_reply
from bot.errors import TransitionError
from tests.conftest import bearer, make_settings, run_jobs, runtime


class RecordingSender:
    """Records every reply handed to it."""

    def __init__(self) -> None:
        self.replies: list[ApprovedReply] = []

    def send(self, reply: ApprovedReply) -> None:
        self.replies.append(reply)


def start(settings: Settings) -> tuple[TestClient, RecordingSender]:
    client = TestClient(create_app(settings))
    client.__enter__()
    runtime(client).worker.stop()
    sender = RecordingSender()
    runtime(client).outbox.senders["demo"] = sender
    return client, sender


@pytest.fixture
def app(settings: Settings) -> Iterator[tuple[TestClient, RecordingSender]]:
    client, sender = start(settings)
    yield client, sender
    client.__exit__(None, None, None)


def new_draft(client: TestClient, headers: dict, text: str, msg_id: str) -> dict:
    """A draft for a new message (posted by a trusted intake), as `headers` sees it."""
    body = {"channel": "demo", "customer_id": f"c-{msg_id}", "text": text, "msg_id": msg_id}
    response = client.post("/api/messages", json=body, headers=bearer(client, "pipeline", "intake"))
    assert response.status_code == 202
    run_jobs(client)
    return client.get("/api/drafts", params={"limit": 1}, headers=headers).json()[0]


def force_send_job(client: TestClient, draft_id: int) -> None:
    """Queue a send for a draft as a buggy or malicious path might, bypassing approval."""
    rt = runtime(client)
    with rt.sessions() as session:
        enqueue(session, kind="send", key=f"forged:{draft_id}", payload={"draft_id": draft_id}, now=rt.clock())
        session.commit()
    run_jobs(client)


def test_pending_rejected_and_manual_drafts_never_reach_the_sender(app: tuple[TestClient, RecordingSender]) -> None:
    client, sender = app
    admin = bearer(client, "boss", "admin")
    pending = new_draft(client, admin, "我的快递到哪了", "m1")
    rejected = new_draft(client, admin, "你好", "m2")
    client.post(f"/api/drafts/{rejected['id']}/reject", json={"reason": "不用回"}, headers=admin)
    manual = client.post(
        "/api/messages", json={"channel": "demo", "customer_id": "c-m3", "text": "", "msg_id": "m3", "msg_type": "image"}, headers=admin
    )
    assert manual.status_code == 202
    run_jobs(client)
    for draft_id in (pending["id"], rejected["id"], manual.json()["message_id"]):
        force_send_job(client, draft_id)
    assert sender.replies == []
    statuses = {d["status"] for d in client.get("/api/drafts", headers=admin).json()}
    assert statuses == {"pending", "rejected", "needs_manual"}


def test_the_sender_gets_exactly_the_approved_text_and_the_approver(app: tuple[TestClient, RecordingSender]) -> None:
    client, sender = app
    staff = bearer(client, "zhangsan")
    draft = new_draft(client, staff, "我的快递到哪了", "m1")
    client.post(f"/api/drafts/{draft['id']}/approve", json={"text": "  已帮您催件，今天发出  "}, headers=staff)
    run_jobs(client)
    [reply] = sender.replies
    assert reply.text == "已帮您催件，今天发出"
    assert reply.approved_by == "zhangsan"
    assert reply.draft_id == draft["id"]


def test_approving_twice_sends_once(app: tuple[TestClient, RecordingSender]) -> None:
    client, sender = app
    staff = bearer(client, "zhangsan")
    draft = new_draft(client, staff, "你好", "m1")
    for _ in range(3):  # a double tap, a retried request: still approved, not yet sent
        response = client.post(f"/api/drafts/{draft['id']}/approve", json={}, headers=staff)
        assert response.status_code == 200
        assert response.json()["status"] == "approved"
    run_jobs(client)
    assert len(sender.replies) == 1
    again = client.post(f"/api/drafts/{draft['id']}/approve", json={}, headers=staff)  # a late retry, now sent
    assert again.status_code == 200
    assert again.json()["status"] == "sent"
    assert again.json()["final_text"] == sender.replies[0].text
    other = client.post(f"/api/drafts/{draft['id']}/approve", json={"text": "另一段文字"}, headers=staff)
    assert other.status_code == 409
    run_jobs(client)
    assert len(sender.replies) == 1


def test_approved_reply_refuses_every_state_but_approved() -> None:
    for status in Status:
        draft = Draft(id=1, status=status.value, channel="demo", customer_id="c", open_kfid=None, assignee=None,
                      original_text="x", final_text="x", approved_by="u", approved_at=None)
        with pytest.raises(TransitionError):
            approved_reply(draft)


def _toggled_settings(database_url: str) -> list[Settings]:
    """Every boolean and numeric behaviour setting flipped to an unusual value, one at a time."""
    variants = [
        {"demo": False}, {"demo": True}, {"fallback_threshold": 0.0}, {"fallback_threshold": 1.0},
        {"send_max_attempts": 1}, {"worker_lease_seconds": 0.01}, {"approvers": ["boss"]},
        {"default_persona": "lucky"},
    ]
    return [make_settings(database_url, **variant) for variant in variants]


def test_no_setting_makes_marketing_go_out_unapproved(database_url: str) -> None:
    for settings in _toggled_settings(database_url):
        client, sender = start(settings)
        try:
            admin = bearer(client, "boss", "admin")
            client.post("/api/messages", json={"channel": "demo", "customer_id": "c9", "text": "最近有什么优惠吗", "msg_id": f"promo-{id(settings)}"}, headers=admin)
            run_jobs(client)
            draft = client.get("/api/drafts", params={"customer_id": "c9", "limit": 1}, headers=admin).json()[0]
            assert draft["status"] in ("pending", "needs_manual")
            assert sender.replies == [], settings
        finally:
            client.__exit__(None, None, None)
