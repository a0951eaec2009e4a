"""What becomes of each chat-archive message: a customer's question becomes a draft, a staff member's own reply closes one.

* 1:1 text (or any message) from an external contact (``wm…``/``wo…``) to a staff member: a customer
  message on channel ``archive`` for that staff member, drafted by the usual pipeline (persona by the
  staff binding; stale drafts superseded; don't-disturb rules at approval). Non-text: needs a human.
* The staff member's own text to that customer: stored as an outgoing message, and every undecided
  draft of that conversation is closed as ``answered_manually`` with the text they sent.
* Customer groups (``roomid``): a customer's message that asks something of the brand (a question by
  the classifier or by its wording, or an @ of a staff member) becomes a draft for the @-ed staff
  member, else for the group's owner; chit-chat between customers does not. A staff member's text in
  the group closes their undecided drafts of that group.
* Messages between colleagues, recalls and switches are ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bot.db.models import ArchiveRoom, Draft, Message
from bot.db.queue import insert_ignoring_duplicates
from bot.drafts.lifecycle import OPEN, Status
from bot.drafts.pipeline import Inbound, Pipeline
from bot.errors import WeComError
from bot.nlu.clauses import asked_intents
from bot.services.decisions import Decider, announce, moved, record_decision
from bot.services.intake import store_inbound
from bot.services.storable import UnstorableMessage
from bot.wecom.archive import ArchiveMessage, is_external
from bot.wecom.client import WeComClient

log = logging.getLogger(__name__)

CHANNEL = "archive"
ROOM_REFRESH = timedelta(hours=24)
QUESTION_WORDING = re.compile(r"[?？]\s*$|请问|能不能|可不可以|有没有|怎么|为什么|多少钱|在哪")
CLOSABLE = (*OPEN, Status.APPROVED)  # an approved archive draft still waits for the staff member to insert it


class ArchiveIntake:
    """Stores archive messages in the caller's transaction (deduplicated by msgid) and decides what they become."""

    def __init__(self, *, pipeline: Callable[[], Pipeline], contacts_client: WeComClient | None) -> None:
        self.pipeline = pipeline  # read at each call: a new configuration version may be swapped in
        self.contacts_client = contacts_client

    def take(self, session: Session, message: ArchiveMessage, *, now: datetime) -> str:
        """Store one message and what follows from it; returns what it became (for logs and tests)."""
        if message.action != "send":
            return "ignored"  # a recall or a switch of device
        if message.from_customer:
            return self._from_customer(session, message, now=now)
        customers = [userid for userid in message.tolist if is_external(userid)]
        if message.room_id:
            return self._staff_in_group(session, message, now=now)
        if not customers:
            return "ignored"  # between colleagues
        return self._staff_reply(session, message, customers[0], now=now)

    # -- from a customer ----------------------------------------------------------------------

    def _from_customer(self, session: Session, message: ArchiveMessage, *, now: datetime) -> str:
        if message.room_id:
            staff = self._group_assignee(session, message, now=now)
            if staff is None:
                return "chit-chat"
            return self._store(session, message, staff_id=staff or None, now=now, kind="group")
        staff_ids = [userid for userid in message.tolist if not is_external(userid)]
        if not staff_ids:
            return "ignored"
        return self._store(session, message, staff_id=staff_ids[0], now=now, kind="draft")

    def _store(self, session: Session, message: ArchiveMessage, *, staff_id: str | None, now: datetime, kind: str) -> str:
        inbound = Inbound(msg_id=message.msgid, channel=CHANNEL, customer_id=message.sender, text=message.text,
                          msg_type=message.msgtype or "unknown", staff_id=staff_id)
        try:
            stored = store_inbound(session, inbound, now=now, sent_at=sent_at(message), room_id=message.room_id or None)
        except UnstorableMessage as exc:
            log.warning("archive message %.80r not stored: %s", message.msgid, exc)
            return "unstorable"
        return kind if stored else "duplicate"

    def _group_assignee(self, session: Session, message: ArchiveMessage, *, now: datetime) -> str | None:
        """Who answers a customer's group message: the @-ed staff member, else the owner ("" if unknown); None: chit-chat."""
        room = self._room(session, message.room_id, now=now)
        members: dict[str, str] = dict(room.members or {}) if room is not None else {}  # staff userid -> name
        staff_in_chat = [userid for userid in message.tolist if not is_external(userid)]
        for word in message.mentions:
            for userid in [*staff_in_chat, *members]:
                if word == userid or word == members.get(userid):
                    return str(userid)
        if message.msgtype != "text" or not self.asks_the_brand(message.text):
            return None
        if room is not None and room.owner:
            return room.owner
        return staff_in_chat[0] if len(staff_in_chat) == 1 else ""

    def asks_the_brand(self, text: str) -> bool:
        """A question to the brand (an intent the classifier accepts, or question wording), not chit-chat."""
        if QUESTION_WORDING.search(text):
            return True
        return bool(asked_intents(self.pipeline().classifier, text))

    # -- from staff ---------------------------------------------------------------------------

    def _staff_reply(self, session: Session, message: ArchiveMessage, customer: str, *, now: datetime) -> str:
        stored = self._store_out(session, message, customer=customer, now=now)
        if stored is None:
            return "duplicate"
        if message.msgtype != "text" or not message.text.strip():
            return "staff"
        closed = self._close(session, [Draft.customer_id == customer, Draft.room_id.is_(None)], message, now=now)
        return "answered" if closed else "staff"

    def _staff_in_group(self, session: Session, message: ArchiveMessage, *, now: datetime) -> str:
        stored = self._store_out(session, message, customer="", now=now)
        if stored is None:
            return "duplicate"
        if message.msgtype != "text" or not message.text.strip():
            return "staff"
        closed = self._close(session, [Draft.room_id == message.room_id], message, now=now)
        return "answered" if closed else "staff"

    def _store_out(self, session: Session, message: ArchiveMessage, *, customer: str, now: datetime) -> int | None:
        values = dict(channel=CHANNEL, msg_id=message.msgid[:128], direction="out", customer_id=customer,
                      customer_name="", staff_id=message.sender, msg_type=message.msgtype or "unknown",
                      text=message.text, from_customer=False, room_id=message.room_id or None,
                      created_at=sent_at(message) or now)
        return insert_ignoring_duplicates(session, Message, values, ["channel", "msg_id"])

    def _close(self, session: Session, where: list[ColumnElement[bool]], message: ArchiveMessage, *, now: datetime) -> int:
        """Close the staff member's undecided drafts of this conversation as answered by hand, with their text."""
        drafts = session.scalars(select(Draft).where(
            Draft.channel == CHANNEL, Draft.assignee == message.sender, Draft.status.in_([s.value for s in CLOSABLE]), *where,
        ).order_by(Draft.id)).all()
        closed = 0
        for draft in drafts:
            if moved(session, draft, status=Status.ANSWERED_MANUALLY.value, final_text=message.text[:4096],
                     decided_at=now, updated_at=now):
                announce(session, draft, now=now)
                record_decision(session, draft, by=Decider(user=message.sender, role="staff", surface="worker"),
                                action="answered_manually", now=now, text=message.text)
                closed += 1
                log.info("draft %s answered by %s by hand in the chat", draft.id, message.sender)
        return closed

    # -- customer groups ----------------------------------------------------------------------

    def _room(self, session: Session, room_id: str, *, now: datetime) -> ArchiveRoom | None:
        """The group's owner and staff members, cached for a day; asked from WeCom (groupchat/get) when missing."""
        room = session.get(ArchiveRoom, room_id)
        if room is not None and now - room.fetched_at < ROOM_REFRESH:
            return room
        return self.refresh_room(session, room_id, now=now) or room

    def refresh_room(self, session: Session, room_id: str, *, now: datetime) -> ArchiveRoom | None:
        """Ask WeCom for the group (externalcontact/groupchat/get) and cache it; None when WeCom cannot say."""
        if self.contacts_client is None or not room_id:
            return None
        try:
            answer = self.contacts_client.post("externalcontact/groupchat/get", {"chat_id": room_id, "need_name": 1})
        except WeComError as exc:
            log.warning("group %s: groupchat/get failed: %s", room_id, exc)
            return None
        found = answer.get("group_chat")
        group: dict[str, Any] = found if isinstance(found, dict) else {}
        members = {}
        for member in group.get("member_list") or []:
            if isinstance(member, dict) and isinstance(member.get("userid"), str) and member.get("type") != 2:
                members[member["userid"]] = str(member.get("name") or member.get("group_nickname") or "")
        room = session.get(ArchiveRoom, room_id) or ArchiveRoom(room_id=room_id)
        room.owner = str(group.get("owner") or "")[:128]
        room.name = str(group.get("name") or "")[:255]
        room.members = members
        room.fetched_at = now
        session.add(room)
        session.flush()
        return room


def sent_at(message: ArchiveMessage) -> datetime | None:
    """When it was sent (msgtime, milliseconds); None for a time no datetime can hold."""
    try:
        return datetime.fromtimestamp(message.msgtime / 1000, timezone.utc) if message.msgtime > 0 else None
    except (OverflowError, OSError, ValueError):
        return None
