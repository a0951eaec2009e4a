"""The callback events that concern staff's own chats: msgaudit_notify, change_external_contact, change_external_chat.

* ``msgaudit_notify``: new messages are in the chat archive: the archive poller pulls now.
* ``change_external_contact`` (add, edit, …): the customer's name and the staff member's remark and tags
  are asked from WeCom again, so the next draft names them as the staff member knows them now.
* ``change_external_chat`` (create, update, dismiss): the group's owner and staff members are asked again
  (a dismissed group is forgotten), so its drafts go to the right person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.db.models import ArchiveRoom
from bot.services.archive_intake import ArchiveIntake
from bot.services.customers import CustomerDirectory

log = logging.getLogger(__name__)

EVENTS = ("msgaudit_notify", "change_external_contact", "change_external_chat")


def handle_event(session: Session, name: str, fields: dict[str, Any], *, now: datetime, wake_archive: Callable[[], None] | None,
                 customers: CustomerDirectory | None, intake: ArchiveIntake | None) -> None:
    """Act on one of `EVENTS` (the caller commits)."""
    change = str(fields.get("ChangeType") or "")
    if name == "msgaudit_notify":
        if wake_archive is None:
            log.warning("msgaudit_notify arrived but the chat archive is not configured (DRAFTBOT_ARCHIVE_SDK)")
        else:
            wake_archive()
        return
    if name == "change_external_contact":
        customer, staff = str(fields.get("ExternalUserID") or ""), str(fields.get("UserID") or "")
        if customers is None or not customer or not staff or change == "del_external_contact":
            log.info("change_external_contact %s for %s / %s: nothing to refresh", change, staff, customer)
            return
        info = customers.refresh_contact(session, channel="archive", customer_id=customer, staff_id=staff, now=now)
        log.info("change_external_contact %s: %s of %s is now known as %r", change, customer, staff, info.name)
        return
    if name == "change_external_chat":
        room_id = str(fields.get("ChatId") or "")
        if not room_id:
            return
        if change == "dismiss":
            room = session.get(ArchiveRoom, room_id)
            if room is not None:
                session.delete(room)
            log.info("group %s dismissed", room_id)
            return
        room = intake.refresh_room(session, room_id, now=now) if intake is not None else None
        log.info("change_external_chat %s for group %s: owner %s", change, room_id, room.owner if room else "unknown")
