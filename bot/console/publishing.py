"""What the publish, versions and audit pages show, in plain Chinese: the draft's changes as diffs,
why a publish was refused, the list of versions and the audit trail.

Everything here reads; writing goes through workspace (publish, rollback, discard) and configuration.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot import timefmt
from bot.services import configuration
from bot.services.configuration import ConfigFiles, ConfigRefused
from bot.console.workspace import Workspace
from bot.db.models import AuditLog
from bot.services.configuration.obligations import ObligationRefused

AUDIT_LIMIT = 200  # the audit page shows the newest entries; older ones stay in the database
MAX_DIFF_LINES = 400  # a huge change (a whole new persona) is listed, not printed in full

ACTIONS = {
    "publish": "发布",
    "import": "导入",
    "rollback": "回滚",
    "edit": "编辑草稿",
    "discard": "放弃草稿",
    "refused": "发布被拒",
    "initial": "初始版本",
    "inbox_dismiss": "忽略待学习消息",
    "opt_out": "记录退订",
    "opt_out_lifted": "解除退订",
}
KINDS = {"added": "新增", "removed": "删除", "changed": "修改"}


def local_time(moment: datetime, timezone: str) -> str:
    """A stored UTC moment as the brand's wall-clock time (DRAFTBOT_TIMEZONE), saying which: '2026-12-04 18:02（北京时间）'."""
    return timefmt.local_time(moment, timezone)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# ----- the draft's changes ----------------------------------------------------------------------


@dataclass(frozen=True)
class FileChange:
    path: str
    kind: str  # added | removed | changed
    diff: str  # unified diff ("" when too long to show)
    added_lines: int
    removed_lines: int

    @property
    def label(self) -> str:
        return KINDS[self.kind]


def draft_changes(session: Session, draft: Workspace) -> list[FileChange]:
    """Each file the draft adds, removes or changes compared with the version it started from."""
    base = configuration.get_version(session, draft.base_version)
    before = configuration.files_of(base).files if base else {}
    after = draft.files.files
    changes = []
    for kind in ("changed", "added", "removed"):
        for path in draft.changed[kind]:
            lines = list(difflib.unified_diff(
                before.get(path, "").splitlines(), after.get(path, "").splitlines(),
                fromfile=f"版本 {draft.base_version}/{path}", tofile=f"草稿/{path}", lineterm="", n=2,
            ))
            plus = sum(1 for line in lines[2:] if line.startswith("+"))
            minus = sum(1 for line in lines[2:] if line.startswith("-"))
            text = "\n".join(lines) if len(lines) <= MAX_DIFF_LINES else ""
            changes.append(FileChange(path, kind, text, plus, minus))
    return changes


def same_as_active(session: Session, files: ConfigFiles) -> bool:
    active = configuration.active(session)
    return active is not None and active.digest == files.digest


# ----- refusals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A refused publish as the page shows it: a headline, the problems, and whether the admin may override."""

    headline: str
    problems: list[str]
    overridable: bool
    figures: dict = field(default_factory=dict)


def explain_refusal(exc: ConfigRefused) -> Refusal:
    figures = exc.evaluation or {}
    if isinstance(exc, ObligationRefused):
        return Refusal("这份配置会让机器人认不出必须处理的消息（退订、投诉、转人工），没有生效。这项检查不能强制跳过："
                       "请把下面的消息放回正确的意图（或从别的意图的例句里删掉）后再试。", list(exc.problems), False, figures)
    if exc.overridable and figures.get("shared_accuracy") is not None:
        drop = figures["drop"] * 100
        line = (f"在草稿与线上版本 {figures['active_version']} 都有的 {figures['shared_intents']} 个意图上，"
                f"留出数据（交叉验证）的准确率从 {percent(figures['active_shared_accuracy'])} 降到 "
                f"{percent(figures['shared_accuracy'])}，下降 {drop:.1f} 个百分点（允许的下降不超过 {figures['worse_by'] * 100:.1f} 个）。")
        return Refusal("草稿评估结果比线上版本差，没有发布。", [line], True, figures)
    return Refusal("草稿没有通过检查，没有发布。请修改下面列出的文件后再发布：", list(exc.problems), False, figures)


# ----- versions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    number: int
    author: str
    at: str
    note: str
    accuracy: float | None
    active: bool
    files: int


def version_rows(session: Session, timezone: str) -> list[VersionRow]:
    """Every version, newest first."""
    active = configuration.active(session)
    return [
        VersionRow(number=v.number, author=v.author, at=local_time(v.created_at, timezone), note=v.note or "",
                   accuracy=(v.evaluation or {}).get("accuracy"), active=active is not None and v.id == active.id,
                   files=len(v.files))
        for v in reversed(configuration.versions(session))
    ]


# ----- the audit log ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    at: str
    actor: str
    action: str
    label: str
    version: str  # "版本 3", or for draft edits the version the draft was based on
    details: list[str]
    badges: list[tuple[str, str]]  # (css class, text)


def audit_rows(session: Session, timezone: str, *, action: str | None = None, limit: int = 200) -> list[AuditRow]:
    """The newest audit entries (optionally of one action) with their details in words."""
    return [_audit_row(entry, timezone) for entry in configuration.audit_entries(session, limit, action=action)]


def _audit_row(entry: AuditLog, timezone: str) -> AuditRow:
    detail = entry.detail or {}
    lines: list[str] = []
    badges: list[tuple[str, str]] = []
    if detail.get("note"):
        lines.append(f"说明：{detail['note']}")
    if detail.get("what"):
        lines.append(str(detail["what"]))
    files = _files_line(detail)
    if files:
        lines.append(files)
    if entry.action in ("publish", "import"):
        if detail.get("previous") is not None:
            lines.append(f"替换版本 {detail['previous']}")
        lines.append(f"准确率：{percent(detail.get('active_accuracy'))} → {percent(detail.get('accuracy'))}")
        if detail.get("shared_accuracy") is not None:
            lines.append(f"共同意图上的准确率：{percent(detail.get('active_shared_accuracy'))} → {percent(detail['shared_accuracy'])}")
        if detail.get("forced"):
            badges.append(("badge-danger", "评估变差，强制发布"))
    elif entry.action == "rollback":
        lines.append(f"从版本 {detail.get('previous')} 回滚到版本 {entry.version}")
    elif entry.action == "discard":
        lines.append(f"草稿原基于版本 {detail.get('base_version')}，重新从线上版本 {detail.get('active_version')} 开始")
    elif entry.action == "refused":
        lines.extend(f"问题：{problem}" for problem in detail.get("problems", []))
        figures = detail.get("evaluation") or {}
        if figures.get("shared_accuracy") is not None:
            lines.append(f"共同意图上的准确率：线上 {percent(figures.get('active_shared_accuracy'))}，"
                         f"草稿 {percent(figures['shared_accuracy'])}")
        elif figures.get("accuracy") is not None:
            lines.append(f"准确率：线上 {percent(figures.get('active_accuracy'))}，草稿 {percent(figures['accuracy'])}")
        badges.append(("badge-warn", "可强制发布") if detail.get("overridable") else ("badge-danger", "检查未通过"))
    elif entry.action == "initial":
        lines.append("由仓库里随附的意图和人设文件创建")
    if entry.version is not None:
        version = f"版本 {entry.version}"
    elif detail.get("base_version") is not None:
        version = f"草稿（基于版本 {detail['base_version']}）"
    else:
        version = "—"
    return AuditRow(at=local_time(entry.at, timezone), actor=entry.actor, action=entry.action,
                    label=ACTIONS.get(entry.action, entry.action), version=version, details=lines, badges=badges)


def _files_line(detail: dict) -> str:
    parts = []
    for kind in ("added", "changed", "removed"):
        paths = detail.get(kind) or []
        if paths:
            shown = "、".join(paths[:5]) + (f" 等 {len(paths)} 个" if len(paths) > 5 else "")
            parts.append(f"{KINDS[kind]} {shown}")
    return "文件：" + "；".join(parts) if parts else ""
