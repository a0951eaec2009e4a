"""Callbacks from the staff app chat: taps on a card's buttons and text commands, and the decisions they make.

A tap on 发送 / 不发 approves or rejects through `bot.services.delivery`; 修改 starts an edit, and the staff
member's next text message is the new reply. Text commands (`bot.staffchat.commands`) do the same
without a card. Nothing here sends to a customer: approval queues the reply for the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.db.models import Card, Draft, EditRequest
from bot.drafts.lifecycle import OPEN, Status
from bot.errors import EmptyText, NotAllowed, TransitionError
from bot.staffchat.chat import AppChat
from bot.staffchat.commands import HELP, Command, parse_command
from bot.staffchat.texts import not_yours, outcome_of, send_from_sidebar, why_not
from bot.wecom.cards import (
    APPROVE,
    EDIT,
    REJECT,
    SIDEBAR_ONLY,
    WARNING_NAMES,
    customer_label,
    cut,
    manual_hint,
    parse_button_key,
    sidebar_only,
)

log = logging.getLogger(__name__)

EDIT_TTL = timedelta(minutes=30)  # a 修改 tap older than this no longer turns the next message into a reply
LIST_MAX = 10
REJECT_REASON = "企业微信里选择了不发"


class Decisions(AppChat):
    """Taps and text commands from staff: approve, edit, reject, list and read drafts."""

    def handle(self, session: Session, payload: dict, now: datetime) -> None:
        """An app-chat callback: a tap on a card button, or a text message from a staff member."""
        kind, name = payload.get("kind"), payload.get("name")
        fields = payload.get("fields") or {}
        user = str(fields.get("FromUserName") or "").strip()
        if not user:
            log.warning("app callback %s %s without FromUserName ignored", kind, name)
            return
        if kind == "event" and name == "template_card_event":
            self._tap(session, user, fields, now)
        elif kind == "message" and name == "text":
            self._command(session, user, str(fields.get("Content") or ""), now)
        elif kind == "message":
            self._reply(user, "我只看得懂文字。\n" + HELP)
        else:
            log.info("app event %s from %s: no action", name, user)

    def _tap(self, session: Session, user: str, fields: dict, now: datetime) -> None:
        click = parse_button_key(str(fields.get("EventKey") or ""))
        if click is None:
            log.warning("card tap by %s with unknown key %r ignored", user, fields.get("EventKey"))
            return
        draft = session.get(Draft, click.draft_id, with_for_update=True, populate_existing=True)
        if draft is None:
            self._reply(user, "这条草稿已不存在。")
            return
        if not self.may_decide(session, draft, user):
            log.warning("card tap %s by %s refused: not theirs to decide", click.action, user)
            self._reply(user, not_yours(draft))
            return
        code = str(fields.get("ResponseCode") or "")
        task = str(fields.get("TaskId") or "")
        card = session.scalar(select(Card).where(Card.task_id == task)) if task else None
        if card is not None and code and card.userid == user and card.draft_id == draft.id:
            card.response_code = code  # the newest code of this card: the one to update it with
            card.updated_at = now
        if click.action == APPROVE:
            self._approve(session, draft, user, None, now, from_card=True)
        elif click.action == REJECT:
            self._reject(session, draft, user, now, from_card=True)
        elif click.action == EDIT:
            self._start_edit(session, draft, user, now)

    def _command(self, session: Session, user: str, content: str, now: datetime) -> None:
        command = parse_command(content)
        editing, expired = self._editing(session, user, now)
        if command is None:
            if editing is not None:
                self._approve(session, editing, user, content, now)
            elif expired:
                self._reply(user, f"修改已超时（{int(EDIT_TTL.total_seconds() // 60)} 分钟），内容没有发出。请重新点 修改，或回复 改 新内容。")
            else:
                self._reply(user, HELP)
            return
        if command.name == "help":
            self._reply(user, HELP + ("\n你正在修改一条草稿：直接发来新内容即可。" if editing is not None else ""))
        elif command.name == "cancel":
            if editing is not None:
                self._clear_edit(session, user, editing.id)
                self._reply(user, "好的，已放弃修改，草稿还在等你处理。")
            else:
                self._reply(user, "没有正在修改的草稿。")
        elif command.name == "list":
            self._list(session, user)
        elif command.name == "edit" and not command.text and command.draft_id is None and editing is not None:
            self._reply(user, "直接发来新内容即可（回复 取消 放弃修改）。")
        else:
            draft = self._target(session, user, command, editing)
            if draft is None:
                return
            if command.name == "approve":
                self._approve(session, draft, user, None, now)
            elif command.name == "edit" and not command.text:
                self._start_edit(session, draft, user, now)  # 改 alone: show the text to copy, take the next message
            elif command.name == "edit":
                self._approve(session, draft, user, command.text, now)
            elif command.name == "reject":
                self._reject(session, draft, user, now)
            elif command.name == "full":
                self._full(draft, user, self._warnings(session, draft, now))

    # -- decisions ------------------------------------------------------------------------------

    def _approve(
        self, session: Session, draft: Draft, user: str, text: str | None, now: datetime, *, from_card: bool = False
    ) -> None:
        who = customer_label(draft)
        if sidebar_only(draft) and draft.status in (*OPEN, Status.APPROVED):  # the server cannot send it: say so, decide nothing
            self._clear_edit(session, user, draft.id)
            self._reply(user, send_from_sidebar(draft, self.settings.public_url))
            return
        if draft.status == Status.NEEDS_MANUAL and text is None:
            self._reply(user, f"{who} 这条需要你来写回复：点 写回复，或回复 改 #{draft.id} 新内容。")
            return
        try:
            changed = self.decisions.approve(session, draft, by=self.decider(session, user, "card" if from_card else "chat"),
                                             text=text, now=now)
        except NotAllowed:
            self._reply(user, not_yours(draft))
            return
        except EmptyText as exc:
            self._reply(user, f"没有发出：{exc}。")
            return
        except TransitionError as exc:
            if draft.status not in (*OPEN, Status.SEND_FAILED):
                self._clear_edit(session, user, draft.id)
            self._reply(user, why_not(draft, exc, edited=text is not None))
            return
        self._clear_edit(session, user, draft.id)
        if not changed:
            done = "已经发出去了" if draft.status == Status.SENT else "已经批准过了，正在发送"
            self._reply(user, f"{who} 这条{done}。")
            return
        edited = draft.final_text != draft.original_text
        log.info("draft %s approved by %s in the app chat%s", draft.id, user, " (edited)" if edited else "")
        if not from_card:  # a tapped card shows the outcome itself
            self._reply(user, f"好的，{'改好的回复' if edited else '这条回复'}马上发给 {who}。")

    def _reject(self, session: Session, draft: Draft, user: str, now: datetime, *, from_card: bool = False) -> None:
        who = customer_label(draft)
        try:
            changed = self.decisions.reject(session, draft, by=self.decider(session, user, "card" if from_card else "chat"),
                                            reason=REJECT_REASON, now=now)
        except NotAllowed:
            self._reply(user, not_yours(draft))
            return
        except TransitionError as exc:
            self._reply(user, why_not(draft, exc))
            return
        self._clear_edit(session, user, draft.id)
        if not changed:
            self._reply(user, f"{who} 这条已经选了不发。")
            return
        log.info("draft %s rejected by %s in the app chat", draft.id, user)
        if not from_card:
            self._reply(user, f"好的，{who} 这条不发。")

    def _start_edit(self, session: Session, draft: Draft, user: str, now: datetime) -> None:
        who = customer_label(draft)
        if draft.status not in (*OPEN, Status.SEND_FAILED):
            self._reply(user, why_not(draft, None))
            return
        if sidebar_only(draft):  # edited in the sidebar, where it is inserted
            self._reply(user, send_from_sidebar(draft, self.settings.public_url))
            return
        request = session.get(EditRequest, user)
        if request is None:
            session.add(EditRequest(userid=user, draft_id=draft.id, started_at=now))
        else:
            request.draft_id, request.started_at = draft.id, now
        if draft.status == Status.NEEDS_MANUAL or not (draft.final_text or draft.original_text):
            self._reply(user, f"请直接发来要回复 {who} 的内容（回复 取消 放弃）。\n客户说：{cut(draft.message_text or '（非文字消息）', 200, one_line=False)}")
            return
        self._reply(user, f"修改发给 {who} 的回复：复制下一条，改好后直接发给我（回复 取消 放弃）。")
        self._reply(user, draft.final_text or draft.original_text)

    # -- reading --------------------------------------------------------------------------------

    def _target(self, session: Session, user: str, command: Command, editing: Draft | None) -> Draft | None:
        """The draft a command is about: the numbered one, the one being edited, or the only undecided one."""
        if command.draft_id is not None:
            draft = session.get(Draft, command.draft_id, with_for_update=True, populate_existing=True)
            if draft is None:
                self._reply(user, f"没有编号 #{command.draft_id} 的草稿。")
                return None
            if not self.may_decide(session, draft, user):
                self._reply(user, not_yours(draft))
                return None
            return draft
        if editing is not None:
            return editing
        drafts = self._open_drafts(session, user, limit=2)
        if not drafts:
            self._reply(user, "没有待处理的草稿。")
            return None
        if len(drafts) > 1 and command.name != "full":
            # Several undecided drafts: "the latest" may be one this person has not read yet.
            self._list(session, user, heading="有多条待处理，请加编号，例如 发 #{id}。".format(id=drafts[0].id))
            return None
        return drafts[0]

    def _open_drafts(self, session: Session, user: str, *, limit: int) -> list[Draft]:
        query = (select(Draft).where(Draft.status.in_([s.value for s in OPEN]), self._decidable(session, user))
                 .order_by(Draft.id.desc()).limit(limit))
        return list(session.scalars(query))

    def _list(self, session: Session, user: str, heading: str | None = None) -> None:
        drafts = self._open_drafts(session, user, limit=LIST_MAX)
        if not drafts:
            self._reply(user, "没有待处理的草稿。")
            return
        total = session.scalar(select(func.count()).select_from(Draft)
                               .where(Draft.status.in_([s.value for s in OPEN]), self._decidable(session, user))) or 0
        lines = [heading or f"待处理 {total} 条（新的在前）："]
        for draft in drafts:
            said = cut(draft.message_text or "（非文字消息）", 12)
            reply = "需人工回复" if draft.status == Status.NEEDS_MANUAL else cut(draft.original_text, 16)
            lines.append(f"#{draft.id} {cut(customer_label(draft), 6)}：{said} → {reply}")
        if total > len(drafts):
            lines.append(f"还有 {total - len(drafts)} 条，请到网页处理。")
        lines.append("回复 发 #编号 / 不发 #编号 / 全文 #编号 / 改 #编号 新内容")
        self._reply(user, "\n".join(lines))

    def _full(self, draft: Draft, user: str, warnings: Sequence[dict[str, str]] = ()) -> None:
        who = customer_label(draft)
        said = cut(draft.message_text or "（非文字消息）", 300, one_line=False)
        if draft.status == Status.NEEDS_MANUAL:
            body = f"需人工回复：{manual_hint(draft)}。"
            actions = f"回复 改 #{draft.id} 新内容 发送 / 不发 #{draft.id}"
        else:
            body = f"草稿：\n{draft.final_text or draft.original_text}"
            actions = f"回复 发 #{draft.id} 发送 / 改 #{draft.id} 新内容 / 不发 #{draft.id}"
        if sidebar_only(draft):
            actions = f"{SIDEBAR_ONLY} / 回复 不发 #{draft.id}"
        state = "" if draft.status in OPEN else f"（{outcome_of(draft) or '已批准'}）"
        notes = "".join(f"\n提醒：{WARNING_NAMES.get(w['code'], w['code'])}（{w['reason']}）" for w in warnings)
        about = f"\n意图：{self.intent_name(draft.intent)}" if draft.intent else ""
        self._reply(user, f"#{draft.id}{state} {who}：{said}{about}\n\n{body}{notes}\n\n{actions if not state else ''}".rstrip())

    # -- edits in progress ----------------------------------------------------------------------

    def _editing(self, session: Session, user: str, now: datetime) -> tuple[Draft | None, bool]:
        """The draft this person is editing (after a 修改 tap), and whether an edit just timed out."""
        request = session.get(EditRequest, user)
        if request is None:
            return None, False
        if now - request.started_at > EDIT_TTL:
            session.delete(request)
            return None, True
        draft = session.get(Draft, request.draft_id, with_for_update=True, populate_existing=True)
        if draft is None or not self.may_decide(session, draft, user):
            session.delete(request)
            return None, False
        return draft, False

    def _clear_edit(self, session: Session, user: str, draft_id: int) -> None:
        session.execute(delete(EditRequest).where(EditRequest.userid == user, EditRequest.draft_id == draft_id))

