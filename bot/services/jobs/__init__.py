"""Background jobs: every kind, its key and payload, and the one function that queues each.

A job is durable work the worker runs after the request that asked for it has committed:

    wecom_event   a stored WeCom callback            {"kind", "name", "fields"}   (queued by the callback store)
    draft         draft a stored customer message    {"message_id", "persona"?}
    send          deliver an approved draft          {"draft_id"}
    notify        send a new draft's card to staff   {"draft_id"}
    escalate      tell admins of an urgent draft     {"draft_id"}                 (after a delay)
    card_outcome  grey out a decided draft's cards   {"draft_id"}

Keys make retries idempotent: queuing the same work twice adds one job. The handlers that run each
kind live in `bot.services.jobs.handlers`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from bot.db.queue import enqueue


class Kind(StrEnum):
    WECOM_EVENT = "wecom_event"
    DRAFT = "draft"
    SEND = "send"
    NOTIFY = "notify"
    ESCALATE = "escalate"
    CARD_OUTCOME = "card_outcome"


def queue_draft(session: Session, *, message_id: int, persona: str | None, now: datetime) -> None:
    """Draft the message (in `persona` if given) once."""
    payload = {"message_id": message_id, **({"persona": persona} if persona else {})}
    enqueue(session, kind=Kind.DRAFT, key=f"draft:{message_id}", payload=payload, now=now)


def queue_send(session: Session, *, draft_id: int, now: datetime) -> None:
    """Deliver an approved draft: one job per approval (the outbox sends an approved draft once)."""
    enqueue(session, kind=Kind.SEND, key=f"send:{draft_id}:{uuid.uuid4().hex}", payload={"draft_id": draft_id}, now=now)


def queue_notify(session: Session, *, draft_id: int, now: datetime) -> None:
    enqueue(session, kind=Kind.NOTIFY, key=f"notify:{draft_id}", payload={"draft_id": draft_id}, now=now)


def queue_escalation(session: Session, *, draft_id: int, now: datetime, after: timedelta) -> None:
    enqueue(session, kind=Kind.ESCALATE, key=f"escalate:{draft_id}", payload={"draft_id": draft_id}, now=now,
            run_after=now + after)


def queue_card_outcome(session: Session, *, draft_id: int, status: str, now: datetime) -> None:
    """Update the staff's cards of a draft whose outcome is known (a no-op without the app chat)."""
    enqueue(session, kind=Kind.CARD_OUTCOME, key=f"card:{draft_id}:{status}:{now.timestamp()}",
            payload={"draft_id": draft_id}, now=now)
