"""What every part of the staff app chat shares: who may decide, a draft's warnings, texts to staff."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db.models import Draft
from bot.drafts.access import Principal
from bot.errors import WeComError
from bot.services import access
from bot.services.delivery import Outbox
from bot.services.decisions import Decider, DraftDecisions
from bot.wecom.cards import text_message
from bot.wecom.client import WeComClient

log = logging.getLogger(__name__)


class AppChat:
    """The app chat's settings, WeCom client and outbox, and what both the jobs and the callbacks need."""

    def __init__(self, *, settings: Settings, client: WeComClient, outbox: Outbox, decisions: DraftDecisions,
                 intent_names: Callable[[str | None], str] | None = None) -> None:
        self.settings = settings
        self._intent_names = intent_names  # the active configuration's display names (退款退货), by intent id
        self.client = client
        self.outbox = outbox
        self.decisions = decisions

    # -- who may decide -------------------------------------------------------------------------

    def principal(self, session: Session, user: str) -> Principal:
        """Who is writing: an admin (DRAFTBOT_ADMINS), a supervisor (has a team), else staff."""
        return access.chat_principal(session, user, admins=self.settings.admins)

    def decider(self, session: Session, user: str, surface: str = "chat") -> Decider:
        """`surface`: "card" for a tap on a card's button, "chat" for a text command."""
        return Decider.of(self.principal(session, user), surface)

    def may_decide(self, session: Session, draft: Draft, user: str) -> bool:
        """The rule every surface shares (`DraftDecisions.may_decide`)."""
        return self.decisions.may_decide(draft, self.decider(session, user))

    def _decidable(self, session: Session, user: str) -> ColumnElement[bool]:
        """The drafts offered to `user` in lists, as a WHERE clause."""
        return access.decidable_drafts(self.principal(session, user), self.settings.approvers)

    # -- shared by cards and commands -----------------------------------------------------------

    def intent_name(self, intent: str | None) -> str:
        """What staff call the draft's intent (its display name), e.g. 退款退货."""
        if self._intent_names is not None:
            return self._intent_names(intent)
        return intent or "未识别"

    def _warnings(self, session: Session, draft: Draft, now: datetime) -> list[dict]:
        """The draft's flags and what would stop or delay it now, each with its reason."""
        return [*draft.flags, *self.outbox.checks(session, draft, now=now)]

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
