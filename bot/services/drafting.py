"""Drafting: run the pipeline on a stored message and store the draft (once per message).

A newer message from the same customer supersedes their undecided drafts: the new draft covers the
conversation so far (staff see every unanswered message; `Pipeline` decides which ones the intent is
read from). An opt-out message is recorded in the ledger at once (recording is not sending).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Draft, Message
from bot.drafts.lifecycle import OPEN, Status
from bot.metrics import Metrics
from bot.services.customers import CustomerDirectory, CustomerInfo
from bot.services import opt_outs
from bot.services.decisions import WORKER, announce, moved, record_decision
from bot.drafts.facts import FactLookup
from bot.drafts.pipeline import Inbound, Pipeline
from bot.policy.sensitive import SensitiveWords

log = logging.getLogger(__name__)
URGENT_INTENTS = ("complaint", "after_sales")
OPT_OUT_INTENT = "opt_out"
RECENT_MESSAGES = 20  # at most this many recent messages lend a draft their entities


class Drafting:
    """Makes drafts from stored messages: pipeline, assignment, supersession, opt-out ledger, flags."""

    def __init__(self, *, pipeline: Pipeline, metrics: Metrics, kf_staff: Mapping[str, str], sensitive: SensitiveWords,
                 facts: FactLookup | None = None, customers: CustomerDirectory | None = None,
                 context_minutes: float = 120.0) -> None:
        self.pipeline = pipeline
        self.context_minutes = context_minutes  # answered messages this recent still lend the draft their entities
        self.customers = customers  # who the customer is (names, tags), asked from WeCom and cached
        self.facts = facts  # the brand's systems (bot.services.facts), asked between classifying and rendering
        self.metrics = metrics
        self.kf_staff = kf_staff
        self.sensitive = sensitive

    def make(self, session: Session, *, message_id: int, now: datetime, persona: str | None = None) -> Draft | None:
        """Create the draft for a message unless it exists (in `persona` while it is loaded, e.g. the demo's pick); the caller commits."""
        existing = session.scalar(select(Draft).where(Draft.message_id == message_id))
        if existing is not None:
            return existing
        message = session.get(Message, message_id)
        if message is None:
            log.warning("message %s vanished before drafting", message_id)
            return None
        if message.redacted_at is not None:
            return None  # the customer's data was deleted (or its retention ran out) before it was drafted
        earlier = self._undecided(session, message)
        unanswered = "\n".join(d.message_text for d in earlier if d.message_text) if message.msg_type == "text" else ""
        text = "\n".join(part for part in (unanswered, message.text) if part)
        customer = self._customer(session, message, now)
        inbound = Inbound(
            msg_id=message.msg_id, channel=message.channel, customer_id=message.customer_id, text=message.text,
            msg_type=message.msg_type, customer_name=customer.name, customer_tags=customer.tags,
            open_kfid=message.open_kfid, staff_id=message.staff_id, earlier=unanswered,
            context=self._recent(session, message, now) if message.msg_type == "text" else "",
        )
        started = time.perf_counter()
        pipeline = self.pipeline  # read once: a new configuration version may be swapped in meanwhile
        chosen = persona if persona in pipeline.book.personas else None  # a persona unpublished meanwhile: the usual choice
        plan = pipeline.plan(inbound, persona=chosen, previous=_previous(session, message), facts=self.facts)
        self.metrics.pipeline_seconds.observe(time.perf_counter() - started)
        flags = list(plan.flags)
        sensitive = self.sensitive.reason(plan.text)
        if sensitive:
            flags.append({"code": "sensitive", "reason": sensitive})
        draft = Draft(
            message_id=message.id,
            status=plan.status.value,
            channel=message.channel,
            customer_id=message.customer_id,
            customer_name=customer.name,
            open_kfid=message.open_kfid,
            assignee=message.staff_id or self.kf_staff.get(message.open_kfid or ""),
            message_text=text,
            intent=plan.intent,
            confidence=plan.confidence,
            runners_up=plan.runners_up,
            persona=plan.persona,
            template=plan.template,
            variation=plan.variation,
            original_text=plan.text,
            marketing=plan.marketing,
            solicited=message.from_customer and any(  # only the customer's own words, asking for a promotion
                (asked := pipeline.intents.get(name)) is not None and asked.marketing for name in plan.intents or [plan.intent or ""]
            ),
            urgent=any(name in URGENT_INTENTS for name in plan.intents or [plan.intent or ""]),
            entities=plan.entities,
            flags=flags,
            manual_reason=plan.manual_reason,
            answer_id=plan.answer_id,
            intents=plan.intents or None,
            room_id=message.room_id,
            created_at=now,
            updated_at=now,
        )
        session.add(draft)
        session.flush()
        for old in earlier:  # each only if nobody decided it meanwhile
            if moved(session, old, status=Status.SUPERSEDED.value, superseded_by=draft.id, updated_at=now):
                announce(session, old, now=now)
                record_decision(session, old, by=WORKER, action="superseded", now=now, detail={"superseded_by": draft.id})
        if plan.intent == OPT_OUT_INTENT:
            opt_outs.record_customer_said(session, channel=message.channel, customer_id=message.customer_id,
                                          words=message.text[:500], now=now)
            log.info("customer %s opted out (message %s)", message.customer_id, message.msg_id)
        self.metrics.drafts.labels(plan.intent or "none", plan.persona, plan.status.value).inc()
        log.info("draft %s for message %s: intent %s, persona %s, %s", draft.id, message.msg_id, plan.intent, plan.persona, plan.status)
        return draft

    def _customer(self, session: Session, message: Message, now: datetime) -> CustomerInfo:
        """The customer's name (remark, else nickname, else the one the message came with) and tags."""
        if self.customers is None:
            return CustomerInfo(id=message.customer_id, name=message.customer_name)
        return self.customers.lookup(session, channel=message.channel, customer_id=message.customer_id,
                                     staff_id=message.staff_id, now=now, given_name=message.customer_name)

    def _recent(self, session: Session, message: Message, now: datetime) -> str:
        """The customer's text messages of the last `context_minutes` in this conversation before `message`, oldest first."""
        if self.context_minutes <= 0:
            return ""
        same_conversation = [
            Message.channel == message.channel,
            Message.customer_id == message.customer_id,
            Message.open_kfid.is_(None) if message.open_kfid is None else Message.open_kfid == message.open_kfid,
        ]
        if message.channel == "archive":
            same_conversation.append(Message.staff_id.is_(None) if message.staff_id is None else Message.staff_id == message.staff_id)
            same_conversation.append(Message.room_id.is_(None) if message.room_id is None else Message.room_id == message.room_id)
        texts = session.scalars(
            select(Message.text)
            .where(*same_conversation, Message.direction == "in", Message.msg_type == "text", Message.id < message.id,
                   Message.created_at >= now - timedelta(minutes=self.context_minutes))
            .order_by(Message.id.desc())
            .limit(RECENT_MESSAGES)
        ).all()
        return "\n".join(reversed([text for text in texts if text]))

    @staticmethod
    def _undecided(session: Session, message: Message) -> list[Draft]:
        """Undecided drafts of the same conversation: the same customer, kf account and (archive) staff member and group."""
        same_conversation = [
            Draft.channel == message.channel,
            Draft.customer_id == message.customer_id,
            Draft.open_kfid.is_(None) if message.open_kfid is None else Draft.open_kfid == message.open_kfid,
        ]
        if message.channel == "archive":  # a 1:1 chat, or one customer group (room)
            same_conversation.append(Draft.assignee.is_(None) if message.staff_id is None else Draft.assignee == message.staff_id)
            same_conversation.append(Draft.room_id.is_(None) if message.room_id is None else Draft.room_id == message.room_id)
        return list(session.scalars(
            select(Draft)
            .where(*same_conversation, Draft.status.in_([s.value for s in OPEN]), Draft.message_id < message.id)
            .order_by(Draft.id)
        ))


def _previous(session: Session, message: Message) -> tuple[str, str] | None:
    """The customer's last (template, variation), so the next draft does not repeat it."""
    row = session.execute(
        select(Draft.template, Draft.variation)
        .where(Draft.channel == message.channel, Draft.customer_id == message.customer_id, Draft.template.is_not(None))
        .order_by(Draft.id.desc())
        .limit(1)
    ).first()
    if row is None or row.template is None or row.variation is None:
        return None  # nothing to avoid: no earlier draft, or its template has a single wording
    return row.template, row.variation
