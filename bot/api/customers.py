"""Customers: the opt-out ledger (record, lift, read; rules in `bot.services.opt_outs`) and, for admins, the export and
deletion of their personal data (`bot.services.personal_data`)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from bot.api.deps import CurrentUser, CustomerManager, RuntimeDep, SessionDep
from bot.db.models import OptOut
from bot.errors import NotAllowed, TransitionError
from bot.services import opt_outs, personal_data

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
    query = select(OptOut).where(OptOut.channel == _channel(channel), OptOut.customer_id.in_(opt_outs.ledger_ids(channel, customer_id)))\
        .order_by(OptOut.id)  # also what is kept under the pseudonym once their data was deleted
    rows = list(session.scalars(query))
    return {
        "opted_out": bool(rows and rows[-1].opted_out),
        "history": [{"opted_out": r.opted_out, "recorded_by": r.recorded_by, "reason": r.reason, "at": r.created_at.isoformat()} for r in rows],
    }


# ----- personal data (admins): export and deletion ------------------------------------------------------


def _customer_id(customer_id: str) -> str:
    if not customer_id.strip() or len(customer_id) > 128:
        raise HTTPException(422, "客户 id 应为 1 到 128 个字符")
    return customer_id


@router.get("/customers/{channel}/{customer_id}/export")
def export_customer_data(channel: str, customer_id: str, session: SessionDep, user: CustomerManager,
                         runtime: RuntimeDep) -> dict:
    """Everything held about the customer as JSON (admins; audited); an unknown customer gets the same keys, empty."""
    data = personal_data.export_customer(session, _channel(channel), _customer_id(customer_id), actor=user.user_id,
                                         role=user.role, surface="api", now=runtime.clock())
    session.commit()
    return data


@router.delete("/customers/{channel}/{customer_id}")
def delete_customer_data(channel: str, customer_id: str, session: SessionDep, user: CustomerManager,
                         runtime: RuntimeDep) -> dict:
    """Delete the customer's data (admins; audited; idempotent): their opt-out stays under a one-way hash."""
    deletion = personal_data.erase_customer(session, _channel(channel), _customer_id(customer_id), actor=user.user_id,
                                            role=user.role, surface="api", now=runtime.clock())
    return {"channel": deletion.channel, "customer_id": deletion.customer_id, "deleted": not deletion.nothing,
            "counts": deletion.counts, "message": deletion.summary(), "warnings": deletion.warnings}
