"""Text commands in the staff app chat: 1 / 发 / ok, 改 <新内容>, 0 / 不发, 列表, 全文, 取消, 帮助."""

from __future__ import annotations

import re
from dataclasses import dataclass

HELP = (
    "回复指令：\n"
    "1 或 发：发送草稿\n"
    "改 新内容：改成新内容再发送\n"
    "0 或 不发：不发\n"
    "列表：待处理的草稿\n"
    "全文：完整草稿\n"
    "取消：放弃修改\n"
    "有多条时加编号，如 发 #12"
)


@dataclass(frozen=True)
class Command:
    """A parsed text command: `name`, an optional draft number, and the new text of 改."""

    name: str  # approve | reject | edit | list | full | cancel | help
    draft_id: int | None = None
    text: str | None = None


_WORDS = {
    "1": "approve", "发": "approve", "发送": "approve", "ok": "approve",
    "0": "reject", "不发": "reject",
    "列表": "list", "全文": "full", "取消": "cancel",
    "帮助": "help", "help": "help", "?": "help", "？": "help",
}
_NUMBERED = re.compile(r"(发送|发|不发|全文|ok|1|0)\s*(?:#\s*(\d+)|\s(\d+))", re.IGNORECASE)
_NUMBERED_ATTACHED = re.compile(r"(发送|发|不发|全文)(\d+)")
_EDIT = re.compile(r"改(?:\s*#\s*(\d+))?(?:\s+|\s*[:：]\s*|$)(.*)", re.DOTALL)


def parse_command(content: str) -> Command | None:
    """The command in a staff member's message, or None for any other text."""
    text = content.strip()
    word = _WORDS.get(text.lower())
    if word:
        return Command(word)
    match = _NUMBERED.fullmatch(text) or _NUMBERED_ATTACHED.fullmatch(text)
    if match:
        number = next(group for group in match.groups()[1:] if group)
        return Command(_WORDS[match.group(1).lower()], draft_id=int(number))
    match = _EDIT.fullmatch(text)
    if match:
        return Command("edit", draft_id=int(match.group(1)) if match.group(1) else None, text=match.group(2).strip())
    return None

