"""The draft lifecycle: states, legal transitions and the approved reply (who may decide: bot.drafts.access)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.errors import EmptyText, TransitionError


class Status(StrEnum):
    PENDING = "pending"            # drafted, waiting for a human
    NEEDS_MANUAL = "needs_manual"  # no usable draft: a human must write the reply
    APPROVED = "approved"          # a human approved this exact text; queued for sending
    SENT = "sent"
    SEND_FAILED = "send_failed"    # WeCom refused or could not be reached after retries
    BLOCKED = "blocked"            # a rule forbids sending (e.g. the 48 h kf window); nothing was sent
    REJECTED = "rejected"          # a human decided not to send
    SUPERSEDED = "superseded"      # the customer wrote again first; a newer draft covers the conversation
    ANSWERED_MANUALLY = "answered_manually"  # the staff member wrote the customer themselves (chat archive); final_text is what they sent


OPEN = (Status.PENDING, Status.NEEDS_MANUAL)
UNCERTAIN = "send_uncertain"  # the flag of a send whose outcome WeCom never told (timeout, 5xx)

# How staff say each status, e.g. in "草稿 12 已发送，不能再批准".
STATUS_NAMES = {
    Status.PENDING: "待回复",
    Status.NEEDS_MANUAL: "需人工回复",
    Status.APPROVED: "已批准",
    Status.SENT: "已发送",
    Status.SEND_FAILED: "发送失败",
    Status.BLOCKED: "已拦截",
    Status.REJECTED: "已选择不发",
    Status.SUPERSEDED: "已被客户的新消息取代",
    Status.ANSWERED_MANUALLY: "已人工回复",
}


class DraftLike(Protocol):
    """What the lifecycle reads of a draft (the storage model has these attributes)."""

    id: int
    status: str
    channel: str
    customer_id: str
    open_kfid: str | None
    assignee: str | None
    original_text: str
    final_text: str | None
    approved_by: str | None
    approved_at: datetime | None
    flags: list[dict[str, Any]]


@dataclass(frozen=True)
class ApprovedReply:
    """Exactly the text a named human approved, addressed to the draft's customer.

    The only thing a sender accepts; build it with approved_reply(draft).
    """

    draft_id: int
    channel: str
    customer_id: str
    open_kfid: str | None
    text: str
    approved_by: str
    key: str  # idempotency key of this approval, e.g. for WeCom's msgid


def status_name(status: str) -> str:
    """The staff's word for a status ("已发送"); an unknown value as it is."""
    try:
        return STATUS_NAMES[Status(status)]
    except ValueError:
        return status


def approved_reply(draft: DraftLike) -> ApprovedReply:
    """The reply to send for an approved draft; refuses anything a human has not approved."""
    if draft.status != Status.APPROVED:
        raise TransitionError(f"草稿 {draft.id} {status_name(draft.status)}，没有批准：不能发送")
    if not draft.approved_by or not draft.approved_at or not draft.final_text or not draft.final_text.strip():
        raise TransitionError(f"草稿 {draft.id} 没有批准人或批准的文字：不能发送")
    return ApprovedReply(
        draft_id=draft.id,
        channel=draft.channel,
        customer_id=draft.customer_id,
        open_kfid=draft.open_kfid,
        text=draft.final_text,
        approved_by=draft.approved_by,
        key=f"d{draft.id}-{int(draft.approved_at.timestamp() * 1000)}",
    )


def send_uncertain(draft: DraftLike) -> bool:
    """True when the last send failed without a clear answer: WeCom may have delivered it."""
    return draft.status == Status.SEND_FAILED and any(flag.get("code") == UNCERTAIN for flag in draft.flags or ())


@dataclass(frozen=True)
class Approval:
    """What an approve request does: `changed` is False for a repeated approval (a no-op)."""

    changed: bool
    final_text: str


def plan_approval(draft: DraftLike, edited_text: str | None) -> Approval:
    """Decide what approving `draft` (optionally with edited text) means, or refuse with a reason."""
    text = edited_text.strip() if edited_text is not None else None
    if text == "":
        raise EmptyText("修改后的文字为空")
    if draft.status in (Status.APPROVED, Status.SENT) and (text is None or text == draft.final_text):
        return Approval(changed=False, final_text=draft.final_text or "")  # a repeat: it names the text approved
    if draft.status == Status.APPROVED:
        raise TransitionError(f"草稿 {draft.id} 已按另一段文字批准，不能再改")
    if send_uncertain(draft) and text is not None and text != draft.final_text:
        raise TransitionError(
            f"草稿 {draft.id} 上次发送结果不明（企业微信可能已经收到），只能按原文重发，不能修改；"
            "重发不会让客户收到两次"
        )
    if draft.status == Status.SEND_FAILED:
        return Approval(changed=True, final_text=text or draft.final_text or draft.original_text)
    if draft.status not in OPEN:
        raise TransitionError(f"草稿 {draft.id} {status_name(draft.status)}，不能再批准")
    if draft.status == Status.NEEDS_MANUAL and text is None:
        raise TransitionError(f"草稿 {draft.id} 需要人工回复：请连同要发送的文字一起批准")
    return Approval(changed=True, final_text=text or draft.original_text)


def check_rejectable(draft: DraftLike) -> bool:
    """True if rejecting changes the draft, False for a repeated rejection; refuse otherwise."""
    if draft.status == Status.REJECTED:
        return False
    if draft.status not in (*OPEN, Status.SEND_FAILED, Status.BLOCKED):
        raise TransitionError(f"草稿 {draft.id} {status_name(draft.status)}，不能再选择不发")
    return True
