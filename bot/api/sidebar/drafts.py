"""The sidebar's JSON API: the open chat's drafts, the check before an insert, and recording it.

When is the reply approved, and when is it recorded? (the order that keeps "nothing unapproved
reaches a customer")

* draftbot does not send archive replies: `sendChatMessage` runs in the staff member's own WeCom
  client, which draftbot can neither perform nor stop. The staff member's own tap on 插入, with the
  text in front of them, IS the human approval of that exact text.
* So the page records the approval only after `sendChatMessage` reports `sendChatMessage:ok`:
  `POST /sidebar/api/drafts/{id}/sent` with exactly the inserted text calls `DraftDecisions.record_inserted`
  (the same rules as the staff API: who may decide, legal transitions, sensitive words; refusals
  are 409 with the API's reason) and marks the draft sent (status, sent_at, an outgoing Message)
  in one transaction. Recording first would leave "approved" or "sent" records for texts the staff
  member then cancelled, that failed, or that never left a phone that went to sleep; recording
  after success means every recorded send is one WeCom confirmed.
* Because inserting is sending, the checks that merely delay or block a kf reply in the outbox
  must stop an insert before it happens: the page first asks `POST .../check` with the exact text,
  a dry run of the approval (same 403/404/409/422 answers) that also refuses when a
  don't-disturb check (opt-out, caps, quiet hours for promotions) or a sensitive word applies. It
  answers the text exactly as it will be recorded, and that is the text the page inserts. Only
  then does the page call `sendChatMessage`.
* If recording fails after a successful insert (the customer wrote again and the draft was
  superseded in between, the network dropped, the session expired), the message is already in the
  chat: the page says so plainly, never offers to insert it again, offers to retry the record, and
  the server logs a warning naming the draft and the staff member. A repeated record of the same
  insert is answered 200 without change.

The sidebar is the signed-in person's own chat, so everyone (admins included) is treated with the
staff rule: drafts assigned to them or to nobody, channel "archive" only (a kf draft for the same
external user goes out through the kf account and must never be inserted here as well).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import and_, inspect, select
from sqlalchemy.orm import Session

from bot.api.deps import RuntimeDep, SessionDep
from bot.api.schemas import DraftOut, RejectIn
from bot.api.sidebar.auth import SidebarUser, SidebarUserDep, SidebarWriterDep
from bot.db.models import Draft
from bot.drafts.access import STAFF, Principal, may_see
from bot.drafts.lifecycle import OPEN, Status
from bot.errors import NotAllowed, TransitionError
from bot.services.access import visible_drafts
from bot.services.decisions import Decider
from bot.wiring import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["sidebar"])

CHANNEL = "archive"
SHOWN = (*OPEN, Status.APPROVED)  # approved archive drafts wait for someone to insert them


class InsertIn(BaseModel):
    text: str = Field(min_length=1, max_length=2048, description="exactly the text inserted into the chat")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("文字为空")
        return value


def _checks(runtime: Runtime, session: Session, draft: Draft) -> list[dict]:
    return runtime.outbox.checks(session, draft, now=runtime.clock()) if draft.status in SHOWN else []


def _out(runtime: Runtime, session: Session, draft: Draft) -> DraftOut:
    return DraftOut.of(draft, _checks(runtime, session, draft), names=runtime.pipeline.intent_name)


def _principal(user: SidebarUser) -> Principal:
    """Everyone acts with the staff rule here: see the module docstring (the sidebar is the person's own chat)."""
    return Principal(user.user_id, STAFF)


def _decider(user: SidebarUser) -> Decider:
    return Decider.of(_principal(user), "sidebar")


def _load(session: Session, draft_id: int, user: SidebarUser) -> Draft:
    draft = session.get(Draft, draft_id, with_for_update=True)
    if draft is None or not may_see(draft, _principal(user)):
        raise HTTPException(404, f"找不到草稿 {draft_id}（可能不归你处理）")
    if draft.channel != CHANNEL:
        raise HTTPException(409, f"草稿 {draft_id} 不是你单聊里的消息（渠道 {draft.channel}）：请到原渠道回复")
    return draft


@router.get("/sidebar/api/drafts", response_model=list[DraftOut], tags=["sidebar"],
            responses={422: {"description": "neither or both of customer_id and room_id"}})
def sidebar_drafts(
    session: SessionDep, runtime: RuntimeDep, user: SidebarUserDep,
    customer_id: str | None = Query(None, min_length=1, max_length=128, description="the external userid of the open 1:1 chat"),
    room_id: str | None = Query(None, min_length=1, max_length=128, description="the chatId of the open customer group"),
) -> list[DraftOut]:
    """The open chat's drafts waiting for this staff member (assigned to them or to nobody), newest first.

    A 1:1 chat (`customer_id`) shows that customer's drafts of their 1:1 chat; a customer group (`room_id`)
    the drafts of that group: a group draft goes out only inside its group.
    """
    if (customer_id is None) == (room_id is None):
        raise HTTPException(422, "请给出 customer_id（单聊的客户）或 room_id（客户群），只给一个")
    chat = Draft.room_id == room_id if room_id is not None else and_(Draft.customer_id == customer_id, Draft.room_id.is_(None))
    query = (
        select(Draft)
        .where(Draft.channel == CHANNEL, chat,
               Draft.status.in_([s.value for s in SHOWN]),
               visible_drafts(_principal(user)))
        .order_by(Draft.id.desc())
        .limit(20)
    )
    return [_out(runtime, session, d) for d in session.scalars(query)]


@router.get("/sidebar/api/drafts/{draft_id}", response_model=DraftOut, tags=["sidebar"])
def sidebar_draft(draft_id: int, session: SessionDep, runtime: RuntimeDep, user: SidebarUserDep) -> DraftOut:
    """One draft (the one a card pointed to), so the page can say which chat it belongs to."""
    draft = session.get(Draft, draft_id)
    if draft is None or not may_see(draft, _principal(user)):
        raise HTTPException(404, f"找不到草稿 {draft_id}（可能不归你处理）")
    return _out(runtime, session, draft)


def _as_if_sent(draft: Draft, text: str) -> Draft:
    """A detached copy of the draft carrying `text`, to run the checks on what would really go out."""
    copy = Draft(**{attr.key: getattr(draft, attr.key) for attr in inspect(Draft).column_attrs})
    copy.final_text = text
    return copy


def _refusal(exc: Exception) -> HTTPException:
    if isinstance(exc, NotAllowed):
        return HTTPException(403, str(exc))
    if isinstance(exc, TransitionError):
        return HTTPException(409, str(exc))
    return HTTPException(422, str(exc))


@router.post("/sidebar/api/drafts/{draft_id}/check", tags=["sidebar"])
def sidebar_check(draft_id: int, body: InsertIn, session: SessionDep, runtime: RuntimeDep, user: SidebarWriterDep) -> dict:
    """Before inserting: may this exact text go into the chat now? A dry run of the approval; changes nothing."""
    draft = _load(session, draft_id, user)
    try:
        final_text = runtime.decisions.final_text(draft, _decider(user), body.text)
    except TransitionError as exc:
        raise _refusal(exc) from None
    found = runtime.outbox.checks(session, _as_if_sent(draft, final_text), now=runtime.clock())
    if found:
        raise HTTPException(409, "；".join(str(c.get("reason")) for c in found))
    return {"draft_id": draft.id, "text": final_text}


@router.post("/sidebar/api/drafts/{draft_id}/sent", response_model=DraftOut, tags=["sidebar"])
def sidebar_sent(draft_id: int, body: InsertIn, session: SessionDep, runtime: RuntimeDep, user: SidebarWriterDep) -> DraftOut:
    """The staff member inserted `text` into the chat (sendChatMessage said ok): record it approved and sent by them."""
    draft = _load(session, draft_id, user)
    try:
        runtime.decisions.record_inserted(session, draft, by=_decider(user), text=body.text, now=runtime.clock())
    except TransitionError as exc:
        session.rollback()
        log.warning("draft %s: %s inserted a text into the chat that cannot be recorded: %s", draft_id, user.user_id, exc)
        raise _refusal(exc) from None
    session.commit()
    return DraftOut.of(draft, names=runtime.pipeline.intent_name)


@router.post("/sidebar/api/drafts/{draft_id}/reject", response_model=DraftOut, tags=["sidebar"])
def sidebar_reject(
    draft_id: int, session: SessionDep, runtime: RuntimeDep, user: SidebarWriterDep, body: RejectIn | None = None,
) -> DraftOut:
    """不发: decide not to send the draft."""
    draft = _load(session, draft_id, user)
    try:
        runtime.decisions.reject(session, draft, by=_decider(user), reason=body.reason if body else None, now=runtime.clock())
    except TransitionError as exc:
        raise _refusal(exc) from None
    session.commit()
    return DraftOut.of(draft, names=runtime.pipeline.intent_name)
