"""Tables: jobs (durable work queue), messages, drafts, customers, kf cursors, API tokens, console accounts,
sessions and failed sign-ins, configuration versions and the draft configuration."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Index,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    pass


class Job(Base):
    """A unit of durable work; `key` makes enqueueing idempotent (a retried callback adds nothing)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_after"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|running|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Message(Base):
    """A message in a conversation: from the customer (direction 'in') or a sent reply ('out')."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "msg_id", name="uq_messages_channel_msg_id"),
        Index("ix_messages_customer", "channel", "customer_id", "created_at"),
        Index("ix_messages_unredacted", "redacted_at", "created_at"),  # what retention has left to redact
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # kf | archive | demo
    msg_id: Mapped[str] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(3), default="in")
    customer_id: Mapped[str] = mapped_column(String(128))
    customer_name: Mapped[str] = mapped_column(String(128), default="")
    open_kfid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    staff_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    msg_type: Mapped[str] = mapped_column(String(32), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    # the customer's own words, as WeCom delivered them or a trusted intake vouched: only these make a promotion solicited
    from_customer: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    draft_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    room_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # a customer group (客户群) of the chat archive
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # texts emptied: deletion or retention


class Draft(Base):
    """A reply draft for one inbound message, and what humans decided about it."""

    __tablename__ = "drafts"
    __table_args__ = (
        Index("ix_drafts_status", "status", "created_at"),
        Index("ix_drafts_unredacted", "redacted_at", "created_at"),  # what retention has left to redact
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(String(128))
    customer_name: Mapped[str] = mapped_column(String(128), default="")
    open_kfid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(128), nullable=True)
    message_text: Mapped[str] = mapped_column(Text, default="")
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    runners_up: Mapped[list] = mapped_column(JSON, default=list)
    persona: Mapped[str] = mapped_column(String(64))
    template: Mapped[str | None] = mapped_column(String(255), nullable=True)
    variation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    original_text: Mapped[str] = mapped_column(Text, default="")
    final_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    solicited: Mapped[bool] = mapped_column(Boolean, default=False)  # the customer asked for deals or advice
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    superseded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    entities: Mapped[dict] = mapped_column(JSON, default=dict)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    manual_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rejected_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reject_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    send_errcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    send_errmsg: Mapped[str | None] = mapped_column(Text, nullable=True)
    corrected_intent: Mapped[str | None] = mapped_column(String(64), nullable=True)  # set by staff: the right intent
    corrected_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    answer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the brand answer the draft says
    intents: Mapped[list | None] = mapped_column(JSON, nullable=True)  # every intent the draft answers, the primary first
    room_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # a group draft: the customer group it answers in
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # texts emptied: deletion or retention


class Card(Base):
    """A template card sent to a staff member for a draft, and the response_code to update it once."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    userid: Mapped[str] = mapped_column(String(128))
    task_id: Mapped[str] = mapped_column(String(128), unique=True)
    response_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)  # what the card shows once updated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EditRequest(Base):
    """A staff member tapped 修改: their next app-chat message is the new text for this draft."""

    __tablename__ = "edit_requests"

    userid: Mapped[str] = mapped_column(String(128), primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OptOut(Base):
    """The opt-out ledger: each row records an opt-out or its lifting; the newest row for a customer counts."""

    __tablename__ = "opt_outs"
    __table_args__ = (Index("ix_opt_outs_customer", "channel", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(String(128))
    opted_out: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[str] = mapped_column(String(128))  # "customer" or a staff userid
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Customer(Base):
    """Who a customer is, as WeCom said when last asked: nickname, a staff member's remark and tags (a cache)."""

    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_who", "channel", "customer_id", "staff_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(String(128))
    staff_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # whose remark and tags (own chats)
    nickname: Mapped[str] = mapped_column(String(128), default="")
    remark: Mapped[str] = mapped_column(String(128), default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KfCursor(Base):
    """The kf/sync_msg cursor of one kf account, so a restart continues where it left off."""

    __tablename__ = "kf_cursors"

    open_kfid: Mapped[str] = mapped_column(String(128), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ApiToken(Base):
    """A bearer token for the staff API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ConfigVersion(Base):
    """A published configuration: every file under intents/ and persona_styles/ (relative path -> text)."""

    __tablename__ = "config_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    files: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical files
    author: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    evaluation: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # accuracy, macro_f1, per_intent F1


class ConfigState(Base):
    """The single row (id 1) naming the active configuration version; instances poll changed_at."""

    __tablename__ = "config_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    active_version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditLog(Base):
    """The append-only audit trail: who did what, as which role, from which surface, to what; hash-chained.

    Written only by `bot.services.audit.record`; redaction (customer deletion, retention) clears
    `customer_id` and `text` only, which the hash does not cover, so the chain stays whole.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        UniqueConstraint("hash", name="uq_audit_log_hash"),
        Index("ix_audit_log_customer_key", "customer_key"),
        Index("ix_audit_log_actor", "actor"),
        Index("ix_audit_log_action", "action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))  # approved | rejected | opt_out | publish | token_created | ...
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # never customer text or ids
    role: Mapped[str] = mapped_column(String(16), default="", server_default="")
    surface: Mapped[str] = mapped_column(String(16), default="", server_default="")  # api | card | chat | sidebar | console | cli | worker | callback | demo
    subject: Mapped[str] = mapped_column(String(64), default="", server_default="")  # draft:12, token:3, account:lin, config:v4, customer
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    customer_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # redactable
    customer_key: Mapped[str | None] = mapped_column(String(64), nullable=True)  # sha256 of "channel:customer_id", permanent
    text: Mapped[str | None] = mapped_column(Text, nullable=True)  # customer words or reply text; redactable
    text_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row (id 1) naming the newest audit event and its hash: appends lock it, one at a time."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")


class Team(Base):
    """A supervisor's team: one row per staff member they oversee."""

    __tablename__ = "teams"

    supervisor: Mapped[str] = mapped_column(String(128), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class Account(Base):
    """A console sign-in: a WeCom userid with a role and a password hash (scrypt); made with the CLI."""

    __tablename__ = "accounts"

    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ConsoleSession(Base):
    """A signed-in console session: the cookie holds a random token, the table its SHA-256."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A wrong password (or unknown account) at the console's sign-in: what throttles guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConfigDraft(Base):
    """The single row (id 1) holding the configuration admins are editing, before it is published."""

    __tablename__ = "config_draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_version: Mapped[int] = mapped_column(Integer)  # the version the draft started from
    files: Mapped[dict] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    evaluation: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the last evaluation, with the digest it was for


class ArchiveState(Base):
    """The single row (id 1) of the chat archive's pull: the seq cursor, the lease of the instance pulling, the last error."""

    __tablename__ = "archive_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)  # every item up to this seq is stored (or held)
    lease_holder: Mapped[str] = mapped_column(String(64), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)  # the SDK's last failure, in Chinese
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # the last pull that succeeded
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArchiveHeld(Base):
    """An archive item that could not be decrypted yet (its key version is missing): kept until the key is given."""

    __tablename__ = "archive_held"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    msgid: Mapped[str] = mapped_column(String(128), unique=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    publickey_ver: Mapped[int] = mapped_column(Integer)
    item: Mapped[dict] = mapped_column(JSON)  # the item as GetChatData gave it (still encrypted)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArchiveRoom(Base):
    """A customer group (客户群) as WeCom said when last asked: its owner gets the group's drafts."""

    __tablename__ = "archive_rooms"

    room_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    members: Mapped[dict] = mapped_column(JSON, default=dict)  # its staff members: userid -> name (for @ mentions)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
