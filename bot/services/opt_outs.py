"""The opt-out ledger: who may record or lift a customer's opt-out, each change audited.

A customer's own 退订 (recorded by drafting from their message) holds against every role but one:
an admin may lift it with a written reason. Staff may lift only an opt-out they recorded
themselves (a mistake they correct), a supervisor also one their team recorded. Every record and
lift is an audit event (`bot.services.audit`) in the same transaction as the change; the customer's
id goes in the event's redactable customer fields, never in its detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.audit import customer_key

from bot.db.models import OptOut
from bot.drafts.access import ADMIN, Permission, Principal, check
from bot.errors import NotAllowed, TransitionError
from bot.services import audit

CUSTOMER = "customer"  # recorded_by of an opt-out the customer said themselves
CHANNELS = ("kf", "archive", "demo")
RECORDED, LIFTED = "opt_out", "opt_out_lifted"  # audit actions


@dataclass(frozen=True)
class OptOutState:
    channel: str
    customer_id: str
    opted_out: bool


def pseudonym(channel: str, customer_id: str) -> str:
    """What the ledger keeps instead of a deleted customer's id: one-way, so the same customer writing again is known."""
    return "sha256:" + customer_key(channel, customer_id)


def ledger_ids(channel: str, customer_id: str) -> tuple[str, str]:
    """The ids a customer's ledger rows may carry: their own, and its pseudonym once their data was deleted."""
    return customer_id, pseudonym(channel, customer_id)


def latest(session: Session, channel: str, customer_id: str) -> OptOut | None:
    """The customer's newest ledger row (also after their data was deleted): it says whether they are opted out."""
    return session.scalar(
        select(OptOut).where(OptOut.channel == channel, OptOut.customer_id.in_(ledger_ids(channel, customer_id)))
        .order_by(OptOut.id.desc()).limit(1)
    )


def check_may_lift(current: OptOut, *, who: Principal, reason: str) -> None:
    """Raise unless `who` may lift this opt-out (a reason is always needed from an admin)."""
    check(who, Permission.MANAGE_OPT_OUTS)
    if who.role == ADMIN:
        if not reason.strip():
            raise TransitionError("解除退订必须写明原因（reason），这会记入操作记录")
        return
    if current.recorded_by == CUSTOMER:
        raise NotAllowed("这是客户本人的退订：只有客户之后自己的话或管理员（写明原因）可以解除")
    if not who.oversees(current.recorded_by):
        raise NotAllowed(f"这条退订由 {current.recorded_by} 记录：只有记录人、其主管或管理员可以解除")


def record(session: Session, *, channel: str, customer_id: str, who: Principal, surface: str, reason: str,
           now: datetime) -> OptOutState:
    """Record that the customer wants no promotion (a staff member heard it); audited. The caller commits."""
    check(who, Permission.MANAGE_OPT_OUTS)
    session.add(OptOut(channel=channel, customer_id=customer_id, opted_out=True, recorded_by=who.user, reason=reason, created_at=now))
    audit.record(session, actor=who.user, role=who.role, surface=surface, action=RECORDED, subject="customer",
                 channel=channel, customer_id=customer_id, detail={"reason": reason}, now=now)
    return OptOutState(channel, customer_id, opted_out=True)


def record_customer_said(session: Session, *, channel: str, customer_id: str, words: str, now: datetime) -> OptOutState:
    """The customer asked in their own words (退订) to get no promotion: recorded at once, audited with their words."""
    session.add(OptOut(channel=channel, customer_id=customer_id, opted_out=True, recorded_by=CUSTOMER, reason=words,
                       created_at=now))
    audit.record(session, actor=CUSTOMER, role=CUSTOMER, surface="worker", action=RECORDED, subject="customer",
                 channel=channel, customer_id=customer_id, text=words, detail={"by": CUSTOMER}, now=now)
    return OptOutState(channel, customer_id, opted_out=True)


def lift(session: Session, *, channel: str, customer_id: str, who: Principal, surface: str, reason: str,
         now: datetime) -> OptOutState:
    """Lift the customer's opt-out if `who` may; a customer not opted out is left as is. The caller commits."""
    current = latest(session, channel, customer_id)
    if current is None or not current.opted_out:
        check(who, Permission.MANAGE_OPT_OUTS)
        return OptOutState(channel, customer_id, opted_out=False)
    check_may_lift(current, who=who, reason=reason)
    session.add(OptOut(channel=channel, customer_id=customer_id, opted_out=False, recorded_by=who.user, reason=reason,
                       created_at=now))
    audit.record(session, actor=who.user, role=who.role, surface=surface, action=LIFTED, subject="customer",
                 channel=channel, customer_id=customer_id, now=now,
                 detail={"reason": reason, "recorded_by": current.recorded_by,
                         "what": "解除客户本人的退订" if current.recorded_by == CUSTOMER else "解除退订"})
    return OptOutState(channel, customer_id, opted_out=False)
