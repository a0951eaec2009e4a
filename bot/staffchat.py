"""The staff app chat (自建应用): draft cards, taps on their buttons, text commands, outcomes, escalation.

Frontline staff decide drafts from WeCom on their phones:

* each undecided draft reaches its assignee (or, unassigned, every approver) as a card with the
  buttons 发送 / 修改 / 不发 (`notify`, a durable job with retries; one card per draft and person);
* a tap comes back as a `template_card_event` callback and approves or rejects through
  `bot.outbox`, or starts an edit: the staff member's next text message is the new reply;
* text commands (1 / 发 / ok, 改 <新内容>, 0 / 不发, 列表, 全文, 取消, 帮助) do the same without a card;
* once a draft's outcome is known (`bot.outbox.announce`), every card of the draft is greyed out
  with the outcome (`card_outcome`, each response_code used once), with the reason for a failure;
* an urgent draft left undecided is escalated once to the admins (`escalate`).

Nothing here sends anything to a customer: approval goes through `bot.outbox.approve`, and the
outbox is the only sender. Every method takes the session and `now`; the caller commits.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db.models import Card, Draft, EditRequest, Message
from bot.drafts.lifecycle import OPEN, Status
from bot.errors import NotAllowed, TransitionError, WeComError
from bot.metrics import Metrics
from bot.outbox import Outbox, approve, reject
from bot.wecom.cards import (
    APPROVE,
    EDIT,
    REJECT,
    WARNING_NAMES,
    card_update,
    customer_label,
    cut,
    draft_card,
    manual_hint,
    parse_button_key,
    text_message,
)
from bot.wecom.client import WeComClient

log = logging.getLogger(__name__)

SENT, SENT_EDITED, NOT_SENT, SEND_FAILED, BLOCKED, EXPIRED = "已发送", "已修改发送", "未发送", "发送失败", "已拦截", "已过期"
EDIT_TTL = timedelta(minutes=30)  # a 修改 tap older than this no longer turns the next message into a reply
LIST_MAX = 10
REJECT_REASON = "企业微信里选择了不发"

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
    }.get(Status(draft.status))


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


class StaffChat:
    """Cards, taps, commands, outcomes and escalation in the staff's WeCom app chat."""

    def __init__(self, *, settings: Settings, client: WeComClient, outbox: Outbox, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.client = client
        self.outbox = outbox
        self.metrics = metrics

    # -- who may decide -------------------------------------------------------------------------

    def role(self, user: str) -> str:
        return "admin" if user in self.settings.admins else "staff"

    def may_decide(self, draft: Draft, user: str) -> bool:
        """The assignee decides; unassigned drafts are for the approvers; admins decide all."""
        if user in self.settings.admins:
            return True
        if draft.assignee:
            return draft.assignee == user
        return user in self.settings.approvers

    def _decidable(self, user: str):  # noqa: ANN202
        if user in self.settings.admins:
            return True
        if user in self.settings.approvers:
            return or_(Draft.assignee == user, Draft.assignee.is_(None))
        return Draft.assignee == user

    # -- jobs -----------------------------------------------------------------------------------

    def notify(self, session: Session, draft_id: int, now: datetime) -> None:
        """Send the draft's card to its assignee, or to every approver; one card per person, even on retries."""
        draft = session.get(Draft, draft_id, populate_existing=True)
        if draft is None or draft.status not in OPEN:
            return  # decided or superseded before anyone was told: nothing to show
        recipients = [draft.assignee] if draft.assignee else list(dict.fromkeys(self.settings.approvers))
        if not recipients:
            log.warning("draft %s has no assignee and DRAFTBOT_APPROVERS is empty: no one was notified", draft.id)
            return
        for userid in recipients:
            if session.scalar(select(Card.id).where(Card.draft_id == draft.id, Card.userid == userid)) is not None:
                continue  # a retry: this person has the card already
            body = draft_card(draft, userid=userid, agentid=self.settings.wecom_agent_id,
                              public_url=self.settings.public_url, warnings=[w["code"] for w in self._warnings(session, draft, now)])
            try:
                answer = self.client.post("message/send", body)
            except WeComError as exc:
                if exc.retryable:
                    raise  # the job runs again; WeCom's duplicate check hides a repeat of a send that got through
                log.error("draft %s: WeCom refused the card for %s: %s", draft.id, userid, exc)
                continue
            invalid = {part.lower() for part in str(answer.get("invaliduser") or "").split("|") if part}
            if userid.lower() in invalid:
                log.error("draft %s: %s is not a member who can receive app messages (invaliduser)", draft.id, userid)
                continue
            session.add(Card(
                draft_id=draft.id, userid=userid, task_id=body["template_card"]["task_id"],
                response_code=answer.get("response_code") or None, created_at=now, updated_at=now,
            ))
            session.commit()  # the card exists: a later failure for another person must not forget it
            log.info("draft %s: card sent to %s", draft.id, userid)

    def card_outcome(self, session: Session, draft_id: int, now: datetime) -> None:
        """Show the draft's outcome on each of its cards (each response_code once), or say it in a text."""
        draft = session.get(Draft, draft_id, populate_existing=True)
        if draft is None:
            return
        outcome = outcome_of(draft)
        if outcome is None:
            return
        cards = session.scalars(select(Card).where(Card.draft_id == draft.id).order_by(Card.id).with_for_update()).all()
        who = customer_label(draft)
        for card in cards:
            if card.outcome == outcome:
                continue
            reason = self._outcome_reason(draft, outcome, who)
            if reason:
                self._notify_text([card.userid], reason)  # before the card: a retry repeats it, and WeCom drops the repeat
            updated = False
            if card.response_code:
                try:
                    self.client.post("message/update_template_card", card_update(
                        card.userid, card.response_code, outcome, agentid=self.settings.wecom_agent_id))
                    updated = True
                except WeComError as exc:
                    if exc.retryable:
                        raise
                    log.warning("draft %s: card of %s not updated (%s); telling them in a text", draft.id, card.userid, exc)
                card.response_code = None  # used, or refused: never used again
            self_made = outcome == NOT_SENT and draft.rejected_by == card.userid  # they were told when they decided
            if not updated and not reason and outcome != EXPIRED and not self_made:
                text = draft.final_text or draft.original_text
                # the draft's number keeps the text unique for WeCom's duplicate check
                self._notify_text([card.userid], f"{outcome}｜#{draft.id} {who}：{cut(text, 40)}")
            card.outcome = outcome
            card.updated_at = now
            session.commit()  # a used response_code is gone for good: record it before the next card

    def escalate(self, session: Session, draft_id: int, now: datetime) -> None:
        """Tell the admins, once, about an urgent draft still undecided."""
        draft = session.get(Draft, draft_id, with_for_update=True, populate_existing=True)
        if draft is None or draft.status not in OPEN or draft.escalated_at is not None:
            return
        admins = list(dict.fromkeys(self.settings.admins))
        if not admins:
            log.warning("urgent draft %s is undecided but DRAFTBOT_ADMINS is empty: no one to escalate to", draft.id)
            return
        message = session.get(Message, draft.message_id)
        since = message.created_at if message is not None else draft.created_at
        waited = max(0, int((now - since).total_seconds() // 60))
        content = (
            f"【紧急未处理】{customer_label(draft)} 已等 {waited} 分钟\n"
            f"客户：{cut(draft.message_text or '（非文字消息）', 80)}\n"
            f"负责人：{draft.assignee or '未分配'}\n"
            f"回复 全文 #{draft.id} 查看草稿，发 #{draft.id} 发送"
        )
        self._notify_text(admins, content)
        draft.escalated_at = now
        draft.updated_at = now
        log.info("urgent draft %s escalated to %s after %d min", draft.id, ", ".join(admins), waited)

    # -- callbacks from the app chat ------------------------------------------------------------

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
        if not self.may_decide(draft, user):
            log.warning("card tap %s by %s refused: not theirs to decide", click.action, user)
            self._reply(user, _not_yours(draft))
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
        if draft.status == Status.NEEDS_MANUAL and text is None:
            self._reply(user, f"{who} 这条需要你来写回复：点 写回复，或回复 改 #{draft.id} 新内容。")
            return
        try:
            changed = approve(session, draft, user=user, role=self.role(user), text=text, now=now,
                              sensitive=self.outbox.sensitive)
        except NotAllowed:
            self._reply(user, _not_yours(draft))
            return
        except ValueError:
            self._reply(user, "内容是空的，没有发出。")
            return
        except TransitionError as exc:
            if draft.status not in (*OPEN, Status.SEND_FAILED):
                self._clear_edit(session, user, draft.id)
            tried = text if text is not None else draft.original_text
            self._reply(user, self._why(draft, exc, edited=text is not None, tried=tried))
            return
        self._clear_edit(session, user, draft.id)
        if not changed:
            self._reply(user, f"{who} 这条已经批准过了，正在发送。")
            return
        edited = draft.final_text != draft.original_text
        if self.metrics is not None:
            self.metrics.decisions.labels("edited" if edited else "approved").inc()
        log.info("draft %s approved by %s in the app chat%s", draft.id, user, " (edited)" if edited else "")
        if not from_card:  # a tapped card shows the outcome itself
            self._reply(user, f"好的，{'改好的回复' if edited else '这条回复'}马上发给 {who}。")

    def _reject(self, session: Session, draft: Draft, user: str, now: datetime, *, from_card: bool = False) -> None:
        who = customer_label(draft)
        try:
            changed = reject(session, draft, user=user, role=self.role(user), reason=REJECT_REASON, now=now)
        except NotAllowed:
            self._reply(user, _not_yours(draft))
            return
        except TransitionError as exc:
            self._reply(user, self._why(draft, exc))
            return
        self._clear_edit(session, user, draft.id)
        if not changed:
            self._reply(user, f"{who} 这条已经选了不发。")
            return
        if self.metrics is not None:
            self.metrics.decisions.labels("rejected").inc()
        log.info("draft %s rejected by %s in the app chat", draft.id, user)
        if not from_card:
            self._reply(user, f"好的，{who} 这条不发。")

    def _start_edit(self, session: Session, draft: Draft, user: str, now: datetime) -> None:
        who = customer_label(draft)
        if draft.status not in (*OPEN, Status.SEND_FAILED):
            self._reply(user, self._why(draft, None))
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
            if not self.may_decide(draft, user):
                self._reply(user, _not_yours(draft))
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
        query = (select(Draft).where(Draft.status.in_([s.value for s in OPEN]), self._decidable(user))
                 .order_by(Draft.id.desc()).limit(limit))
        return list(session.scalars(query))

    def _list(self, session: Session, user: str, heading: str | None = None) -> None:
        drafts = self._open_drafts(session, user, limit=LIST_MAX)
        if not drafts:
            self._reply(user, "没有待处理的草稿。")
            return
        total = session.scalar(select(func.count()).select_from(Draft)
                               .where(Draft.status.in_([s.value for s in OPEN]), self._decidable(user))) or 0
        lines = [heading or f"待处理 {total} 条（新的在前）："]
        for draft in drafts:
            said = cut(draft.message_text or "（非文字消息）", 12)
            reply = "需人工回复" if draft.status == Status.NEEDS_MANUAL else cut(draft.original_text, 16)
            lines.append(f"#{draft.id} {cut(customer_label(draft), 6)}：{said} → {reply}")
        if total > len(drafts):
            lines.append(f"还有 {total - len(drafts)} 条，请到网页处理。")
        lines.append("回复 发 #编号 / 不发 #编号 / 全文 #编号 / 改 #编号 新内容")
        self._reply(user, "\n".join(lines))

    def _warnings(self, session: Session, draft: Draft, now: datetime) -> list[dict]:
        """The draft's flags and what would stop or delay it now, each with its reason."""
        return [*draft.flags, *self.outbox.checks(session, draft, now=now)]

    def _full(self, draft: Draft, user: str, warnings: list[dict] = ()) -> None:
        who = customer_label(draft)
        said = cut(draft.message_text or "（非文字消息）", 300, one_line=False)
        if draft.status == Status.NEEDS_MANUAL:
            body = f"需人工回复：{manual_hint(draft)}。"
            actions = f"回复 改 #{draft.id} 新内容 发送 / 不发 #{draft.id}"
        else:
            body = f"草稿：\n{draft.final_text or draft.original_text}"
            actions = f"回复 发 #{draft.id} 发送 / 改 #{draft.id} 新内容 / 不发 #{draft.id}"
        state = "" if draft.status in OPEN else f"（{outcome_of(draft) or '已批准'}）"
        notes = "".join(f"\n提醒：{WARNING_NAMES.get(w['code'], w['code'])}（{w['reason']}）" for w in warnings)
        self._reply(user, f"#{draft.id}{state} {who}：{said}\n\n{body}{notes}\n\n{actions if not state else ''}".rstrip())

    # -- texts ----------------------------------------------------------------------------------

    def _why(self, draft: Draft, exc: Exception | None, *, edited: bool = False, tried: str | None = None) -> str:
        """Why a decision did not happen, in words for a phone."""
        who = customer_label(draft)
        lost = "你的内容没有发出。" if edited else ""
        status = draft.status
        words = self.outbox.sensitive.found(tried) if tried and status in (*OPEN, Status.SEND_FAILED) else []
        if words:
            return f"含敏感词（{'、'.join(words)}），没有发出：请点 修改 或回复 改 #{draft.id} 新内容。"
        if status == Status.SENT:
            return f"{who} 这条已经发出去了。{lost}"
        if status == Status.APPROVED:
            return f"{who} 这条已经批准，正在发送，不能再改。{lost}"
        if status == Status.SUPERSEDED:
            return f"{who} 又发来新消息，这条已过期，请处理新卡片。{lost}"
        if status == Status.REJECTED:
            return f"{who} 这条已经选了不发。{lost}"
        if status == Status.BLOCKED:
            return f"{who} 这条被拦截了：{draft.send_errmsg or '规则不允许发送'}。{lost}"
        if status == Status.NEEDS_MANUAL:
            return f"{who} 这条需要你来写回复：点 写回复，或回复 改 #{draft.id} 新内容。"
        return f"没有完成：{exc}" if exc is not None else f"{who} 这条现在不能修改（{status}）。"

    def _outcome_reason(self, draft: Draft, outcome: str, who: str) -> str | None:
        if outcome == SEND_FAILED:
            return f"发给 {who} 的回复发送失败：{draft.send_errmsg or '未知原因'}。回复 发 #{draft.id} 重试。"
        if outcome == BLOCKED:
            return f"发给 {who} 的回复被拦截，没有发出：{draft.send_errmsg or '规则不允许发送'}。"
        return None

    def _editing(self, session: Session, user: str, now: datetime) -> tuple[Draft | None, bool]:
        """The draft this person is editing (after a 修改 tap), and whether an edit just timed out."""
        request = session.get(EditRequest, user)
        if request is None:
            return None, False
        if now - request.started_at > EDIT_TTL:
            session.delete(request)
            return None, True
        draft = session.get(Draft, request.draft_id, with_for_update=True, populate_existing=True)
        if draft is None or not self.may_decide(draft, user):
            session.delete(request)
            return None, False
        return draft, False

    def _clear_edit(self, session: Session, user: str, draft_id: int) -> None:
        session.execute(delete(EditRequest).where(EditRequest.userid == user, EditRequest.draft_id == draft_id))

    def _reply(self, user: str, content: str) -> None:
        """Answer a staff member now; a WeCom failure is logged, never raised (the decision stands)."""
        try:
            self.client.post("message/send", text_message(user, content, agentid=self.settings.wecom_agent_id))
        except WeComError as exc:
            log.warning("reply to %s not delivered: %s", user, exc)

    def _notify_text(self, users: list[str], content: str) -> None:
        """A notification worth retrying: raises for a failure worth another try (the job runs again)."""
        message = text_message(users, content, agentid=self.settings.wecom_agent_id, dedupe=True)
        try:
            self.client.post("message/send", message)
        except WeComError as exc:
            if exc.retryable:
                raise
            log.error("notification to %s refused by WeCom: %s", ", ".join(users), exc)


def _not_yours(draft: Draft) -> str:
    owner = f"（负责人：{draft.assignee}）" if draft.assignee else ""
    return f"这条草稿不归你处理{owner}，没有做任何改动。"

