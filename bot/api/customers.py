"""Customers: the opt-out ledger (staff record or lift an opt-out; the customer's own 退订 is recorded by drafting)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.api.deps import CurrentUser, RuntimeDep, SessionDep
from bot.db.models import OptOut
from bot.db.tokens import User

router = APIRouter(prefix="/api", tags=["customers"])


class OptOutIn(BaseModel):
    reason: str = Field("", max_length=500)


@router.post("/customers/{channel}/{customer_id}/opt-out", status_code=201)
def record_opt_out(channel: str, customer_id: str, session: SessionDep, user: CurrentUser, runtime: RuntimeDep, body: OptOutIn | None = None) -> dict:
    """Record that the customer wants no promotional messages (service replies still go out)."""
    return _ledger(session, runtime, channel, customer_id, user, opted_out=True, reason=body.reason if body else "")


@router.delete("/customers/{channel}/{customer_id}/opt-out")
def lift_opt_out(channel: str, customer_id: str, session: SessionDep, user: CurrentUser, runtime: RuntimeDep, body: OptOutIn | None = None) -> dict:
    """Lift an opt-out, e.g. when the customer asks to hear about deals again."""
    return _ledger(session, runtime, channel, customer_id, user, opted_out=False, reason=body.reason if body else "")


@router.get("/customers/{channel}/{customer_id}/opt-out")
def opt_out_history(channel: str, customer_id: str, session: SessionDep, user: CurrentUser) -> dict:
    rows = list(session.scalars(select(OptOut).where(OptOut.channel == channel, OptOut.customer_id == customer_id).order_by(OptOut.id)))
    return {
        "opted_out": bool(rows and rows[-1].opted_out),
        "history": [{"opted_out": r.opted_out, "recorded_by": r.recorded_by, "reason": r.reason, "at": r.created_at.isoformat()} for r in rows],
    }


def _ledger(session: Session, runtime, channel: str, customer_id: str, user: User, *, opted_out: bool, reason: str) -> dict:  # noqa: ANN001
    if channel not in ("kf", "archive", "demo"):
        raise HTTPException(404, f"no channel {channel!r}")
    session.add(OptOut(channel=channel, customer_id=customer_id, opted_out=opted_out, recorded_by=user.user_id,
                       reason=reason, created_at=runtime.clock()))
    session.commit()
    return {"channel": channel, "customer_id": customer_id, "opted_out": opted_out}
