"""The learning inbox: customer messages worth teaching the classifier, found in the drafts.

Three kinds: messages that fell to `fallback`, drafts whose text staff changed a lot before
approving (normalised edit distance at least HEAVY_EDIT), and drafts whose intent staff corrected.
A message already an example of some intent in the draft configuration is not shown: adding it is
the one click that clears an item; "不是任何意图" dismisses it (an audit row, action DISMISS, holds the
normalised message, so it stays away without a schema change). The same message seen several times
is shown once, newest first. The form preselects an intent only when a person chose it or the
classifier accepted it (at or above the threshold): a low-confidence guess is shown, never preselected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import PurePosixPath

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.services import audit
from bot.services.configuration import ConfigFiles
from bot.console.intent_editing import split_examples
from bot.console.intent_files import read_intents
from bot.db.models import AuditLog, Draft
from bot.drafts.lifecycle import Status
from bot.nlu.intents import FALLBACK, FALLBACK_NAME
from bot.nlu.normalise import normalise

HEAVY_EDIT = 0.4  # share of characters staff changed, from which an edit counts as heavy
SHOWN = 50  # items per section
SCANNED = 500  # newest drafts looked at per section
DISTANCE_CHARS = 1000  # longer texts are compared on their first characters (the distance is quadratic)
DISMISS = "inbox_dismiss"  # AuditLog.action of a message dismissed from the inbox


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest characters inserted, deleted or replaced to turn a into b.

    >>> edit_distance("快递到哪了", "快递到了吗")
    2
    """
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def edit_ratio(a: str, b: str) -> float:
    """The edit distance as a share of the longer text: 0 for the same text, 1 for a complete rewrite."""
    a, b = a[:DISTANCE_CHARS], b[:DISTANCE_CHARS]
    longest = max(len(a), len(b))
    return edit_distance(a, b) / longest if longest else 0.0


@dataclass(frozen=True)
class IntentCatalog:
    """The intents of the draft configuration: the enabled ones to offer, and every example (normalised)."""

    descriptions: dict[str, str]  # enabled intent -> description
    examples: dict[str, str]  # normalised example -> intent (disabled intents included)
    display_names: dict[str, str] = field(default_factory=dict)  # intent -> Chinese name (those that have one)

    @property
    def names(self) -> list[str]:
        return sorted(self.descriptions)

    def name(self, intent: str | None) -> str:
        """What an admin reads for an intent id: its display name, else the id ("—" for none)."""
        if not intent:
            return "—"
        return FALLBACK_NAME if intent == FALLBACK else self.display_names.get(intent, intent)

    def known(self, text: str) -> bool:
        """True when every line of the message is already an example (the add route adds one example per line)."""
        lines = split_examples(text)
        return bool(lines) and all(normalise(line) in self.examples for line in lines)


def catalog_of(files: ConfigFiles) -> IntentCatalog:
    """The intents of a configuration as the intent pages read them."""
    docs = read_intents(files).docs.values()
    return IntentCatalog(
        descriptions={doc.intent: doc.description for doc in docs if doc.enabled},
        examples={normalise(example): doc.intent for doc in docs for example in doc.examples},
        display_names={doc.intent: doc.display_name for doc in docs if doc.display_name},
    )


@dataclass(frozen=True)
class Item:
    """One message to learn from, with what the inbox offers for it."""

    draft_id: int
    created_at: datetime
    message_text: str
    intent: str | None
    confidence: float | None
    persona: str
    suggestions: list[tuple[str, float | None]]  # intents worth offering, best first, with the classifier's confidence
    suggested: str | None  # the intent preselected in the form
    template: tuple[str, str] | None  # (persona, intent) of the template the draft came from
    original_text: str = ""
    final_text: str | None = None
    ratio: float | None = None
    corrected_intent: str | None = None
    corrected_by: str | None = None
    times: int = 1  # drafts in the section with the same message
    manual: bool = False  # the staff member wrote the customer themselves instead of sending the draft (chat archive)


@dataclass(frozen=True)
class Inbox:
    fallback: list[Item]
    edited: list[Item]
    corrected: list[Item]
    catalog: IntentCatalog
    threshold: float = HEAVY_EDIT


def inbox(session: Session, files: ConfigFiles) -> Inbox:
    """The three sections of the learning inbox for the draft configuration `files`."""
    catalog = catalog_of(files)
    hidden = dismissed(session)
    fallback = session.scalars(
        select(Draft).where(Draft.intent == FALLBACK, Draft.corrected_intent.is_(None), Draft.status != Status.SUPERSEDED)
        .order_by(Draft.id.desc()).limit(SCANNED)
    )
    edited = [
        (draft, edit_ratio(draft.original_text, draft.final_text or ""))
        for draft in session.scalars(
            select(Draft).where(  # approved with another text, or answered by the staff member by hand (chat archive)
                or_(Draft.approved_by.is_not(None), Draft.status == Status.ANSWERED_MANUALLY),
                Draft.status != Status.REJECTED, Draft.final_text.is_not(None),
                Draft.original_text != "", Draft.final_text != Draft.original_text,
            ).order_by(Draft.id.desc()).limit(SCANNED)
        )
    ]
    corrected = session.scalars(
        select(Draft).where(
            Draft.corrected_intent.is_not(None), or_(Draft.intent.is_(None), Draft.corrected_intent != Draft.intent)
        ).order_by(Draft.id.desc()).limit(SCANNED)
    )
    return Inbox(
        fallback=_section(((d, None) for d in fallback), catalog, hidden),
        edited=_section(((d, r) for d, r in edited if r >= HEAVY_EDIT), catalog, hidden),
        corrected=_section(((d, None) for d in corrected), catalog, hidden),
        catalog=catalog,
    )


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def dismissed(session: Session) -> set[str]:
    """The digests of the normalised messages admins marked as no intent ("不是任何意图").

    The audit event keeps the message itself in its redactable text; its detail only the digest.
    """
    return {
        str(detail.get("key_sha256")) for detail in session.scalars(select(AuditLog.detail).where(AuditLog.action == DISMISS))
        if isinstance(detail, dict) and detail.get("key_sha256")
    }


def dismiss(session: Session, draft_id: int, *, user: str, now: datetime) -> str | None:
    """Hide a draft's message from the inbox for good (audited; commits). Returns the message, None for no such draft."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        return None
    text = draft.message_text.strip()
    key = normalise(text)
    if key and _digest(key) not in dismissed(session):
        audit.record(session, actor=user, role="admin", surface="console", action=DISMISS, subject=f"draft:{draft_id}",
                     channel=draft.channel, customer_id=draft.customer_id, text=key, now=now,
                     detail={"key_sha256": _digest(key), "draft_id": draft_id, "what": "待学习：一条消息不是任何意图，已忽略"})
        session.commit()
    return text


def _section(drafts: Iterable[tuple[Draft, float | None]], catalog: IntentCatalog, hidden: set[str]) -> list[Item]:
    """Items for drafts (pairs of a draft and its edit ratio) given newest first: known examples and dismissed
    messages left out, repeated messages merged."""
    items: dict[str, Item] = {}
    for draft, edit in drafts:
        text = draft.message_text.strip()
        key = normalise(text)
        if not key or _digest(key) in hidden or catalog.known(text):
            continue
        if key in items:
            items[key] = replace(items[key], times=items[key].times + 1)
            continue
        if len(items) < SHOWN:
            items[key] = _item(draft, edit, catalog)
    return list(items.values())


def _item(draft: Draft, edit: float | None, catalog: IntentCatalog) -> Item:
    suggestions = [(name, p) for name, p in _guesses(draft) if name in catalog.descriptions]
    accepted = draft.intent if draft.intent != FALLBACK else None  # at or above the threshold of the model that drafted it
    choices = [draft.corrected_intent, accepted]  # never a guess below the threshold
    return Item(
        draft_id=draft.id, created_at=draft.created_at, message_text=draft.message_text.strip(), intent=draft.intent,
        confidence=draft.confidence, persona=draft.persona, suggestions=suggestions,
        suggested=next((name for name in choices if name in catalog.descriptions), None),
        template=template_of(draft), original_text=draft.original_text, final_text=draft.final_text, ratio=edit,
        corrected_intent=draft.corrected_intent, corrected_by=draft.corrected_by,
        manual=draft.status == Status.ANSWERED_MANUALLY,
    )


def _guesses(draft: Draft) -> list[tuple[str, float | None]]:
    """The classifier's candidates: its intent (or, for fallback, its best guess), then the runners-up."""
    found: list[tuple[str, float | None]] = []
    if draft.intent and draft.intent != FALLBACK:
        found.append((draft.intent, draft.confidence))
    for flag in draft.flags or []:
        if isinstance(flag, dict) and flag.get("code") == "low_confidence" and flag.get("best"):
            found.append((str(flag["best"]), flag.get("confidence")))
    for pair in draft.runners_up or []:
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            found.append((str(pair[0]), float(pair[1])))
    unique: dict[str, float | None] = {}
    for name, p in found:
        unique.setdefault(name, p)
    return list(unique.items())


def template_of(draft: Draft) -> tuple[str, str] | None:
    """(persona, intent) of the template the draft was rendered from ("lucky/templates/x.j2"), else the draft's own."""
    if draft.template:
        parts = PurePosixPath(draft.template).parts
        if len(parts) == 3 and parts[1] == "templates" and parts[2].endswith(".j2"):
            return parts[0], parts[2][: -len(".j2")]
    return (draft.persona, draft.intent) if draft.intent else None
