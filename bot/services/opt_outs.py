"""The opt-out ledger: who may record or lift a customer's opt-out, each change audited.

A customer's own 退订 (recorded by drafting from their message) holds against every role but one:
an admin may lift it with a written reason. Staff may lift only an opt-out they recorded
themselves (a mistake they correct). Every record and lift is an audit event in the same
transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.audit import customer_key

from bot.db.models import AuditLog, Draft, OptOut
from bot.errors import NotAllowed, TransitionError

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


def check_may_lift(current: OptOut, *, user: str, role: str, reason: str) -> None:
    """Raise unless `user` may lift this opt-out (a reason is always needed from staff and admins)."""
    if role == "admin":
        if not reason.strip():
            raise TransitionError("解除退订必须写明原因（reason），这会记入操作记录")
        return
    if current.recorded_by == CUSTOMER:
        raise NotAllowed("这是客户本人的退订：只有客户之后自己的话或管理员（写明原因）可以解除")
    if current.recorded_by != user:
        raise NotAllowed(f"这条退订由 {current.recorded_by} 记录：只有记录人或管理员可以解除")


def record(session: Session, *, channel: str, customer_id: str, user: str, reason: str, now: datetime) -> OptOutState:
    """Record that the customer wants no promotion (a staff member heard it); audited. The caller commits."""
    session.add(OptOut(channel=channel, customer_id=customer_id, opted_out=True, recorded_by=user, reason=reason, created_at=now))
    _audit(session, RECORDED, user=user, channel=channel, customer_id=customer_id, reason=reason, now=now)
    return OptOutState(channel, customer_id, opted_out=True)


def lift(session: Session, *, channel: str, customer_id: str, user: str, role: str, reason: str, now: datetime) -> OptOutState:
    """Lift the customer's opt-out if `user` may; a customer not opted out is left as is. The caller commits."""
    current = latest(session, channel, customer_id)
    if current is None or not current.opted_out:
        return OptOutState(channel, customer_id, opted_out=False)
    check_may_lift(current, user=user, role=role, reason=reason)
    session.add(OptOut(channel=channel, customer_id=customer_id, opted_out=False, recorded_by=user, reason=reason, created_at=now))
    _audit(session, LIFTED, user=user, channel=channel, customer_id=customer_id, reason=reason, now=now,
           lifted=current.recorded_by)
    return OptOutState(channel, customer_id, opted_out=False)


def _audit(session: Session, action: str, *, user: str, channel: str, customer_id: str, reason: str, now: datetime,
           lifted: str | None = None) -> None:
    said = "客户本人的退订" if lifted == CUSTOMER else "退订"
    name = session.scalar(  # as staff know them (the name on their drafts); the id stays beside it
        select(Draft.customer_name).where(Draft.channel == channel, Draft.customer_id == customer_id, Draft.customer_name != "")
        .order_by(Draft.id.desc()).limit(1)
    )
    who = f"{name}（{channel}/{customer_id}）" if name else f"{channel}/{customer_id}"
    what = f"客户 {who}：{'解除' + said if action == LIFTED else '记录退订'}" + (f"（原因：{reason}）" if reason else "")
    detail = {"what": what, "channel": channel, "customer_id": customer_id, "customer_name": name or "", "reason": reason}
    if lifted is not None:
        detail["recorded_by"] = lifted
    session.add(AuditLog(at=now, actor=user, action=action, version=None, detail=detail))
