"""What the app chat says about a draft: its outcome on the cards, and why a decision did not happen."""

from __future__ import annotations

from bot.db.models import Draft
from bot.drafts.lifecycle import OPEN, Status, status_name
from bot.wecom.cards import SIDEBAR_ONLY, customer_label, is_group, sidebar_url

SENT, SENT_EDITED, NOT_SENT, SEND_FAILED, BLOCKED, EXPIRED = "已发送", "已修改发送", "未发送", "发送失败", "已拦截", "已过期"
ANSWERED_MANUALLY = "已人工回复"


def outcome_of(draft: Draft) -> str | None:
    """What the draft's cards show once its outcome is known; None while undecided or on its way."""
    if draft.status == Status.SENT:
        edited = draft.final_text is not None and draft.final_text != draft.original_text
        return SENT_EDITED if edited else SENT
    return {
        Status.REJECTED: NOT_SENT,
        Status.SEND_FAILED: SEND_FAILED,
        Status.BLOCKED: BLOCKED,
        Status.SUPERSEDED: EXPIRED,
        Status.ANSWERED_MANUALLY: ANSWERED_MANUALLY,
    }.get(Status(draft.status))


def outcome_reason(draft: Draft, outcome: str) -> str | None:
    """The text that goes with a failed or blocked outcome (the card alone cannot say why)."""
    who = customer_label(draft)
    if outcome == SEND_FAILED:
        return f"发给 {who} 的回复发送失败：{draft.send_errmsg or '未知原因'}。回复 发 #{draft.id} 重试。"
    if outcome == BLOCKED:
        return f"发给 {who} 的回复被拦截，没有发出：{draft.send_errmsg or '规则不允许发送'}。"
    return None


def why_not(draft: Draft, exc: Exception | None, *, edited: bool = False) -> str:
    """Why a decision did not happen, in words for a phone; `edited` when the staff member's own text was lost."""
    who = customer_label(draft)
    lost = "你的内容没有发出。" if edited else ""
    status = draft.status
    if exc is not None and status in (*OPEN, Status.SEND_FAILED):  # the draft is open: the text was refused
        return f"没有发出：{exc}（点 修改，或回复 改 #{draft.id} 新内容）。"
    if status == Status.SENT:
        return f"{who} 这条已经发出去了。{lost}"
    if status == Status.APPROVED:
        return f"{who} 这条已经批准，正在发送，不能再改。{lost}"
    if status == Status.SUPERSEDED:
        return f"{who} 又发来新消息，这条已过期，请处理新卡片。{lost}"
    if status == Status.REJECTED:
        return f"{who} 这条已经选了不发。{lost}"
    if status == Status.ANSWERED_MANUALLY:
        return f"{who} 这条你已经在聊天里亲自回复了。{lost}"
    if status == Status.BLOCKED:
        return f"{who} 这条被拦截了：{draft.send_errmsg or '规则不允许发送'}。{lost}"
    return f"没有完成：{exc}" if exc is not None else f"{who} 这条现在不能修改（{status_name(status)}）。"


def send_from_sidebar(draft: Draft, public_url: str = "") -> str:
    """The answer to 发 / 改 for a draft only the staff member can send, from the sidebar of their chat with the customer."""
    where = "客户群" if is_group(draft) else "与客户的聊天"
    link = f"\n打开草稿：{sidebar_url(public_url, draft.id)}" if public_url else ""
    return (f"#{draft.id} 是你{where}里的消息，服务器不能替你发送，也没有发出任何内容：请{SIDEBAR_ONLY}"
            f"（企业微信聊天工具栏 → 回复草稿，可先修改再插入）。{link}")


def not_yours(draft: Draft) -> str:
    """The answer to someone who may not decide this draft."""
    owner = f"（负责人：{draft.assignee}）" if draft.assignee else ""
    return f"这条草稿不归你处理{owner}，没有做任何改动。"
