"""App messages for staff (自建应用 message/send): the draft card, plain texts, and card updates.

The draft card is a `button_interaction` template card: who wrote, what they wrote, intent and
persona, the draft cut to WeCom's display limits, and buttons 发送 / 修改 / 不发 whose keys come
back as the EventKey of a `template_card_event` callback. A draft of a staff member's own chat or a
customer group (channel archive) can only be sent by them from the chat sidebar: its card says
"在与客户的聊天里打开侧边栏发送" (linked to the sidebar on that draft) instead of a 发送 button, and
keeps 不发. Everything here is pure: it builds JSON.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

ELLIPSIS = "…"

# WeCom's display limits for a template card (characters), kept on the safe side.
TITLE_MAX = 26            # main_title.title
TITLE_DESC_MAX = 30       # main_title.desc
SUB_TITLE_MAX = 112       # sub_title_text
SOURCE_DESC_MAX = 13      # source.desc
HORIZONTAL_ITEMS_MAX = 6  # horizontal_content_list
KEYNAME_MAX = 5           # horizontal_content_list[].keyname
VALUE_MAX = 26            # horizontal_content_list[].value
BUTTON_TEXT_MAX = 10      # button_list[].text
TASK_ID_MAX = 128         # task_id: [a-zA-Z0-9_\-@], unique per app
TEXT_MAX_BYTES = 2048     # text.content of an app text message (bytes, UTF-8)

DUPLICATE_CHECK_SECONDS = 1800  # a retried send of the same JSON within 30 min is not shown again (max 4 h)
_TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")

APPROVE, EDIT, REJECT = "approve", "edit", "reject"
ACTIONS = (APPROVE, EDIT, REJECT)


class CardDraft(Protocol):
    """What a card shows of a draft (the storage model has these attributes)."""

    id: int
    status: str
    customer_id: str
    customer_name: str
    message_text: str
    intent: str | None
    persona: str
    original_text: str
    manual_reason: str | None
    urgent: bool


def cut(text: str | None, limit: int, *, one_line: bool = True) -> str:
    """`text` in at most `limit` characters, ending with "…" when it was longer."""
    text = (text or "").strip()
    if one_line:
        text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def cut_bytes(text: str, limit: int = TEXT_MAX_BYTES) -> str:
    """`text` in at most `limit` UTF-8 bytes, ending with "…" when it was longer."""
    if len(text.encode("utf-8")) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode("utf-8"))
    kept = text.encode("utf-8")[:room].decode("utf-8", "ignore")
    return kept + ELLIPSIS


def agent_id(value: str | int) -> int | str:
    """The agentid as WeCom documents it (an integer); kept as given when it is not a number."""
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def task_id(draft_id: int, userid: str) -> str:
    """The card's task_id: one per draft and staff member, so a retried notify reuses it."""
    digest = hashlib.sha256(userid.encode("utf-8")).hexdigest()[:12]
    value = f"draft-{draft_id}-{digest}"
    assert _TASK_ID.fullmatch(value) and len(value) <= TASK_ID_MAX
    return value


def button_key(action: str, draft_id: int) -> str:
    return f"{action}:{draft_id}"


@dataclass(frozen=True)
class ButtonClick:
    """A parsed button key: what the staff member asked for, and for which draft."""

    action: str
    draft_id: int


def parse_button_key(key: str) -> ButtonClick | None:
    action, _, raw = (key or "").partition(":")
    if action not in ACTIONS or not raw.isdigit():
        return None
    return ButtonClick(action, int(raw))


def customer_label(draft: CardDraft) -> str:
    return draft.customer_name or draft.customer_id


def manual_hint(draft: CardDraft) -> str:
    """Why a human must write this reply (the draft's manual_reason)."""
    return draft.manual_reason or "没有合适的草稿"


def sidebar_url(public_url: str, draft_id: int) -> str:
    return f"{public_url.rstrip('/')}/sidebar?draft={draft_id}"


SIDEBAR_ONLY = "在与客户的聊天里打开侧边栏发送"  # what a card says instead of 发送 for a draft only the sidebar can send
SIDEBAR_CHANNEL = "archive"  # staff's own chats and customer groups: the server cannot send, the staff member inserts


def sidebar_only(draft: object) -> bool:
    """True for a draft of the staff member's own chat or a customer group: only they can send it, from the sidebar."""
    return getattr(draft, "channel", None) == SIDEBAR_CHANNEL


def is_group(draft: object) -> bool:
    """True for a draft answering in a customer group (客户群)."""
    return bool(getattr(draft, "room_id", None))


# Short Chinese names of the flags and checks a draft can carry (their full reasons come with 全文).
WARNING_NAMES = {
    "marketing": "营销内容",
    "sensitive": "含敏感词",
    "low_confidence": "意图不确定",
    "kf_window": "超出客服回复时限",
    "dont_disturb": "客户免打扰",
    "held": "等免打扰时段结束",
    "order_facts": "已查订单",
    "order_not_found": "查无此单",
    "order_lookup_failed": "订单查询失败",
    "carried_entities": "沿用之前消息的信息",
}


def warning_names(codes: list[str]) -> str:
    """e.g. "营销内容·含敏感词" for the codes of a draft's flags and checks."""
    return "·".join(dict.fromkeys(WARNING_NAMES.get(code, code) for code in codes))


def draft_card(draft: CardDraft, *, userid: str, agentid: str | int, public_url: str = "", warnings: Sequence[str] = (),
               intent_name: str = "") -> dict:
    """The message/send body of the draft card for one staff member; `warnings` are flag and check codes.

    `intent_name` is what staff call the intent (its display name, 退款退货); the id shows without one.
    """
    manual = draft.status == "needs_manual"
    only_sidebar = sidebar_only(draft)
    who = customer_label(draft) + ("（客户群）" if is_group(draft) else "")
    if manual and only_sidebar:
        body = f"需人工回复：{manual_hint(draft)}。请{SIDEBAR_ONLY}或直接回复客户"
    elif manual:
        body = f"需人工回复：{manual_hint(draft)}。点 写回复，再把要回复的内容发给我"
    else:
        body = f"草稿：{draft.original_text}"
    sub_title = cut(body, SUB_TITLE_MAX, one_line=False)
    horizontal = [
        _item("客户", who),
        _item("消息", draft.message_text or "（非文字消息）"),
        _item("全文", "回复“全文”查看客户消息" if manual else "回复“全文”查看完整草稿"),
    ]
    if warnings:
        horizontal.insert(2, _item("提醒", warning_names(list(warnings))))
    answer_id = getattr(draft, "answer_id", None)  # the brand answer the draft says, so staff see where a fact came from
    if answer_id:
        horizontal.insert(-1, _item("答案", answer_id))
    if only_sidebar:  # the server cannot send it: say where it is sent from, before anything the list may cut
        send = _item("发送", SIDEBAR_ONLY)
        if public_url:
            send = {"type": 1, **send, "url": sidebar_url(public_url, draft.id)}
        horizontal.insert(2, send)
    card: dict = {
        "card_type": "button_interaction",
        "source": {"desc": cut(("紧急·" if draft.urgent else "") + ("群聊·" if is_group(draft) else "") + "待审回复", SOURCE_DESC_MAX),
                   "desc_color": 2 if draft.urgent else 0},
        "main_title": {
            "title": cut(f"{who}：{draft.message_text or '（非文字消息）'}", TITLE_MAX),
            "desc": cut(f"意图 {intent_name or draft.intent or '未识别'} · 人设 {draft.persona}", TITLE_DESC_MAX),
        },
        "sub_title_text": sub_title,
    }
    if public_url:
        url = sidebar_url(public_url, draft.id)
        if not only_sidebar:  # a sidebar-only card links it in its 发送 line already
            horizontal.append({"type": 1, "keyname": "网页", "value": "打开草稿", "url": url})
        card["card_action"] = {"type": 1, "url": url}
    card["horizontal_content_list"] = horizontal[:HORIZONTAL_ITEMS_MAX]
    card["task_id"] = task_id(draft.id, userid)
    card["button_list"] = _buttons(draft.id, manual=manual, sidebar=only_sidebar)
    return {
        "touser": userid,
        "msgtype": "template_card",
        "agentid": agent_id(agentid),
        "template_card": card,
        "enable_id_trans": 0,
        "enable_duplicate_check": 1,
        "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
    }


def _item(keyname: str, value: str) -> dict:
    return {"keyname": cut(keyname, KEYNAME_MAX), "value": cut(value, VALUE_MAX)}


def _buttons(draft_id: int, *, manual: bool, sidebar: bool = False) -> list[dict[str, object]]:
    if sidebar:  # sent only by the staff member from the chat sidebar: no button that would merely record an approval
        return [{"text": "不发", "style": 2, "key": button_key(REJECT, draft_id)}]
    shown: list[tuple[str, int, str]] = [] if manual else [("发送", 1, APPROVE)]  # (text, style, action)
    shown += [("写回复" if manual else "修改", 2, EDIT), ("不发", 2, REJECT)]
    return [{"text": cut(text, BUTTON_TEXT_MAX), "style": style, "key": button_key(action, draft_id)} for text, style, action in shown]


def text_message(userids: list[str] | str, content: str, *, agentid: str | int, dedupe: bool = False) -> dict:
    """The message/send body of a plain text app message.

    `dedupe` turns on WeCom's duplicate check, so a retried notification is not shown twice
    (leave it off for answers to commands: the same answer to a repeated command must arrive).
    """
    touser = "|".join(userids) if isinstance(userids, list) else userids
    message: dict = {
        "touser": touser,
        "msgtype": "text",
        "agentid": agent_id(agentid),
        "text": {"content": cut_bytes(content)},
    }
    if dedupe:
        message["enable_duplicate_check"] = 1
        message["duplicate_check_interval"] = DUPLICATE_CHECK_SECONDS
    return message


def card_update(userid: str, response_code: str, replace_name: str, *, agentid: str | int) -> dict:
    """The message/update_template_card body that greys the card's buttons out with `replace_name`."""
    return {
        "userids": [userid],
        "agentid": agent_id(agentid),
        "response_code": response_code,
        "button": {"replace_name": replace_name},
    }
