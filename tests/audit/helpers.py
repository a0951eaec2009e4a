"""What the audit tests share: reading the trail back, and the one check every event must pass."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.db.models import AuditLog
from bot.services.audit import customer_key, text_sha256
from tests.conftest import runtime


def events(client: TestClient, action: str | None = None) -> list[AuditLog]:
    """Every event (of one action), oldest first."""
    with runtime(client).sessions() as session:
        query = select(AuditLog).order_by(AuditLog.id)
        if action is not None:
            query = query.where(AuditLog.action == action)
        return list(session.scalars(query))


def one(client: TestClient, action: str) -> AuditLog:
    [event] = events(client, action)
    return event


def who(event: AuditLog) -> tuple[str, str, str, str]:
    """(actor, role, surface, subject): what every event test asserts."""
    return event.actor, event.role, event.surface, event.subject


def assert_about_customer(event: AuditLog, channel: str, customer_id: str) -> None:
    """The customer sits in the redactable fields, keyed, and never in the detail."""
    assert (event.channel, event.customer_id, event.customer_key) == (channel, customer_id, customer_key(channel, customer_id))
    assert customer_id not in str(event.detail)
    if event.text is not None:
        assert event.text_sha256 == text_sha256(event.text)
