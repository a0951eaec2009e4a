"""One customer's personal data: export everything held about them, and delete it (PIPL access and erasure).

Deleting keeps only what the brand needs to honour the customer's choices and to account for what it
did: their opt-out ledger rows under a one-way pseudonym of their id (so the same customer writing
again is still opted out), the audit facts with their id and words redacted, and drafts and
messages emptied of every text, name and entity (status, intent, persona and times stay for the
dashboard), also under the pseudonym. Their names, cards, edit requests and queued work go, and
every example or answer question in the configuration that quotes one of their messages.

Both functions work in the caller's transaction; `erase_customer` commits and then makes sure no
old copy of the words stays in the database's files (`bot.db.session.wipe_freed`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast as cast_result

from sqlalchemy import CursorResult, Delete, Text, cast, delete, or_, select
from sqlalchemy.orm import Session

from bot.db.models import AuditLog, Card, ConfigDraft, ConfigVersion, Customer, Draft, EditRequest, Job, Message, OptOut
from bot.db.session import wipe_freed
from bot.drafts.lifecycle import OPEN, Status
from bot.services import audit
from bot.services.config_quotes import quoted_keys, scrub_files
from bot.services.configuration.files import ConfigFiles
from bot.services.opt_outs import ledger_ids, pseudonym

log = logging.getLogger(__name__)

EXPORTED, DELETED = "customer_exported", "customer_deleted"  # audit actions
CLOSED_REASON = "客户资料已删除，草稿不再发送"  # reject_reason of a draft still open when its customer was deleted
KEPT_FLAG_FIELDS = ("code", "best", "confidence")  # what a redacted draft keeps of each flag (no quoted words)
TOUCHED = ("messages", "drafts", "customers", "opt_outs", "edit_requests", "cards", "jobs", "config_draft",
           "config_versions", "audit_log")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _messages(session: Session, channel: str, customer_id: str) -> list[Message]:
    return list(session.scalars(
        select(Message).where(Message.channel == channel, Message.customer_id.in_(ledger_ids(channel, customer_id)))
        .order_by(Message.id)
    ))


def _drafts(session: Session, channel: str, customer_id: str) -> list[Draft]:
    return list(session.scalars(
        select(Draft).where(Draft.channel == channel, Draft.customer_id.in_(ledger_ids(channel, customer_id)))
        .order_by(Draft.id)
    ))


def _ledger(session: Session, channel: str, customer_id: str) -> list[OptOut]:
    return list(session.scalars(
        select(OptOut).where(OptOut.channel == channel, OptOut.customer_id.in_(ledger_ids(channel, customer_id)))
        .order_by(OptOut.id)
    ))


def _names(session: Session, channel: str, customer_id: str) -> list[Customer]:
    return list(session.scalars(
        select(Customer).where(Customer.channel == channel, Customer.customer_id == customer_id).order_by(Customer.id)
    ))


def _events(session: Session, channel: str, customer_id: str) -> list[AuditLog]:
    return list(session.scalars(
        select(AuditLog).where(AuditLog.customer_key == audit.customer_key(channel, customer_id)).order_by(AuditLog.id)
    ))


# ----- export --------------------------------------------------------------------------------------


def held(session: Session, channel: str, customer_id: str) -> dict[str, Any]:
    """Everything held about the customer as JSON-ready data (an unknown customer: the same keys, empty)."""
    messages, drafts, ledger = _messages(session, channel, customer_id), _drafts(session, channel, customer_id), \
        _ledger(session, channel, customer_id)
    return {
        "customer": {"channel": channel, "customer_id": customer_id,
                     "customer_key": audit.customer_key(channel, customer_id)},
        "names": [{"staff_id": c.staff_id, "nickname": c.nickname, "remark": c.remark, "tags": list(c.tags or []),
                   "fetched_at": _iso(c.fetched_at)} for c in _names(session, channel, customer_id)],
        "messages": [{
            "id": m.id, "direction": m.direction, "msg_id": m.msg_id, "msg_type": m.msg_type, "text": m.text,
            "customer_name": m.customer_name, "open_kfid": m.open_kfid, "staff_id": m.staff_id, "room_id": m.room_id,
            "from_customer": m.from_customer, "draft_id": m.draft_id, "created_at": _iso(m.created_at),
            "redacted_at": _iso(m.redacted_at),
        } for m in messages],
        "drafts": [{
            "id": d.id, "message_id": d.message_id, "status": d.status, "message_text": d.message_text,
            "customer_name": d.customer_name, "intent": d.intent, "intents": d.intents, "confidence": d.confidence,
            "persona": d.persona, "original_text": d.original_text, "final_text": d.final_text,
            "entities": d.entities or {}, "flags": d.flags or [], "assignee": d.assignee, "approved_by": d.approved_by,
            "approved_at": _iso(d.approved_at), "rejected_by": d.rejected_by, "reject_reason": d.reject_reason,
            "decided_at": _iso(d.decided_at), "sent_at": _iso(d.sent_at), "corrected_intent": d.corrected_intent,
            "created_at": _iso(d.created_at), "redacted_at": _iso(d.redacted_at),
        } for d in drafts],
        "sent": [{"draft_id": m.draft_id, "text": m.text, "sent_by": m.staff_id, "sent_at": _iso(m.created_at)}
                 for m in messages if m.direction == "out"],
        "opt_out": {
            "opted_out": bool(ledger and ledger[-1].opted_out),
            "history": [{"opted_out": r.opted_out, "recorded_by": r.recorded_by, "reason": r.reason,
                         "at": _iso(r.created_at), "pseudonymised": r.customer_id != customer_id} for r in ledger],
        },
        "audit": [{
            "id": e.id, "at": _iso(e.at), "actor": e.actor, "role": e.role, "surface": e.surface, "action": e.action,
            "action_name": audit.action_name(e.action), "subject": e.subject, "detail": e.detail or {}, "text": e.text,
            "redacted_at": _iso(e.redacted_at),
        } for e in _events(session, channel, customer_id)],
    }


def counts(data: dict[str, Any]) -> dict[str, int]:
    """How many items of each kind an export holds (for audit details and summaries: no customer text)."""
    return {key: len(data[key]) for key in ("names", "messages", "drafts", "sent", "audit")} | {
        "opt_out_rows": len(data["opt_out"]["history"])}


def export_customer(session: Session, channel: str, customer_id: str, *, actor: str = audit.SYSTEM,
                    role: str = "", surface: str = "cli", now: datetime | None = None) -> dict[str, Any]:
    """Everything held about the customer, JSON-ready; audited as an export when `now` is given. The caller commits."""
    data = held(session, channel, customer_id)
    if now is not None:
        data["exported_at"] = now.isoformat()
        audit.record(session, actor=actor, role=role, surface=surface, action=EXPORTED, subject="customer",
                     channel=channel, customer_id=customer_id, detail={"counts": counts(data)}, now=now)
    return data


# ----- deletion ------------------------------------------------------------------------------------


@dataclass
class Deletion:
    """What deleting a customer changed, by kind (no customer text); `nothing` when nothing was held any more."""

    channel: str
    customer_id: str
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. an intent left with too few examples

    @property
    def nothing(self) -> bool:
        return not any(self.counts.values())

    def summary(self) -> str:
        """One line in Chinese naming the customer and what was removed."""
        who = f"客户 {self.channel}/{self.customer_id}"
        if self.nothing:
            return f"{who}：没有需要删除的资料（没有记录，或已删除过）"
        parts = [f"{LABELS[key][0]} {n} {LABELS[key][1]}" for key, n in self.counts.items() if n]
        return f"{who}：已删除或抹去 " + "，".join(parts)


LABELS = {  # how a summary names each count: (what, unit)
    "messages": ("消息", "条"), "drafts": ("草稿", "份"), "closed_drafts": ("其中未完成、已关闭的草稿", "份"),
    "names": ("客户名称", "条"), "opt_outs": ("退订记录（改为单向哈希保存，退订继续有效）", "条"),
    "edit_requests": ("修改请求", "个"), "cards": ("卡片", "张"), "jobs": ("后台任务", "个"),
    "config_examples": ("配置中引用客户原话的例句或问法", "条"), "audit_events": ("操作记录中的客户 id 与文字", "条"),
}


def redact_draft(draft: Draft, now: datetime) -> None:
    """Empty a draft of every text, name and entity; status, intent, persona, people and times stay."""
    draft.message_text = ""
    draft.original_text = ""
    draft.final_text = None
    draft.customer_name = ""
    draft.entities = {}
    draft.flags = [{k: f[k] for k in KEPT_FLAG_FIELDS if k in f} for f in draft.flags or [] if isinstance(f, dict)]
    if draft.reject_reason and draft.reject_reason != CLOSED_REASON:
        draft.reject_reason = ""
    draft.redacted_at = now


def _texts(messages: list[Message], drafts: list[Draft]) -> list[str]:
    """The customer's words and the replies to them, as stored (the quoted configuration items are among these)."""
    found = [m.text for m in messages] + [d.message_text for d in drafts] + \
        [t for d in drafts for t in (d.original_text, d.final_text) if t]
    return [t for t in found if t and t.strip()]


def _jobs(session: Session, *, message_ids: list[int], draft_ids: list[int], customer_id: str,
          texts: list[str]) -> list[Job]:
    """Queued or finished work about the customer: its key names their message or draft, or its payload quotes them."""
    keys = [f"draft:{i}" for i in message_ids] + [f"{kind}:{i}" for i in draft_ids for kind in ("notify", "escalate")]
    prefixes = [f"{kind}:{i}:" for i in draft_ids for kind in ("send", "card")]
    found: dict[int, Job] = {}
    for chunk in range(0, len(keys), 500):
        for job in session.scalars(select(Job).where(Job.key.in_(keys[chunk:chunk + 500]))):
            found[job.id] = job
    for prefix in prefixes:
        for job in session.scalars(select(Job).where(Job.key.startswith(prefix, autoescape=True))):
            found[job.id] = job
    needles = sorted({customer_id, *texts})
    for chunk in range(0, len(needles), 50):  # callbacks (staff chat quotes, ids): JSON keeps non-ASCII escaped
        quoted = [json.dumps(n)[1:-1] for n in needles[chunk:chunk + 50]] + needles[chunk:chunk + 50]
        payload = cast(Job.payload, Text)
        for job in session.scalars(select(Job).where(
            Job.kind == "wecom_event", or_(*(payload.contains(q, autoescape=True) for q in quoted))
        )):
            found[job.id] = job
    return [job for job in found.values() if job.status != "running"]  # a running job finishes; it holds ids only


def _scrub_configuration(session: Session, texts: list[str], deletion: Deletion) -> int:
    """Remove the examples and answer questions that quote the customer from the draft and every version."""
    keys = quoted_keys(texts)
    if not keys:
        return 0
    removed = 0
    row = session.get(ConfigDraft, 1)
    if row is not None:
        files, n = scrub_files(dict(row.files), keys)
        if n:
            row.files, removed = files, removed + n
    for version in session.scalars(select(ConfigVersion).order_by(ConfigVersion.id)):
        files, n = scrub_files(dict(version.files), keys)
        if n:
            version.files = files
            version.digest = ConfigFiles(files).digest
            removed += n
            deletion.warnings.append(f"配置版本 {version.number} 删除了 {n} 条引用该客户原话的例句或问法")
    return removed


def _redact_quoting_events(session: Session, texts: list[str], now: datetime) -> int:
    """Events that quote the customer's words without naming them (e.g. their message added as an example)."""
    quoted = {t.strip() for t in texts} | {line.strip() for t in texts for line in t.splitlines() if line.strip()}
    if not quoted:
        return 0
    changed = 0
    for event in session.scalars(select(AuditLog).where(AuditLog.customer_key.is_(None), AuditLog.text.is_not(None))):
        if event.text is not None and (event.text.strip() in quoted or any(q in event.text for q in quoted if len(q) >= 4)):
            event.text, event.redacted_at = None, now
            changed += 1
    return changed


def _deleted(session: Session, statement: Delete) -> int:
    """Run a DELETE; how many rows it removed."""
    result = cast_result(CursorResult[Any], session.execute(statement))  # a DELETE's result has a row count
    return int(result.rowcount or 0)


def delete_customer(session: Session, channel: str, customer_id: str, *, actor: str, role: str, surface: str,
                    now: datetime) -> Deletion:
    """Remove or redact everything held about the customer but their choices and the audit facts; audited.

    Idempotent: a second call finds nothing left (`Deletion.nothing`). The caller commits, then calls
    `wipe_freed` (or use `erase_customer`, which does both).
    """
    deletion = Deletion(channel, customer_id)
    hidden = pseudonym(channel, customer_id)
    messages, drafts = _messages(session, channel, customer_id), _drafts(session, channel, customer_id)
    texts = _texts(messages, drafts)
    live = [m for m in messages if m.redacted_at is None or m.customer_id != hidden or m.text or m.customer_name]
    for message in live:
        message.text, message.customer_name, message.customer_id = "", "", hidden
        message.redacted_at = message.redacted_at or now
    closed = 0
    for draft in drafts:
        if draft.status in (*OPEN, Status.APPROVED, Status.SEND_FAILED):  # never sent now: nobody may approve empty text
            draft.status, draft.rejected_by, draft.reject_reason = Status.REJECTED.value, actor, CLOSED_REASON
            draft.decided_at, draft.updated_at = now, now
            closed += 1
    live_drafts = [d for d in drafts if d.redacted_at is None or d.customer_id != hidden or d.message_text
                   or d.original_text or d.final_text or d.customer_name or d.entities]
    for draft in live_drafts:
        redact_draft(draft, now)
        draft.customer_id = hidden
    draft_ids, message_ids = [d.id for d in drafts], [m.id for m in messages]
    edits = _deleted(session, delete(EditRequest).where(EditRequest.draft_id.in_(draft_ids))) if draft_ids else 0
    cards = _deleted(session, delete(Card).where(Card.draft_id.in_(draft_ids))) if draft_ids else 0
    jobs = _jobs(session, message_ids=message_ids, draft_ids=draft_ids, customer_id=customer_id, texts=texts)
    for job in jobs:
        session.delete(job)
    names = _deleted(session, delete(Customer).where(Customer.channel == channel, Customer.customer_id == customer_id))
    ledger = session.scalars(select(OptOut).where(
        OptOut.channel == channel, or_(OptOut.customer_id == customer_id, (OptOut.customer_id == hidden) & (OptOut.reason != ""))
    )).all()
    for row in ledger:  # the choice stays, under the pseudonym; the words that said it go
        row.customer_id, row.reason = hidden, ""
    config_items = _scrub_configuration(session, texts, deletion)
    session.flush()
    deletion.counts = {
        "messages": len(live), "drafts": len(live_drafts), "closed_drafts": closed, "names": names,
        "opt_outs": len(ledger), "edit_requests": edits, "cards": cards, "jobs": len(jobs),
        "config_examples": config_items,
        "audit_events": _redact_quoting_events(session, texts, now),
    }
    deletion.counts["audit_events"] += audit.redact_customer(session, channel, customer_id, now)
    audit.record(session, actor=actor, role=role, surface=surface, action=DELETED, subject="customer", channel=channel,
                 customer_id=customer_id, detail={"counts": dict(deletion.counts), "nothing_left": deletion.nothing},
                 now=now)
    audit.redact_customer(session, channel, customer_id, now)  # the deletion's own event keeps the key, not the id
    log.info("customer data deleted on %s: %s", channel, deletion.counts)
    return deletion


def erase_customer(session: Session, channel: str, customer_id: str, *, actor: str, role: str, surface: str,
                   now: datetime) -> Deletion:
    """Delete the customer (`delete_customer`), commit, and wipe the freed space of the tables touched."""
    deletion = delete_customer(session, channel, customer_id, actor=actor, role=role, surface=surface, now=now)
    session.commit()
    engine = session.get_bind()
    session.close()  # its connection goes back to the pool: nothing holds a snapshot while the log is truncated
    try:
        wipe_freed(engine, TOUCHED)
    except Exception:  # the deletion is committed; the next deletion or retention round wipes again
        log.exception("could not wipe the freed space after deleting a customer's data")
    return deletion
