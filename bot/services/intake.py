"""Intake: store customer messages (deduplicated) and queue their drafts; pull kf messages."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from bot.db.models import KfCursor, Message
from bot.db.queue import insert_ignoring_duplicates
from bot.drafts.pipeline import Inbound
from bot.services.jobs import queue_draft
from bot.services.storable import UnstorableMessage, storable_inbound
from bot.wecom.client import WeComClient
from bot.wecom.kf import CUSTOMER, KfMessage, sync_pages

log = logging.getLogger(__name__)


def store_inbound(
    session: Session, inbound: Inbound, *, now: datetime, sent_at: datetime | None = None, persona: str | None = None,
    room_id: str | None = None,
) -> int | None:
    """Store a customer message and queue its draft (in `persona`, if given) in the caller's transaction; None for a duplicate.

    `room_id` is the customer group (chat archive) the message was written in; None for a 1:1 chat.

    Its text fields are stored as `storable_inbound` makes them; `UnstorableMessage` if it cannot be stored at all.
    """
    inbound = storable_inbound(inbound)
    values = dict(
        channel=inbound.channel,
        msg_id=inbound.msg_id,
        direction="in",
        customer_id=inbound.customer_id,
        customer_name=inbound.customer_name,
        open_kfid=inbound.open_kfid,
        staff_id=inbound.staff_id,
        msg_type=inbound.msg_type,
        text=inbound.text,
        from_customer=inbound.from_customer,
        room_id=room_id,
        created_at=sent_at or now,
    )
    message_id = insert_ignoring_duplicates(session, Message, values, ["channel", "msg_id"])
    if message_id is not None:
        queue_draft(session, message_id=message_id, persona=persona, now=now)
    return message_id


def pull_kf(session: Session, client: WeComClient, *, token: str, open_kfid: str, now: datetime) -> int:
    """Follow kf/sync_msg from the saved cursor; each page and its cursor commit together. Returns new messages.

    A message that cannot be stored is logged and passed over: the cursor moves on and the rest of its page is stored.
    """
    row = session.get(KfCursor, open_kfid)
    cursor = row.cursor if row else ""
    added = 0
    for messages, next_cursor in sync_pages(client, token=token, open_kfid=open_kfid, cursor=cursor):
        for message in messages:
            if message.origin != CUSTOMER:
                continue
            try:
                if store_inbound(session, _inbound(message), now=now, sent_at=_time(message)):
                    added += 1
            except UnstorableMessage as exc:
                log.warning("kf %s: message %.80r from %.80r not stored: %s", open_kfid, message.msgid, message.external_userid, exc)
        row = session.get(KfCursor, open_kfid) or KfCursor(open_kfid=open_kfid)
        row.cursor = next_cursor
        row.updated_at = now
        session.add(row)
        session.commit()
    log.info("kf %s: %d new customer messages", open_kfid, added)
    return added


def _inbound(message: KfMessage) -> Inbound:
    return Inbound(
        msg_id=message.msgid,
        channel="kf",
        customer_id=message.external_userid,
        text=message.text,
        msg_type=message.msgtype,
        open_kfid=message.open_kfid,
    )


def _time(message: KfMessage) -> datetime | None:
    """When the customer sent it; None (store it as received now) for a time no datetime can hold."""
    try:
        return datetime.fromtimestamp(message.send_time, timezone.utc) if message.send_time else None
    except (OverflowError, OSError, ValueError):
        return None
