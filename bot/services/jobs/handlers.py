"""What the worker runs for each job kind: one handler per `Kind`, over the parts the runtime built."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.services.drafting import Drafting
from bot.drafts.lifecycle import OPEN
from bot.errors import SettingsError
from bot.services.archive_events import EVENTS as ARCHIVE_EVENTS, handle_event
from bot.services.archive_intake import ArchiveIntake
from bot.services.intake import pull_kf
from bot.services.delivery import Outbox
from bot.services.jobs import Kind, queue_escalation, queue_notify
from bot.wecom.client import WeComClient

log = logging.getLogger(__name__)

Payload = dict[str, Any]  # a job's JSON payload
Handler = Callable[[Session, Payload, datetime], None]


class AppChat(Protocol):
    """The staff app chat (`bot.staffchat.StaffChat`): what the jobs hand it."""

    def handle(self, session: Session, payload: Payload, now: datetime) -> None: ...
    def notify(self, session: Session, draft_id: int, now: datetime) -> None: ...
    def escalate(self, session: Session, draft_id: int, now: datetime) -> None: ...
    def card_outcome(self, session: Session, draft_id: int, now: datetime) -> None: ...


@dataclass
class JobHandlers:
    """The handlers of every job kind; `table()` is what the worker routes by."""

    settings: Settings
    drafting: Drafting
    outbox: Outbox
    wake: Callable[[], None]  # more work was queued: run it now
    kf_client: WeComClient | None = None
    staffchat: AppChat | None = None  # the staff app chat: needs the app's secret and agent id
    archive_intake: ArchiveIntake | None = None  # staff's own chats and groups (chat archive): groups' owners
    wake_archive: Callable[[], None] | None = None  # pull the chat archive now (its poller runs in this process)

    def table(self) -> dict[str, Handler]:
        return {
            Kind.WECOM_EVENT: self.wecom_event,
            Kind.DRAFT: self.draft,
            Kind.SEND: self.send,
            Kind.NOTIFY: self.notify,
            Kind.ESCALATE: self.escalate,
            Kind.CARD_OUTCOME: self.card_outcome,
        }

    def wecom_event(self, session: Session, payload: Payload, now: datetime) -> None:
        """A stored WeCom callback: pull kf messages for kf events; the chat archive's events; app-chat taps and commands; log the rest."""
        fields = payload.get("fields") or {}
        kind, name = payload.get("kind"), payload.get("name")
        if kind == "event" and name == "kf_msg_or_event":
            if self.kf_client is None:
                raise SettingsError("a kf event arrived but DRAFTBOT_WECOM_SECRET / DRAFTBOT_WECOM_KF_SECRET is not set")
            pull_kf(session, self.kf_client, token=str(fields.get("Token", "")), open_kfid=str(fields.get("OpenKfId", "")), now=now)
            if self.drafting.customers is not None:  # the new customers' nicknames in one batched call, before their drafts
                self.drafting.customers.prefetch_waiting(session, now=now)
            self.wake()
            return
        if kind == "event" and name in ARCHIVE_EVENTS:
            handle_event(session, str(name), fields, now=now, wake_archive=self.wake_archive,
                         customers=self.drafting.customers, intake=self.archive_intake)
            return
        if self.staffchat is not None and (kind == "message" or (kind == "event" and name == "template_card_event")):
            self.staffchat.handle(session, payload, now)
            return
        log.info("callback %s %s from %s: no action", kind, name, fields.get("FromUserName"))

    def draft(self, session: Session, payload: Payload, now: datetime) -> None:
        """Draft the message; with the staff app chat, queue the card and (urgent drafts) the escalation."""
        draft = self.drafting.make(session, message_id=int(payload["message_id"]), now=now, persona=payload.get("persona"))
        if draft is None or self.staffchat is None or draft.channel == "demo":
            return  # demo drafts reach no real customer and notify nobody
        if draft.status in OPEN:
            queue_notify(session, draft_id=draft.id, now=now)
        if draft.urgent:
            queue_escalation(session, draft_id=draft.id, now=now, after=timedelta(minutes=self.settings.escalate_after_minutes))

    def send(self, session: Session, payload: Payload, now: datetime) -> None:
        self.outbox.deliver(session, draft_id=int(payload["draft_id"]), now=now)

    def notify(self, session: Session, payload: Payload, now: datetime) -> None:
        """Send a new draft's card to its staff (a no-op without the app chat)."""
        if self.staffchat is not None:
            self.staffchat.notify(session, int(payload["draft_id"]), now)

    def escalate(self, session: Session, payload: Payload, now: datetime) -> None:
        """Tell the admins about an urgent draft still undecided (a no-op without the app chat)."""
        if self.staffchat is not None:
            self.staffchat.escalate(session, int(payload["draft_id"]), now)

    def card_outcome(self, session: Session, payload: Payload, now: datetime) -> None:
        """Show a draft's outcome on its staff cards (a no-op without the app chat)."""
        if self.staffchat is not None:
            self.staffchat.card_outcome(session, int(payload["draft_id"]), now)
