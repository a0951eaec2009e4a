"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.db.models import Draft


class DraftOut(BaseModel):
    """A draft as the API shows it: what the customer said, the draft, and what humans decided."""

    id: int
    message_id: int
    status: str
    channel: str
    customer_id: str
    customer_name: str
    open_kfid: str | None
    assignee: str | None
    message_text: str
    intent: str | None
    intent_name: str | None = None  # what staff call the intent (its display name, 退款退货); None without an intent
    intents: list[str] = []  # every intent the draft answers, the primary (`intent`) first
    intent_names: dict[str, str] = {}  # the display name of every intent the draft mentions (runners-up, correction)
    confidence: float | None
    runners_up: list
    persona: str
    template: str | None
    text: str
    final_text: str | None
    marketing: bool
    solicited: bool
    urgent: bool
    superseded_by: int | None
    entities: dict
    flags: list
    checks: list = []
    manual_reason: str | None
    approved_by: str | None
    approved_at: datetime | None
    rejected_by: str | None
    reject_reason: str | None
    sent_at: datetime | None
    send_errcode: int | None
    send_errmsg: str | None
    corrected_intent: str | None = None
    corrected_by: str | None = None
    answer_id: str | None = None  # the brand answer (intents/<intent>.yml `answers:`) the draft says
    room_id: str | None = None  # a customer group's draft (chat archive): the group it answers in
    group: bool = False  # a group draft: it goes out only from the sidebar inside that group
    created_at: datetime

    @classmethod
    def of(cls, draft: Draft, checks: list | None = None, *, names: Callable[[str | None], str] | None = None) -> "DraftOut":
        """The draft; `checks` are what would stop or delay it if approved now (for undecided drafts).

        `names` gives an intent's display name (`Pipeline.intent_name`); without it `intent_name` is the id.
        """
        fields = {name: getattr(draft, name) for name in cls.model_fields
                  if name not in ("text", "checks", "intent_name", "intent_names", "intents", "group")}
        name = names or (lambda intent: intent or "")
        answered = list(draft.intents or ([draft.intent] if draft.intent else []))
        mentioned = [*answered, draft.corrected_intent, *(pair[0] for pair in draft.runners_up or [] if pair)]
        return cls(text=draft.original_text, checks=checks or [], intent_name=name(draft.intent) if draft.intent else None,
                   intents=answered, group=bool(draft.room_id),
                   intent_names={i: name(i) for i in mentioned if isinstance(i, str) and i}, **fields)


class ApproveIn(BaseModel):
    text: str | None = Field(None, max_length=2048, description="the edited text to send instead of the draft")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("修改后的文字为空：不改就不要传 text，按草稿原文发送")
        return value


class IntentCorrectionIn(BaseModel):
    """The intent the customer's message really has, as a staff member judges it."""

    intent: str = Field(min_length=1, max_length=64, description="an intent name, e.g. refund_return")


class RejectIn(BaseModel):
    reason: str | None = Field(None, max_length=500)


class MessageIn(BaseModel):
    """A customer message from another source (chat archive, another pipeline, the demo)."""

    channel: Literal["kf", "archive", "demo"]
    customer_id: str = Field(min_length=1, max_length=128)
    text: str = Field(max_length=4096)
    msg_id: str = Field(min_length=1, max_length=128)
    staff_id: str | None = Field(None, max_length=128)
    customer_name: str = Field("", max_length=128)
    open_kfid: str | None = Field(None, max_length=128, description="required for channel kf")
    msg_type: str = Field("text", max_length=32)
    verified_customer: bool = Field(
        False, description="the customer's own words, as the customer sent them: only then can a promotional reply "
        "to this message count as solicited (skipping the opt-out, caps and quiet hours)",
    )

    @model_validator(mode="after")
    def _kf_needs_account(self) -> "MessageIn":
        if self.channel == "kf" and not self.open_kfid:
            raise ValueError("channel kf needs open_kfid (the kf account to reply from)")
        return self


class MessageAccepted(BaseModel):
    message_id: int | None
    duplicate: bool


class ErrorOut(BaseModel):
    """Every refusal of the API: `detail` is the reason, in Chinese for staff."""

    detail: str = Field(description="why the request was refused, e.g. 草稿 12 已发送，不能再批准")


class FieldProblem(BaseModel):
    """One thing wrong with a request: where (`loc`, e.g. ["path", "draft_id"]), what kind (`type`) and why."""

    loc: list[str | int]
    type: str
    msg: str


class ValidationErrorOut(ErrorOut):
    """A request that does not fit the API (422): `detail` says why in Chinese, `errors` lists each problem."""

    errors: list[FieldProblem] = Field(default_factory=list, description="each problem; empty when refused for another reason")
