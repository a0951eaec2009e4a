"""Customers: the opt-out ledger (record, lift, read); the rules live in `bot.services.opt_outs`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from bot.api.deps import CurrentUser, RuntimeDep, SessionDep
from bot.db.models import OptOut
from bot.errors import NotAllowed, TransitionError
from bot.services import opt_outs

router = APIRouter(prefix="/api", tags=["customers"])


class OptOutIn(BaseModel):
    reason: str = Field("", max_length=500, description="why; required from an admin who lifts an opt-out")


def _channel(channel: str) -> str:
    if channel not in opt_outs.CHANNELS:
        raise HTTPException(404, f"没有渠道 {channel}（可选：{'、'.join(opt_outs.CHANNELS)}）")
    return channel


@router.post("/customers/{channel}/{customer_id}/opt-out", status_code=201)
def record_opt_out(channel: str, customer_id: str, session: SessionDep, user: CurrentUser, runtime: RuntimeDep,
                   body: OptOutIn | None = None) -> dict:
    """Record that the customer wants no promotional messages (service replies still go out)."""
    state = opt_outs.record(session, channel=_channel(channel), customer_id=customer_id, who=user, surface="api",
                            reason=body.reason if body else "", now=runtime.clock())
    session.commit()
    return state.__dict__


@router.delete("/customers/{channel}/{customer_id}/opt-out")
def lift_opt_out(channel: str, customer_id: str, session: SessionDep, user: CurrentUser, runtime: RuntimeDep,
                 body: OptOutIn | None = None) -> dict:
    """Lift an opt-out: the customer's own only by an admin with a reason; a staff member's by them or an admin."""
    try:
        state = opt_outs.lift(session, channel=_channel(channel), customer_id=customer_id, who=user, surface="api",
                              reason=body.reason if body else "", now=runtime.clock())
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except TransitionError as exc:
        raise HTTPException(422, str(exc)) from None
    session.commit()
    return state.__dict__


@router.get("/customers/{channel}/{customer_id}/opt-out")
def opt_out_history(channel: str, customer_id: str, session: SessionDep, user: CurrentUser) -> dict:
    """The customer's opt-out now and every change, oldest first."""
    query = select(OptOut).where(OptOut.channel == _channel(channel), OptOut.customer_id == customer_id).order_by(OptOut.id)
    rows = list(session.scalars(query))
    return {
        "opted_out": bool(rows and rows[-1].opted_out),
        "history": [{"opted_out": r.opted_out, "recorded_by": r.recorded_by, "reason": r.reason, "at": r.created_at.isoformat()} for r in rows],
    }
