"""The staff API: list, read, approve and reject drafts; take in messages from other sources."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.api.deps import CurrentUser, IntakeUser, RuntimeDep, SessionDep
from bot.api.schemas import ApproveIn, DraftOut, IntentCorrectionIn, MessageAccepted, MessageIn, RejectIn
from bot.db.models import Draft, Message
from bot.drafts.access import Principal, may_see
from bot.drafts.lifecycle import OPEN, Status
from bot.services.access import visible_drafts
from bot.errors import NotAllowed, TransitionError
from bot.services.intake import store_inbound
from bot.services.decisions import Decider
from bot.drafts.pipeline import Inbound
from bot.services.storable import storable_text
from bot.wiring import Runtime

router = APIRouter(prefix="/api", tags=["drafts"])


@router.get("/drafts", response_model=list[DraftOut])
def list_drafts(
    request: Request,
    response: Response,
    session: SessionDep,
    user: CurrentUser,
    runtime: RuntimeDep,
    status: Status | None = Query(None, description="only drafts in this state"),
    customer_id: str | None = Query(None),
    limit: int = Query(50, ge=1, le=500),
    before_id: str | None = Query(None, description="only drafts older than this id: the X-Next-Cursor of the previous page"),
) -> list[DraftOut]:
    """Drafts the user may see, newest first; `X-Next-Cursor` and `Link: rel="next"` name the next page, if any."""
    query = select(Draft).where(visible_drafts(user)).order_by(Draft.id.desc()).limit(limit + 1)
    if status:
        query = query.where(Draft.status == status.value)
    if customer_id:
        query = query.where(Draft.customer_id == customer_id)
    if before_id is not None:
        query = query.where(Draft.id < _cursor(before_id))
    drafts = list(session.scalars(query))
    if len(drafts) > limit:
        drafts = drafts[:limit]
        cursor = str(drafts[-1].id)
        following = request.url.include_query_params(before_id=cursor)
        response.headers["X-Next-Cursor"] = cursor
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return [_out(runtime, session, d) for d in drafts]


def _cursor(before_id: str) -> int:
    """The draft id a `before_id` cursor names; 422 with the reason for anything else."""
    if not before_id.isascii() or not before_id.isdigit() or int(before_id) < 1:
        raise HTTPException(422, f"before_id 应为正整数（上一页响应头 X-Next-Cursor 的值），收到的是 {before_id[:40]!r}")
    return int(before_id)


def _out(runtime: Runtime, session: Session, draft: Draft) -> DraftOut:
    """The draft with the checks staff should see before deciding (only while it is undecided)."""
    checks = runtime.outbox.checks(session, draft, now=runtime.clock()) if draft.status in OPEN else []
    return DraftOut.of(draft, checks, names=runtime.pipeline.intent_name)


def _decider(user: Principal) -> Decider:
    return Decider.of(user, "api")


def _load(session: Session, draft_id: int, user: Principal) -> Draft:
    draft = session.get(Draft, draft_id, with_for_update=True)
    if draft is None or not may_see(draft, user):
        raise HTTPException(404, f"没有草稿 {draft_id}（或它不归你处理）")
    return draft


@router.get("/drafts/{draft_id}", response_model=DraftOut)
def get_draft(draft_id: int, session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> DraftOut:
    return _out(runtime, session, _load(session, draft_id, user))


@router.post("/drafts/{draft_id}/approve", response_model=DraftOut)
def approve_draft(draft_id: int, body: ApproveIn, session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> DraftOut:
    """Approve the draft (or send `text` instead); the worker then delivers exactly that text."""
    draft = _load(session, draft_id, user)
    try:
        changed = runtime.decisions.approve(session, draft, by=_decider(user), text=body.text, now=runtime.clock())
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    if changed:
        runtime.worker.wake()
    return DraftOut.of(draft, names=runtime.pipeline.intent_name)


@router.post("/drafts/{draft_id}/reject", response_model=DraftOut)
def reject_draft(draft_id: int, session: SessionDep, user: CurrentUser, runtime: RuntimeDep, body: RejectIn | None = None) -> DraftOut:
    """Decide not to send the draft."""
    draft = _load(session, draft_id, user)
    try:
        runtime.decisions.reject(session, draft, by=_decider(user), reason=body.reason if body else None, now=runtime.clock())
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    return DraftOut.of(draft, names=runtime.pipeline.intent_name)


@router.post("/drafts/{draft_id}/intent", response_model=DraftOut)
def correct_intent(draft_id: int, body: IntentCorrectionIn, session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> DraftOut:
    """Record the intent the message really has; the console's learning inbox offers it as a new example."""
    draft = _load(session, draft_id, user)
    try:
        runtime.decisions.check_may_decide(draft, _decider(user))
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    known = runtime.pipeline.intents
    if body.intent not in known:
        raise HTTPException(422, f"没有意图 {body.intent}；可选的意图：{'、'.join(sorted(known))}")
    draft.corrected_intent = body.intent
    draft.corrected_by = user.user_id
    draft.updated_at = runtime.clock()
    session.commit()
    return DraftOut.of(draft, names=runtime.pipeline.intent_name)


@router.post("/messages", response_model=MessageAccepted, status_code=202)
def take_message(body: MessageIn, session: SessionDep, user: IntakeUser, runtime: RuntimeDep, response: Response) -> MessageAccepted:
    """Trusted intake (admins, intake tokens) of a customer message; its draft follows within moments.

    Deduplicated by channel and msg_id. Only `verified_customer` messages can make a promotional
    reply solicited: anything else keeps the opt-out, caps and quiet hours in force.
    """
    inbound = Inbound(
        msg_id=body.msg_id, channel=body.channel, customer_id=body.customer_id, text=body.text,
        msg_type=body.msg_type, customer_name=body.customer_name, open_kfid=body.open_kfid, staff_id=body.staff_id,
        from_customer=body.verified_customer or body.channel == "demo",
    )
    message_id = store_inbound(session, inbound, now=runtime.clock())
    session.commit()
    if message_id is None:
        response.status_code = 200
        existing = session.scalar(select(Message.id).where(Message.channel == body.channel, Message.msg_id == storable_text(body.msg_id)))
        return MessageAccepted(message_id=existing, duplicate=True)
    runtime.worker.wake()
    return MessageAccepted(message_id=message_id, duplicate=False)

