"""The outbox: human decisions on drafts, and delivery of exactly the approved text."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import Draft, Message
from bot.db.queue import enqueue
from bot.drafts.lifecycle import ApprovedReply, Status, approved_reply, check_may_decide, check_rejectable, plan_approval
from bot.errors import WeComError
from bot.metrics import Metrics
from bot.policy.kf_window import kf_send_block

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Delivers an approved reply to the customer; raises WeComError when delivery fails."""

    def send(self, reply: ApprovedReply) -> None: ...


class RetryLater(Exception):
    """The job should run again after `delay` seconds."""

    def __init__(self, delay: float, reason: str) -> None:
        self.delay = delay
        super().__init__(reason)


def approve(session: Session, draft: Draft, *, user: str, role: str, text: str | None, now: datetime) -> bool:
    """Record a human's approval of the draft (optionally edited) and queue its delivery.

    Returns False when the draft was already approved with this text (nothing changes, nothing is
    sent twice). Raises NotAllowed, TransitionError or ValueError (empty text).
    """
    check_may_decide(draft, user=user, role=role)
    approval = plan_approval(draft, text)
    if not approval.changed:
        return False
    draft.status = Status.APPROVED.value
    draft.final_text = approval.final_text
    draft.approved_by = user
    draft.approved_at = now
    draft.decided_at = now
    draft.send_errcode = None
    draft.send_errmsg = None
    draft.updated_at = now
    if draft.channel != "archive":  # archive replies are inserted by staff from the chat sidebar
        enqueue(session, kind="send", key=f"send:{draft.id}:{now.timestamp()}", payload={"draft_id": draft.id}, now=now)
    return True


def reject(session: Session, draft: Draft, *, user: str, role: str, reason: str | None, now: datetime) -> bool:
    """Record that a human decided not to send the draft; False for a repeated rejection."""
    check_may_decide(draft, user=user, role=role)
    if not check_rejectable(draft):
        return False
    draft.status = Status.REJECTED.value
    draft.rejected_by = user
    draft.reject_reason = reason
    draft.decided_at = now
    draft.updated_at = now
    return True


class Outbox:
    """Delivers approved drafts through the sender of their channel, with retries and WeCom's limits."""

    def __init__(self, *, senders: dict[str, Sender], max_attempts: int, backoff: float, metrics: Metrics) -> None:
        self.senders = senders
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.metrics = metrics

    def deliver(self, session: Session, *, draft_id: int, now: datetime) -> None:
        """Send an approved draft once; raise RetryLater for a failure worth another try."""
        draft = session.get(Draft, draft_id, with_for_update=True, populate_existing=True)
        if draft is None or draft.status != Status.APPROVED:
            return  # sent already, or no longer approved: nothing to do
        reply = approved_reply(draft)
        sender = self.senders.get(draft.channel)
        if sender is None:
            self._fail(draft, None, f"no sender is configured for channel {draft.channel!r}", now)
            return
        if draft.channel == "kf":
            block = kf_block(session, draft, now=now)
            if block:
                draft.status = Status.BLOCKED.value
                draft.send_errmsg = block
                draft.updated_at = now
                self.metrics.sends.labels("blocked").inc()
                log.info("draft %s blocked: %s", draft.id, block)
                return
        draft.send_attempts += 1
        try:
            sender.send(reply)
        except WeComError as exc:
            if exc.retryable and draft.send_attempts < self.max_attempts:
                draft.send_errcode, draft.send_errmsg = exc.errcode, exc.errmsg
                self.metrics.sends.labels("retry").inc()
                raise RetryLater(self.backoff * 2 ** (draft.send_attempts - 1), str(exc)) from exc
            self._fail(draft, exc.errcode, exc.errmsg, now)
            return
        draft.status = Status.SENT.value
        draft.sent_at = now
        draft.send_errcode = draft.send_errmsg = None
        draft.updated_at = now
        session.add(
            Message(
                channel=draft.channel, msg_id=f"reply:{reply.key}", direction="out", customer_id=draft.customer_id,
                customer_name=draft.customer_name, open_kfid=draft.open_kfid, staff_id=reply.approved_by,
                text=reply.text, draft_id=draft.id, created_at=now,
            )
        )
        self.metrics.sends.labels("sent").inc()
        log.info("draft %s sent (approved by %s)", draft.id, reply.approved_by)

    def _fail(self, draft: Draft, errcode: int | None, errmsg: str, now: datetime) -> None:
        draft.status = Status.SEND_FAILED.value
        draft.send_errcode = errcode
        draft.send_errmsg = errmsg
        draft.updated_at = now
        self.metrics.sends.labels("failed").inc()
        log.warning("draft %s send failed: %s %s", draft.id, errcode, errmsg)


def kf_block(session: Session, draft: Draft, *, now: datetime) -> str | None:
    """Why WeCom would refuse a kf reply to this draft's customer now (48 h / 5 messages), or None."""
    same_chat = (
        Message.channel == "kf",
        Message.customer_id == draft.customer_id,
        Message.open_kfid == draft.open_kfid,
    )
    last_in = session.scalar(select(func.max(Message.created_at)).where(*same_chat, Message.direction == "in"))
    replies = 0
    if last_in is not None:
        replies = session.scalar(
            select(func.count()).select_from(Message).where(*same_chat, Message.direction == "out", Message.created_at >= last_in)
        ) or 0
    return kf_send_block(last_customer_at=last_in, replies_since=replies, now=now)
