"""Try it without WeCom: a page where one person plays the customer and the staff member (demo channel only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.api.deps import RuntimeDep, SessionDep
from bot.api.schemas import ApproveIn, DraftOut, RejectIn
from bot.db.models import Draft, Message
from bot.drafts.lifecycle import OPEN
from bot.errors import TransitionError
from bot.services.intake import store_inbound
from bot.services.decisions import Decider
from bot.drafts.pipeline import Inbound
from bot.services.storable import storable_text
from bot.timefmt import zone_label
from bot.web import templates
from bot.wiring import Runtime

router = APIRouter(tags=["demo"])
DEMO_STAFF = "demo-staff"
DEMO_DECIDER = Decider(user=DEMO_STAFF, role="staff", surface="demo")


class DemoMessageIn(BaseModel):
    customer_id: str = Field("demo-customer", min_length=1, max_length=64)
    customer_name: str = Field("", max_length=64)
    text: str = Field(min_length=1, max_length=1000)
    persona: str | None = Field(None, max_length=64, description="the persona to draft in (a loaded one); default: the usual choice")


def persona_choices(runtime: Runtime) -> list[dict[str, str]]:
    """The loaded personas as the picker shows them: name and display name, the default first."""
    book, default = runtime.pipeline.book, runtime.settings.default_persona
    names = sorted(book.names(), key=lambda name: (name != default, name))
    return [{"name": name, "display_name": book.personas[name].display_name} for name in names]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "demo.html", {
            "personas": persona_choices(runtime), "default_persona": runtime.settings.default_persona,
            "timezone": runtime.settings.timezone, "zone_label": zone_label(runtime.settings.timezone, runtime.clock()),
        },
    )


@router.post("/demo/messages", status_code=202)
def customer_says(body: DemoMessageIn, session: SessionDep, runtime: RuntimeDep) -> dict:
    """The customer side: a new message in the demo chat, drafted in the chosen persona."""
    if body.persona is not None and body.persona not in runtime.pipeline.book.personas:
        known = "、".join(f"{p['name']}（{p['display_name']}）" for p in persona_choices(runtime))
        raise HTTPException(422, f"没有名为 {body.persona!r} 的人设；可选：{known}")
    inbound = Inbound(
        msg_id=uuid.uuid4().hex, channel="demo", customer_id=body.customer_id,
        text=body.text, customer_name=body.customer_name,
    )
    message_id = store_inbound(session, inbound, now=runtime.clock(), persona=body.persona)
    session.commit()
    runtime.worker.wake()
    return {"message_id": message_id}


@router.get("/demo/conversation")
def conversation(session: SessionDep, runtime: RuntimeDep, customer_id: str = "demo-customer") -> dict:
    """The demo chat as the customer sees it, and the drafts as the staff member sees them."""
    customer_id = storable_text(customer_id)  # as the customer's messages stored it
    messages = session.scalars(
        select(Message).where(Message.channel == "demo", Message.customer_id == customer_id).order_by(Message.id)
    )
    drafts = session.scalars(
        select(Draft).where(Draft.channel == "demo", Draft.customer_id == customer_id).order_by(Draft.id.desc()).limit(20)
    )
    return {
        "messages": [
            {"id": m.id, "direction": m.direction, "text": m.text, "created_at": m.created_at.isoformat(), "staff_id": m.staff_id}
            for m in messages
        ],
        "drafts": [
            DraftOut.of(d, runtime.outbox.checks(session, d, now=runtime.clock()) if d.status in OPEN else [],
                        names=runtime.pipeline.intent_name).model_dump(mode="json")
            for d in drafts
        ],
    }


def _demo_draft(session: Session, draft_id: int) -> Draft:
    draft = session.get(Draft, draft_id)
    if draft is None or draft.channel != "demo":
        raise HTTPException(404, f"找不到演示草稿 {draft_id}")
    return draft


@router.post("/demo/drafts/{draft_id}/approve")
def staff_approves(draft_id: int, body: ApproveIn, session: SessionDep, runtime: RuntimeDep) -> dict:
    """The staff side: approve (optionally edited); only demo-channel drafts, so no real customer is reached."""
    draft = _demo_draft(session, draft_id)
    try:
        runtime.decisions.approve(session, draft, by=DEMO_DECIDER, text=body.text, now=runtime.clock())
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    runtime.worker.wake()
    return DraftOut.of(draft, names=runtime.pipeline.intent_name).model_dump(mode="json")


@router.post("/demo/drafts/{draft_id}/reject")
def staff_rejects(draft_id: int, session: SessionDep, runtime: RuntimeDep, body: RejectIn | None = None) -> dict:
    draft = _demo_draft(session, draft_id)
    try:
        runtime.decisions.reject(session, draft, by=DEMO_DECIDER, reason=body.reason if body else None, now=runtime.clock())
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    return DraftOut.of(draft, names=runtime.pipeline.intent_name).model_dump(mode="json")
