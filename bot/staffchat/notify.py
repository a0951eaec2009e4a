"""Jobs of the staff app chat: a draft's cards, their outcome once it is known, and escalation to the admins.

Each runs as a durable job with retries: a failure worth another try raises, and what was already
done (a card sent, a response_code used) is committed first so that a retry does not repeat it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Card, Draft, Message
from bot.drafts.lifecycle import OPEN
from bot.errors import WeComError
from bot.services.decisions import WORKER, record_decision
from bot.staffchat.chat import AppChat
from bot.staffchat.texts import EXPIRED, NOT_SENT, outcome_of, outcome_reason
from bot.wecom.cards import card_update, customer_label, cut, draft_card

log = logging.getLogger(__name__)


class Notifications(AppChat):
    """Cards for undecided drafts, their outcomes, and escalation of urgent drafts."""

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
                              public_url=self.settings.public_url, intent_name=" + ".join(self.intent_name(i) for i in (draft.intents or [draft.intent])), warnings=[w["code"] for w in self._warnings(session, draft, now)])
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
            reason = outcome_reason(draft, outcome)
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
            f"【紧急未处理】{customer_label(draft)} 已等 {waited} 分钟（{self.intent_name(draft.intent)}）\n"
            f"客户：{cut(draft.message_text or '（非文字消息）', 80)}\n"
            f"负责人：{draft.assignee or '未分配'}\n"
            f"回复 全文 #{draft.id} 查看草稿，发 #{draft.id} 发送"
        )
        self._notify_text(admins, content)
        draft.escalated_at = now
        draft.updated_at = now
        record_decision(session, draft, by=WORKER, action="escalated", now=now, detail={"to": admins, "waited_minutes": waited})
        log.info("urgent draft %s escalated to %s after %d min", draft.id, ", ".join(admins), waited)

