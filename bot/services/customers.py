"""Who the customer is: names and tags from WeCom, cached in the `customers` table, asked by the worker only.

微信客服 customers get their WeChat nickname from ``kf/customer/batchget`` (up to 100 per call);
customers of staff's own chats get their name, the staff member's remark and corp tags from
``externalcontact/get``. Answers are kept for `refresh` (24 h) and shared by every instance through
the database. A failed call leaves the customer known by id only, never holds a draft up, and makes
this process leave that WeCom API alone for `pause` so a WeCom outage does not slow every draft.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Customer, Draft, Message
from bot.errors import WeComError
from bot.wecom.client import WeComClient
from bot.wecom.contacts import Contact, batchget_kf_customers, get_external_contact

log = logging.getLogger(__name__)

REFRESH = timedelta(hours=24)
PAUSE = timedelta(seconds=60)
NOT_A_CONTACT = frozenset({84061, 40096})  # externalcontact/get: not this corp's customer, invalid external_userid


@dataclass(frozen=True)
class CustomerInfo:
    """A customer as templates and staff see them: `name` is the remark before the nickname ("" if unknown)."""

    id: str
    name: str = ""
    tags: tuple[str, ...] = field(default=())

    def as_context(self) -> dict[str, object]:
        """What templates read as `customer`: {"name": ..., "tags": [...], "id": ...}."""
        return {"name": self.name, "tags": list(self.tags), "id": self.id}


class CustomerDirectory:
    """Looks customers up in the cache, and in WeCom when the cache is missing or older than `refresh`."""

    def __init__(self, *, kf_client: WeComClient | None, contacts_client: WeComClient | None,
                 refresh: timedelta = REFRESH, pause: timedelta = PAUSE) -> None:
        self.kf_client = kf_client
        self.contacts_client = contacts_client
        self.refresh = refresh
        self.pause = pause
        self._paused_until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def lookup(self, session: Session, *, channel: str, customer_id: str, staff_id: str | None, now: datetime,
               given_name: str = "") -> CustomerInfo:
        """The customer's name and tags; `given_name` (from the message) when WeCom knows none. Never raises."""
        row = None
        try:
            if channel == "kf":
                self.prefetch_kf(session, [customer_id], now=now)
                row = self._cached(session, "kf", customer_id, None)
            elif channel == "archive" and staff_id:
                row = self._cached(session, "archive", customer_id, staff_id)
                if (row is None or self._stale(row, now)) and self._may_ask("archive", now):
                    row = self._fetch_contact(session, customer_id, staff_id, now) or row
        except WeComError as exc:  # an answer that is not what WeCom documents: the customer stays known by id
            log.warning("looking up customer %s (%s) failed: %s", customer_id, channel, exc)
        if row is None:
            return CustomerInfo(id=customer_id, name=given_name)
        return CustomerInfo(id=customer_id, name=row.remark or row.nickname or given_name, tags=tuple(row.tags or ()))

    def refresh_contact(self, session: Session, *, channel: str, customer_id: str, staff_id: str | None, now: datetime) -> CustomerInfo:
        """Ask WeCom again now, whatever the cache holds (WeCom said the contact changed); never raises."""
        for row in session.scalars(select(Customer).where(Customer.channel == channel, Customer.customer_id == customer_id)):
            if row.staff_id == staff_id:
                row.fetched_at = now - self.refresh  # stale: the lookup below asks WeCom
        session.flush()
        return self.lookup(session, channel=channel, customer_id=customer_id, staff_id=staff_id, now=now)

    def prefetch_kf(self, session: Session, customer_ids: Iterable[str], *, now: datetime) -> int:
        """Ask kf/customer/batchget, in batches, for the 微信客服 customers not cached or stale; returns how many were asked."""
        wanted = list(dict.fromkeys(i for i in customer_ids if i))
        if not wanted or self.kf_client is None or not self._may_ask("kf", now):
            return 0
        cached = {row.customer_id: row for row in session.scalars(
            select(Customer).where(Customer.channel == "kf", Customer.customer_id.in_(wanted), Customer.staff_id.is_(None))
        )}
        missing = [i for i in wanted if i not in cached or self._stale(cached[i], now)]
        if not missing:
            return 0
        try:
            found = batchget_kf_customers(self.kf_client, missing)
        except WeComError as exc:
            self._failed("kf", now, exc)
            return 0
        for customer_id in missing:  # one WeCom does not know is remembered too, with no nickname
            contact = found.get(customer_id, Contact(external_userid=customer_id))
            self._store(session, cached.get(customer_id), channel="kf", staff_id=None, contact=contact, now=now)
        session.flush()
        return len(missing)

    def prefetch_waiting(self, session: Session, *, now: datetime) -> int:
        """Prefetch the 微信客服 customers whose messages wait for a draft (after a kf pull): one batched call."""
        drafted = select(Draft.id).where(Draft.message_id == Message.id).exists()
        waiting = session.scalars(
            select(Message.customer_id).where(Message.channel == "kf", Message.direction == "in", ~drafted)
            .order_by(Message.id.desc()).limit(1000)
        )
        return self.prefetch_kf(session, list(dict.fromkeys(waiting)), now=now)

    def _fetch_contact(self, session: Session, customer_id: str, staff_id: str, now: datetime) -> Customer | None:
        if self.contacts_client is None:
            return None
        try:
            contact = get_external_contact(self.contacts_client, customer_id, staff_id=staff_id)
        except WeComError as exc:
            if exc.errcode not in NOT_A_CONTACT:
                self._failed("archive", now, exc)
                return None
            log.info("customer %s is not an external contact WeCom knows (%s)", customer_id, exc.errcode)
            contact = Contact(external_userid=customer_id)  # remembered without a name, asked again after `refresh`
        row = self._store(session, self._cached(session, "archive", customer_id, staff_id), channel="archive",
                          staff_id=staff_id, contact=contact, now=now)
        session.flush()
        return row

    @staticmethod
    def _cached(session: Session, channel: str, customer_id: str, staff_id: str | None) -> Customer | None:
        who = Customer.staff_id.is_(None) if staff_id is None else Customer.staff_id == staff_id
        return session.scalar(
            select(Customer).where(Customer.channel == channel, Customer.customer_id == customer_id, who)
            .order_by(Customer.fetched_at.desc(), Customer.id.desc()).limit(1)
        )

    @staticmethod
    def _store(session: Session, row: Customer | None, *, channel: str, staff_id: str | None, contact: Contact,
               now: datetime) -> Customer:
        row = row or Customer(channel=channel, customer_id=contact.external_userid, staff_id=staff_id)
        row.nickname, row.remark, row.tags, row.fetched_at = contact.nickname, contact.remark, list(contact.tags), now
        session.add(row)
        return row

    def _stale(self, row: Customer, now: datetime) -> bool:
        return now - row.fetched_at >= self.refresh

    def _may_ask(self, api: str, now: datetime) -> bool:
        with self._lock:
            return now >= self._paused_until.get(api, now)

    def _failed(self, api: str, now: datetime, exc: WeComError) -> None:
        log.warning("customer lookup (%s) failed, drafts name customers by id for %ss: %s", api, self.pause.seconds, exc)
        with self._lock:
            self._paused_until[api] = now + self.pause
