"""The outbox: human decisions on drafts, and delivery of exactly the approved text."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session


from bot.db.models import Draft, Message, OptOut
from bot.db.queue import enqueue
from bot.drafts.lifecycle import ApprovedReply, Status, approved_reply, check_may_decide, check_rejectable, plan_approval
from bot.errors import TransitionError, WeComError
from bot.metrics import Metrics
from bot.policy.dont_disturb import Customer, Rules, check_send
from bot.policy.kf_window import kf_send_block
from bot.policy.marketing import promotional_words
from bot.policy.sensitive import SensitiveWords

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Delivers an approved reply to the customer; raises WeComError when delivery fails."""

    def send(self, reply: ApprovedReply) -> None: ...


class RetryLater(Exception):
    """The job should run again after `delay` seconds."""

    def __init__(self, delay: float, reason: str) -> None:
        self.delay = delay
        super().__init__(reason)


def announce(session: Session, draft: Draft, *, now: datetime) -> None:
    """Queue an update of the staff's cards for a draft whose outcome is known (a no-op without cards)."""
    enqueue(session, kind="card_outcome", key=f"card:{draft.id}:{draft.status}:{now.timestamp()}",
            payload={"draft_id": draft.id}, now=now)


def approve(
    session: Session, draft: Draft, *, user: str, role: str, text: str | None, now: datetime,
    sensitive: SensitiveWords = SensitiveWords(),
) -> bool:
    """Record a human's approval of the draft (optionally edited) and queue its delivery.

    Returns False when the draft was already approved with this text (nothing changes, nothing is
    sent twice). Raises NotAllowed, TransitionError (also for sensitive words) or ValueError (empty text).
    """
    check_may_decide(draft, user=user, role=role)
    approval = plan_approval(draft, text)
    if not approval.changed:
        return False
    refusal = sensitive.reason(approval.final_text)
    if refusal:
        raise TransitionError(refusal)
    draft.status = Status.APPROVED.value
    draft.final_text = approval.final_text
    draft.approved_by = user
    draft.approved_at = now
    draft.decided_at = now
    draft.send_errcode = None
    draft.send_errmsg = None
    draft.updated_at = now
    if draft.channel != "archive":  # archive replies are inserted by staff from the chat sidebar
        enqueue(session, kind="send", key=f"send:{draft.id}:{uuid.uuid4().hex}", payload={"draft_id": draft.id}, now=now)
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
    announce(session, draft, now=now)
    return True


class Outbox:
    """Delivers approved drafts through the sender of their channel, with retries and WeCom's limits."""

    def __init__(
        self, *, senders: dict[str, Sender], max_attempts: int, backoff: float, metrics: Metrics,
        rules: Rules = Rules(), sensitive: SensitiveWords = SensitiveWords(),
    ) -> None:
        self.senders = senders
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.metrics = metrics
        self.rules = rules
        self.sensitive = sensitive

    def checks(self, session: Session, draft: Draft, *, now: datetime) -> list[dict]:
        """What would stop or delay this draft if it were approved now, each with a reason (shown before approval)."""
        found = []
        if draft.channel == "kf":
            block = kf_block(session, draft, now=now)
            if block:
                found.append({"code": "kf_window", "reason": block})
        verdict = check_send(promotional=is_promotional(draft), solicited=draft.solicited,
                             customer=customer_state(session, draft, now=now), now=now, rules=self.rules)
        if verdict.action != "send":
            found.append({"code": "dont_disturb", "reason": verdict.reason})
        sensitive = self.sensitive.reason(draft.final_text or draft.original_text)
        if sensitive:
            found.append({"code": "sensitive", "reason": sensitive})
        return found

    def deliver(self, session: Session, *, draft_id: int, now: datetime) -> None:
        """Send an approved draft once; raise RetryLater for a failure worth another try."""
        draft = session.get(Draft, draft_id, with_for_update=True, populate_existing=True)
        if draft is None or draft.status != Status.APPROVED:
            return  # sent already, or no longer approved: nothing to do
        reply = approved_reply(draft)
        sender = self.senders.get(draft.channel)
        if sender is None:
            self._fail(session, draft, None, f"渠道 {draft.channel} 没有配置发送方式", now)
            return
        verdict = check_send(promotional=is_promotional(draft), solicited=draft.solicited,
                             customer=customer_state(session, draft, now=now), now=now, rules=self.rules)
        if verdict.action == "hold":
            if not any(flag.get("code") == "held" for flag in draft.flags):
                draft.flags = [*draft.flags, {"code": "held", "reason": verdict.reason}]
            raise RetryLater((verdict.until - now).total_seconds(), verdict.reason or "held")
        block = verdict.reason if verdict.action == "block" else None
        if block is None and draft.channel == "kf":
            block = kf_block(session, draft, now=now)
        if block:
            draft.status = Status.BLOCKED.value
            draft.send_errmsg = block
            draft.updated_at = now
            self.metrics.sends.labels("blocked").inc()
            log.info("draft %s blocked: %s", draft.id, block)
            announce(session, draft, now=now)
            return
        draft.send_attempts += 1
        try:
            sender.send(reply)
        except WeComError as exc:
            if exc.retryable and draft.send_attempts < self.max_attempts:
                draft.send_errcode, draft.send_errmsg = exc.errcode, exc.errmsg
                self.metrics.sends.labels("retry").inc()
                raise RetryLater(self.backoff * 2 ** (draft.send_attempts - 1), str(exc)) from exc
            self._fail(session, draft, exc.errcode, exc.errmsg, now)
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
        announce(session, draft, now=now)

    def _fail(self, session: Session, draft: Draft, errcode: int | None, errmsg: str, now: datetime) -> None:
        draft.status = Status.SEND_FAILED.value
        draft.send_errcode = errcode
        draft.send_errmsg = errmsg
        draft.updated_at = now
        self.metrics.sends.labels("failed").inc()
        log.warning("draft %s send failed: %s %s", draft.id, errcode, errmsg)
        announce(session, draft, now=now)


def is_promotional(draft: Draft) -> bool:
    """Marketing by intent or wording, judged on the text that would actually go out (an edit can add a promotion)."""
    return draft.marketing or bool(promotional_words(draft.final_text or draft.original_text))


def customer_state(session: Session, draft: Draft, *, now: datetime) -> Customer:
    """The customer's opt-out and the unsolicited promotions they received recently (across all staff)."""
    latest = session.scalar(
        select(OptOut).where(OptOut.channel == draft.channel, OptOut.customer_id == draft.customer_id).order_by(OptOut.id.desc()).limit(1)
    )
    sent = session.scalars(
        select(Draft).where(
            Draft.channel == draft.channel, Draft.customer_id == draft.customer_id, Draft.solicited.is_(False),
            Draft.status == Status.SENT.value, Draft.sent_at >= now - timedelta(days=7), Draft.id != draft.id,
        )
    ).all()
    promos = [d.sent_at for d in sent if is_promotional(d)]
    return Customer(
        opted_out=bool(latest and latest.opted_out),
        opted_out_at=latest.created_at if latest and latest.opted_out else None,
        promos_last_day=sum(1 for at in promos if at >= now - timedelta(days=1)),
        promos_last_week=len(promos),
    )


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
