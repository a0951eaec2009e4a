"""What the publish and versions pages show, in plain Chinese: the draft's changes as diffs, why a
publish was refused and the list of versions (the audit trail: bot.console.audit_trail).

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
from bot.services.configuration.obligations import ObligationRefused

MAX_DIFF_LINES = 400  # a huge change (a whole new persona) is listed, not printed in full

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
