"""The outbox: delivery of exactly the text a human approved, once, within WeCom's and the brand's limits."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session


from bot.db.models import Draft, Message
from bot.drafts.lifecycle import UNCERTAIN, ApprovedReply, Status, approved_reply
from bot.errors import RetryLater, WeComError
from bot.metrics import Metrics
from bot.policy.dont_disturb import Customer, Rules, check_send
from bot.policy.kf_window import kf_send_block
from bot.policy.marketing import promotional_words
from bot.policy.sensitive import SensitiveWords
from bot.services import opt_outs
from bot.services.decisions import WORKER, announce, record_decision

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Delivers an approved reply to the customer; raises WeComError when delivery fails."""

    def send(self, reply: ApprovedReply) -> None: ...


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

    def checks(self, session: Session, draft: Draft, *, now: datetime) -> list[dict[str, str]]:
        """What would stop or delay this draft if it were approved now, each with a reason (shown before approval)."""
        found: list[dict[str, str]] = []
        if draft.channel == "kf":
            block = kf_block(session, draft, now=now)
            if block:
                found.append({"code": "kf_window", "reason": block})
        verdict = check_send(promotional=is_promotional(draft), solicited=draft.solicited,
                             customer=customer_state(session, draft, now=now), now=now, rules=self.rules)
        if verdict.action != "send":
            found.append({"code": "dont_disturb", "reason": verdict.reason or "不打扰规则不允许现在发送"})
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
            self._fail(session, draft, None, f"渠道 {draft.channel} 没有配置发送方式", now, uncertain=False)
            return
        verdict = check_send(promotional=is_promotional(draft), solicited=draft.solicited,
                             customer=customer_state(session, draft, now=now), now=now, rules=self.rules)
        if verdict.action == "hold":
            if not any(flag.get("code") == "held" for flag in draft.flags):
                draft.flags = [*draft.flags, {"code": "held", "reason": verdict.reason}]
                record_decision(session, draft, by=WORKER, action="held", now=now, detail={
                    "reason": verdict.reason or "", "until": verdict.until.isoformat() if verdict.until else None})
            raise RetryLater(((verdict.until or now) - now).total_seconds(), verdict.reason or "held")  # a hold names its end
        block = verdict.reason if verdict.action == "block" else None
        if block is None and draft.channel == "kf":
            block = kf_block(session, draft, now=now)
        if block:
            draft.status = Status.BLOCKED.value
            draft.send_errmsg = block
            draft.updated_at = now
            self.metrics.sends.labels("blocked").inc()
            log.info("draft %s blocked: %s", draft.id, block)
            record_decision(session, draft, by=WORKER, action="blocked", now=now, detail={"reason": block})
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
            self._fail(session, draft, exc.errcode, exc.errmsg, now, uncertain=exc.retryable)
            return
        draft.flags = [flag for flag in draft.flags if flag.get("code") != UNCERTAIN]
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
        record_decision(session, draft, by=WORKER, action="sent", text=reply.text, now=now,
                        detail={"approved_by": reply.approved_by, "msgid": reply.key, "attempts": draft.send_attempts})
        announce(session, draft, now=now)

    def _fail(
        self, session: Session, draft: Draft, errcode: int | None, errmsg: str, now: datetime, *, uncertain: bool,
    ) -> None:
        """Give up on the draft; a failure without a clear answer from WeCom is marked uncertain.

        WeCom may have delivered an uncertain send (a timeout after it accepted the message): a new
        approval then keeps the text and the msgid, so WeCom drops the repeat instead of sending twice.
        """
        draft.status = Status.SEND_FAILED.value
        draft.send_errcode = errcode
        draft.send_errmsg = errmsg
        draft.updated_at = now
        flags = [flag for flag in draft.flags if flag.get("code") != UNCERTAIN]
        if uncertain:
            flags.append({"code": UNCERTAIN, "reason": "发送结果不明：企业微信可能已经收到。再次批准只能按原文重发，客户不会收到两次"})
        draft.flags = flags
        self.metrics.sends.labels("failed").inc()
        log.warning("draft %s send failed: %s %s", draft.id, errcode, errmsg)
        record_decision(session, draft, by=WORKER, action="failed", now=now,
                        detail={"errcode": errcode, "errmsg": errmsg, "uncertain": uncertain, "attempts": draft.send_attempts})
        announce(session, draft, now=now)


def is_promotional(draft: Draft) -> bool:
    """Marketing by intent or wording, judged on the text that would actually go out (an edit can add a promotion)."""
    return draft.marketing or bool(promotional_words(draft.final_text or draft.original_text))


def customer_state(session: Session, draft: Draft, *, now: datetime) -> Customer:
    """The customer's opt-out and the unsolicited promotions they received recently (across all staff)."""
    latest = opt_outs.latest(session, draft.channel, draft.customer_id)  # also after their data was deleted
    sent = session.scalars(
        select(Draft).where(
            Draft.channel == draft.channel, Draft.customer_id.in_(opt_outs.ledger_ids(draft.channel, draft.customer_id)),
            Draft.solicited.is_(False),
            Draft.status == Status.SENT.value, Draft.sent_at >= now - timedelta(days=7), Draft.id != draft.id,
        )
    ).all()
    promos = [d.sent_at for d in sent if d.sent_at is not None and is_promotional(d)]
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
