"""Drafting: run the pipeline on a stored message and store the draft (once per message)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Draft, Message
from bot.metrics import Metrics
from bot.pipeline import Inbound, Pipeline

log = logging.getLogger(__name__)


def make_draft(session: Session, pipeline: Pipeline, *, message_id: int, now: datetime, metrics: Metrics) -> Draft | None:
    """Create the draft for a message unless it exists; the caller commits."""
    existing = session.scalar(select(Draft).where(Draft.message_id == message_id))
    if existing is not None:
        return existing
    message = session.get(Message, message_id)
    if message is None:
        log.warning("message %s vanished before drafting", message_id)
        return None
    inbound = Inbound(
        msg_id=message.msg_id,
        channel=message.channel,
        customer_id=message.customer_id,
        text=message.text,
        msg_type=message.msg_type,
        customer_name=message.customer_name,
        open_kfid=message.open_kfid,
        staff_id=message.staff_id,
    )
    started = time.perf_counter()
    plan = pipeline.plan(inbound, previous=_previous(session, message))
    metrics.pipeline_seconds.observe(time.perf_counter() - started)
    draft = Draft(
        message_id=message.id,
        status=plan.status.value,
        channel=message.channel,
        customer_id=message.customer_id,
        customer_name=message.customer_name,
        open_kfid=message.open_kfid,
        assignee=message.staff_id,
        message_text=message.text,
        intent=plan.intent,
        confidence=plan.confidence,
        runners_up=plan.runners_up,
        persona=plan.persona,
        template=plan.template,
        variation=plan.variation,
        original_text=plan.text,
        marketing=plan.marketing,
        flags=plan.flags,
        manual_reason=plan.manual_reason,
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    metrics.drafts.labels(plan.intent or "none", plan.persona, plan.status.value).inc()
    log.info("draft %s for message %s: intent %s, persona %s, %s", draft.id, message.msg_id, plan.intent, plan.persona, plan.status)
    return draft


def _previous(session: Session, message: Message) -> tuple[str, str] | None:
    """The customer's last (template, variation), so the next draft does not repeat it."""
    row = session.execute(
        select(Draft.template, Draft.variation)
        .where(Draft.channel == message.channel, Draft.customer_id == message.customer_id, Draft.template.is_not(None))
        .order_by(Draft.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None
