"""GET /api/audit: the audit trail for admins (everything) and supervisors (their team's actions), filtered and paged."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel

from bot.api.deps import AuditReader, RuntimeDep, SessionDep
from bot.db.models import AuditLog
from bot.drafts.access import Principal
from bot.errors import Refused
from bot.services import audit

router = APIRouter(prefix="/api", tags=["audit"])
CHANNELS = ("kf", "archive", "demo")


class AuditEventOut(BaseModel):
    """One event: who (actor, role) did what (action, its Chinese name) from where (surface) to what (subject)."""

    id: int
    at: datetime
    actor: str
    role: str
    surface: str
    action: str
    action_name: str
    subject: str
    version: int | None
    channel: str | None
    customer_id: str | None  # None once the customer's data was deleted (customer_key stays)
    customer_key: str | None
    text: str | None  # the exact text approved or sent, or the customer's words; None once redacted
    text_sha256: str | None
    redacted_at: datetime | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, event: AuditLog) -> AuditEventOut:
        return cls(id=event.id, at=event.at, actor=event.actor, role=event.role, surface=event.surface,
                   action=event.action, action_name=audit.action_name(event.action), subject=event.subject,
                   version=event.version, channel=event.channel, customer_id=event.customer_id,
                   customer_key=event.customer_key, text=event.text, text_sha256=event.text_sha256,
                   redacted_at=event.redacted_at, detail=event.detail or {}, prev_hash=event.prev_hash, hash=event.hash)


def parse_filters(who: Principal, *, zone: str, actor: str | None = None, action: str | None = None,
                  channel: str | None = None, customer_id: str | None = None, since: str | None = None,
                  until: str | None = None) -> audit.Filters:
    """The filters of a request, limited to what `who` may read; raises Refused with the reason in Chinese."""
    if action and action not in audit.ACTION_NAMES:
        raise Refused(f"没有这种操作类型：{action[:40]}（可选：{'、'.join(audit.ACTION_NAMES)}）")
    if channel and channel not in CHANNELS:
        raise Refused(f"没有渠道 {channel[:20]}（可选：{'、'.join(CHANNELS)}）")
    if customer_id and not channel:
        raise Refused("按客户筛选时要同时给出渠道（channel：kf、archive 或 demo）")
    first, last = _day(since, "since"), _day(until, "until")
    if first and last and first > last:
        raise Refused(f"开始日期 {first} 晚于结束日期 {last}")
    return audit.Filters(actor=actor or None, action=action or None, channel=channel or None,
                         customer_id=customer_id or None, since=first, until=last, zone=zone, actors=who.people())


def parse_cursor(before_id: str | None) -> int | None:
    """The event id a `before_id` cursor names; Refused for anything else."""
    if before_id is None or before_id == "":
        return None
    if not before_id.isascii() or not before_id.isdigit() or not 1 <= int(before_id) <= 2**31 - 1:
        raise Refused(f"before_id 应为正整数（上一页响应头 X-Next-Cursor 的值），收到的是 {before_id[:40]!r}")
    return int(before_id)


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Refused(f"{name} 应为日期，例如 2026-12-05，收到的是 {value[:40]!r}") from None


@router.get("/audit", response_model=list[AuditEventOut])
def list_audit(
    request: Request,
    response: Response,
    session: SessionDep,
    user: AuditReader,
    runtime: RuntimeDep,
    actor: str | None = Query(None, max_length=128, description="only this person's actions"),
    action: str | None = Query(None, max_length=32, description="only this action: approved, rejected, opt_out, publish..."),
    channel: str | None = Query(None, max_length=16, description="only events about customers of this channel"),
    customer_id: str | None = Query(None, max_length=128, description="only events about this customer (with channel)"),
    since: str | None = Query(None, description="from this day on (YYYY-MM-DD, DRAFTBOT_TIMEZONE)"),
    until: str | None = Query(None, description="up to and including this day (YYYY-MM-DD)"),
    limit: int = Query(100, ge=1, le=500),
    before_id: str | None = Query(None, description="only events older than this id: the X-Next-Cursor of the previous page"),
) -> list[AuditEventOut]:
    """Audit events, newest first; `X-Next-Cursor` and `Link: rel="next"` name the next page, if any.

    A supervisor reads the actions of their team and their own.
    """
    try:
        filters = parse_filters(user, zone=runtime.settings.timezone, actor=actor, action=action, channel=channel,
                                customer_id=customer_id, since=since, until=until)
        cursor = parse_cursor(before_id)
    except Refused as exc:
        raise HTTPException(422, str(exc)) from None
    found = audit.events(session, filters, limit=limit + 1, before_id=cursor)
    if len(found) > limit:
        found = found[:limit]
        following = request.url.include_query_params(before_id=str(found[-1].id))
        response.headers["X-Next-Cursor"] = str(found[-1].id)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return [AuditEventOut.of(event) for event in found]
