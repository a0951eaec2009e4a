"""The append-only audit trail: one write function, a hash chain, redaction, reading and verification.

Every event is written by `record(...)` in the same transaction as the change it records. Appends
are serialised on every database by the single-row head `audit_head` (id 1): `record` first takes
its write lock (`UPDATE audit_head SET last_id = last_id WHERE id = 1`), reads the newest hash,
inserts the event, computes its hash and moves the head. So parallel requests, in threads or in
instances sharing PostgreSQL, always make one unbroken chain.

The head's lock is held until the caller commits, so call `record` after the rows the event is about
are changed (locked) in the transaction, and commit soon: a transaction that took the head first and
then waits for a row another one holds would deadlock with it.

An event's hash covers everything but the redactable fields (`customer_id`, `text`, `redacted_at`):
redacting a customer (`redact_customer`) keeps the chain whole, and `verify` still checks that a
remaining text matches `text_sha256` and a remaining customer id matches `customer_key`.

>>> customer_key("kf", "wmAbc") == hashlib.sha256(b"kf:wmAbc").hexdigest()
True
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, select, text as sql, update
from sqlalchemy.orm import Session

from bot.db.models import AuditHead, AuditLog

GENESIS = "0" * 64  # the prev_hash of the first event
HEAD_ID = 1
SURFACES = ("api", "card", "chat", "sidebar", "console", "cli", "worker", "callback", "demo")
SYSTEM = "system"  # the actor of what the service does by itself (drafting, the worker)

# How staff and admins read each action (console, CLI, CSV); an unknown action shows as it is.
ACTION_NAMES = {
    "approved": "批准发送",
    "rejected": "选择不发",
    "inserted": "从侧边栏插入聊天",
    "answered_manually": "员工手动回复",
    "superseded": "被客户新消息取代",
    "blocked": "拦截发送",
    "held": "免打扰暂缓",
    "sent": "已发送",
    "failed": "发送失败",
    "escalated": "升级给管理员",
    "opt_out": "记录退订",
    "opt_out_lifted": "解除退订",
    "token_created": "创建令牌",
    "token_revoked": "吊销令牌",
    "account_created": "创建后台账号",
    "account_updated": "修改后台账号",
    "account_disabled": "停用后台账号",
    "team_set": "设置主管团队",
    "customer_exported": "导出客户数据",
    "customer_deleted": "删除客户数据",
    "retention_redacted": "按保留期限删除文字",
    "initial": "初始版本",
    "publish": "发布",
    "import": "导入",
    "rollback": "回滚",
    "edit": "编辑草稿",
    "discard": "放弃草稿",
    "refused": "发布被拒",
    "inbox_dismiss": "忽略待学习消息",
}
SURFACE_NAMES = {
    "api": "接口", "card": "应用消息卡片", "chat": "应用聊天指令", "sidebar": "聊天侧边栏", "console": "管理后台",
    "cli": "命令行", "worker": "后台任务", "callback": "企业微信回调", "demo": "演示页面", "": "",
}
ROLE_NAMES = {"staff": "员工", "supervisor": "主管", "admin": "管理员", "intake": "接入", "system": "系统", "": ""}


def action_name(action: str) -> str:
    """The Chinese name of an action ("approved" → "批准发送"); an unknown action as it is."""
    return ACTION_NAMES.get(action, action)


def customer_key(channel: str, customer_id: str) -> str:
    """The permanent one-way key of a customer: sha256 hex of "channel:customer_id"."""
    return hashlib.sha256(f"{channel}:{customer_id}".encode()).hexdigest()


def text_sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def event_hash(event: AuditLog) -> str:
    """The hash of an event: sha256 of the canonical JSON of every field but the redactable ones."""
    body = {
        "id": event.id, "at": _iso(event.at), "actor": event.actor, "role": event.role, "surface": event.surface,
        "action": event.action, "subject": event.subject, "version": event.version, "detail": event.detail or {},
        "channel": event.channel, "customer_key": event.customer_key, "text_sha256": event.text_sha256,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session, *, actor: str, role: str, surface: str, action: str, subject: str = "",
    channel: str | None = None, customer_id: str | None = None, text: str | None = None,
    detail: dict[str, Any] | None = None, version: int | None = None, now: datetime,
) -> AuditLog:
    """Append one event to the trail, in the caller's transaction (the caller commits).

    `detail` never holds customer words or ids: those go in `text` and `customer_id`, which
    deletion and retention can redact.
    """
    locked = session.execute(sql("UPDATE audit_head SET last_id = last_id WHERE id = 1"))
    if getattr(locked, "rowcount", 1) == 0:  # a database made before the head existed (never after migration 0011)
        session.add(AuditHead(id=HEAD_ID, last_id=0, last_hash=GENESIS))
        session.flush()
    last_hash = session.execute(select(AuditHead.last_hash).where(AuditHead.id == HEAD_ID)).scalar_one()
    event = AuditLog(
        at=now, actor=actor[:128], role=role[:16], surface=surface[:16], action=action[:32], subject=subject[:64],
        version=version, detail=dict(detail or {}), channel=channel,
        customer_id=customer_id if channel is not None else None,
        customer_key=customer_key(channel, customer_id) if channel is not None and customer_id is not None else None,
        text=text, text_sha256=text_sha256(text) if text is not None else None,
        prev_hash=last_hash or GENESIS, hash="pending-" + secrets.token_hex(24),
    )
    session.add(event)
    session.flush()
    event.hash = event_hash(event)
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_id=event.id, last_hash=event.hash))
    session.flush()
    return event


def redact_customer(session: Session, channel: str, customer_id: str, now: datetime) -> int:
    """Clear the customer's id and text from every event about them; returns how many events changed.

    The facts (who did what, when) and the permanent `customer_key` stay; the chain stays whole.
    The caller commits.
    """
    result = session.execute(
        update(AuditLog)
        .where(AuditLog.customer_key == customer_key(channel, customer_id),
               (AuditLog.customer_id.is_not(None)) | (AuditLog.text.is_not(None)))
        .values(customer_id=None, text=None, redacted_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def redact_text_before(session: Session, cutoff: datetime, now: datetime, *, limit: int = 500) -> int:
    """Clear event texts older than `cutoff` (retention), at most `limit` events; returns how many changed."""
    ids = list(session.scalars(
        select(AuditLog.id).where(AuditLog.at < cutoff, AuditLog.text.is_not(None)).order_by(AuditLog.id).limit(limit)
    ))
    if not ids:
        return 0
    session.execute(update(AuditLog).where(AuditLog.id.in_(ids)).values(text=None, redacted_at=now)
                    .execution_options(synchronize_session=False))
    return len(ids)


# ----- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What to read: every field optional. `actors` limits the trail to some people (a supervisor's team)."""

    actor: str | None = None
    action: str | None = None
    channel: str | None = None
    customer_id: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive: the whole day
    zone: str = "UTC"  # the day boundaries' time zone
    actors: frozenset[str] | None = None


def _day_start(day: date, zone: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def _where(filters: Filters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.actor:
        clauses.append(AuditLog.actor == filters.actor)
    if filters.action:
        clauses.append(AuditLog.action == filters.action)
    if filters.customer_id is not None and filters.channel is not None:
        clauses.append(AuditLog.customer_key == customer_key(filters.channel, filters.customer_id))
    elif filters.channel is not None:
        clauses.append(AuditLog.channel == filters.channel)
    if filters.since is not None:
        clauses.append(AuditLog.at >= _day_start(filters.since, filters.zone))
    if filters.until is not None:
        clauses.append(AuditLog.at < _day_start(filters.until + timedelta(days=1), filters.zone))
    if filters.actors is not None:
        clauses.append(AuditLog.actor.in_(sorted(filters.actors)))
    return clauses


def events(session: Session, filters: Filters, *, limit: int = 100, before_id: int | None = None) -> list[AuditLog]:
    """Events matching `filters`, newest first, at most `limit`, older than `before_id` when given."""
    query = select(AuditLog).where(*_where(filters)).order_by(AuditLog.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    return list(session.scalars(query))


def all_events(session: Session, filters: Filters, *, batch: int = 1000) -> Iterator[AuditLog]:
    """Every matching event, newest first, read in batches (for exports)."""
    before: int | None = None
    while True:
        page = events(session, filters, limit=batch, before_id=before)
        yield from page
        if len(page) < batch:
            return
        before = page[-1].id


# ----- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the chain: `broken_id` and `reason` name the first broken event (None when whole)."""

    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None and not self.reason


def _problem(event: AuditLog, expected_prev: str) -> str:
    if event.prev_hash != expected_prev:
        return "上一条事件的哈希对不上：之前的事件被改动、删除或插入过"
    if event.hash != event_hash(event):
        return "事件内容与它的哈希不符：这条事件被改动过"
    if event.text is not None and text_sha256(event.text) != event.text_sha256:
        return "文字与记录的摘要（text_sha256）不符：文字被改动过"
    if event.text is None and event.text_sha256 is not None and event.redacted_at is None:
        return "文字被清除，却没有删除记录（redacted_at）"
    if event.customer_id is not None and (
        event.channel is None or customer_key(event.channel, event.customer_id) != event.customer_key
    ):
        return "客户 id 与记录的客户键（customer_key）不符：客户 id 被改动过"
    return ""


def verify(session: Session, *, batch: int = 1000) -> Verification:
    """Walk the chain from the first event; name the first broken one, or confirm the whole chain."""
    expected, checked, last_id, after = GENESIS, 0, 0, 0
    while True:
        page = list(session.scalars(select(AuditLog).where(AuditLog.id > after).order_by(AuditLog.id).limit(batch)))
        for event in page:
            problem = _problem(event, expected)
            if problem:
                return Verification(checked, event.id, problem)
            expected, last_id, checked = event.hash, event.id, checked + 1
        if len(page) < batch:
            break
        after = page[-1].id
    head = session.execute(select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)).first()
    if head is not None and (head.last_id, head.last_hash or GENESIS) != (last_id, expected):
        return Verification(checked, head.last_id or None,
                            f"链头（audit_head）指向事件 {head.last_id}，最后一条事件却是 {last_id}：末尾的事件被删除或改动过")
    return Verification(checked)
