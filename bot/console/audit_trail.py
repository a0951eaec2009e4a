"""What the 操作记录 page and its CSV export show: every audit event in plain Chinese, filtered.

Reads only (`bot.services.audit` writes). A customer is shown by the name staff know them by (their
newest draft's) beside the id; once their data was deleted, as 已删除的客户.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import timefmt
from bot.db.models import AuditLog, Draft
from bot.services import audit

PAGE_SIZE = 100  # events per page; older ones follow the 下一页 link
KINDS = {"added": "新增", "removed": "删除", "changed": "修改"}
CSV_HEADER = ["id", "时间", "操作人", "角色", "来源", "操作", "对象", "渠道", "客户", "文字", "详情", "哈希"]


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: str
    actor: str
    role: str
    surface: str
    action: str
    label: str
    subject: str
    customer: str
    version: str  # "版本 3", or for draft edits the version the draft was based on
    details: list[str]
    badges: list[tuple[str, str]] = field(default_factory=list)  # (css class, text)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def rows(session: Session, filters: audit.Filters, timezone: str, *, limit: int = PAGE_SIZE,
         before_id: int | None = None) -> list[AuditRow]:
    """The newest matching events (older than `before_id`), in words."""
    return [row_of(session, event, timezone) for event in audit.events(session, filters, limit=limit, before_id=before_id)]


def row_of(session: Session, event: AuditLog, timezone: str) -> AuditRow:
    details, badges = _details(event)
    detail = event.detail or {}
    if event.version is not None:
        version = f"版本 {event.version}"
    elif detail.get("base_version") is not None:
        version = f"草稿（基于版本 {detail['base_version']}）"
    else:
        version = "—"
    return AuditRow(
        id=event.id, at=timefmt.local_time(event.at, timezone), actor=event.actor,
        role=audit.ROLE_NAMES.get(event.role, event.role), surface=audit.SURFACE_NAMES.get(event.surface, event.surface),
        action=event.action, label=audit.action_name(event.action), subject=event.subject,
        customer=customer_label(session, event), version=version, details=details, badges=badges,
    )


def customer_label(session: Session, event: AuditLog) -> str:
    """'小鱼（kf/wmA）', 'kf/wmA', '已删除的客户' or '' for an event about no customer."""
    if event.customer_key is None:
        return ""
    if event.customer_id is None:
        return "已删除的客户"
    name = session.scalar(
        select(Draft.customer_name)
        .where(Draft.channel == event.channel, Draft.customer_id == event.customer_id, Draft.customer_name != "")
        .order_by(Draft.id.desc()).limit(1)
    )
    return f"{name}（{event.channel}/{event.customer_id}）" if name else f"{event.channel}/{event.customer_id}"


def _details(event: AuditLog) -> tuple[list[str], list[tuple[str, str]]]:
    """The event's detail as lines a person reads, and its badges."""
    detail = event.detail or {}
    lines: list[str] = []
    badges: list[tuple[str, str]] = []
    if detail.get("note"):
        lines.append(f"说明：{detail['note']}")
    if event.action == "inbox_dismiss":
        lines.append(f"待学习：「{event.text}」不是任何意图，已忽略" if event.text is not None else str(detail.get("what", "")))
    elif event.action == "edit" and event.text is not None:
        lines.append(event.text)  # what changed, e.g. 意图 x：添加例句「…」
    elif detail.get("what"):
        lines.append(str(detail["what"]))
    files = _files_line(detail)
    if files:
        lines.append(files)
    action = event.action
    if action in ("publish", "import"):
        if detail.get("previous") is not None:
            lines.append(f"替换版本 {detail['previous']}")
        lines.append(f"准确率：{percent(detail.get('active_accuracy'))} → {percent(detail.get('accuracy'))}")
        if detail.get("shared_accuracy") is not None:
            lines.append(f"共同意图上的准确率：{percent(detail.get('active_shared_accuracy'))} → {percent(detail['shared_accuracy'])}")
        if detail.get("forced"):
            badges.append(("badge-danger", "评估变差，强制发布"))
    elif action == "rollback":
        lines.append(f"从版本 {detail.get('previous')} 回滚到版本 {event.version}")
    elif action == "discard":
        lines.append(f"草稿原基于版本 {detail.get('base_version')}，重新从线上版本 {detail.get('active_version')} 开始")
    elif action == "refused":
        lines.extend(f"问题：{problem}" for problem in detail.get("problems", []))
        figures = detail.get("evaluation") or {}
        if figures.get("shared_accuracy") is not None:
            lines.append(f"共同意图上的准确率：线上 {percent(figures.get('active_shared_accuracy'))}，"
                         f"草稿 {percent(figures['shared_accuracy'])}")
        elif figures.get("accuracy") is not None:
            lines.append(f"准确率：线上 {percent(figures.get('active_accuracy'))}，草稿 {percent(figures['accuracy'])}")
        badges.append(("badge-warn", "可强制发布") if detail.get("overridable") else ("badge-danger", "检查未通过"))
    elif action == "initial":
        lines.append("由仓库里随附的意图和人设文件创建")
    elif action in ("approved", "inserted"):
        if detail.get("edited"):
            badges.append(("badge-warn", "已修改"))
    elif action in ("opt_out", "opt_out_lifted") and detail.get("recorded_by") == "customer":
        badges.append(("badge-danger", "客户本人的退订"))
    for key, label in (("reason", "原因"), ("errmsg", "企业微信"), ("superseded_by", "被草稿取代"), ("user", "用户"),
                       ("role", "角色"), ("to", "通知"), ("team", "团队"), ("recorded_by", "原记录人")):
        value = detail.get(key)
        if value not in (None, "", []) and action not in ("refused",):
            shown = "、".join(map(str, value)) if isinstance(value, list) else str(value)
            lines.append(f"{label}：{shown}")
    if event.text is not None and action not in ("inbox_dismiss", "edit"):
        lines.append(f"原因：{event.text}" if action == "rejected" else f"文字：「{event.text}」")
    elif event.redacted_at is not None:
        lines.append("文字已按客户资料删除或保留期限清除")
    return lines, badges


def _files_line(detail: dict) -> str:
    parts = []
    for kind in ("added", "changed", "removed"):
        paths = detail.get(kind) or []
        if paths:
            shown = "、".join(paths[:5]) + (f" 等 {len(paths)} 个" if len(paths) > 5 else "")
            parts.append(f"{KINDS[kind]} {shown}")
    return "文件：" + "；".join(parts) if parts else ""


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet never runs as a formula (a text starting with = + - @ gets a leading ')."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(session: Session, filters: audit.Filters, timezone: str) -> Iterator[str]:
    """Every matching event as CSV, newest first, a line at a time (with a BOM so spreadsheet programs read the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    yield "\ufeff" + buffer.getvalue()
    for event in audit.all_events(session, filters):
        buffer.seek(0)
        buffer.truncate()
        row = row_of(session, event, timezone)
        writer.writerow([_cell(value) for value in (
            event.id, row.at, event.actor, row.role, row.surface, row.label, event.subject, event.channel or "",
            row.customer, event.text or "", "；".join(row.details), event.hash)])
        yield buffer.getvalue()
