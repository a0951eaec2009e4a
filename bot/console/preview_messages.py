"""The customer messages a template preview renders drafts for: real ones when there are, else samples.

Admins judge wording best on what customers actually wrote, so the preview prefers the newest
drafted messages of the intent; a new intent has none, so its own examples stand in (the first
with a customer name, to show the greeting), and the linter's samples where there are no examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.services.configuration import ConfigFiles
from bot.console.intent_files import read_intents
from bot.db.models import Draft
from bot.nlu.entities import Catalog, extract_entities
from bot.persona.lint import SAMPLE_CONTEXTS

PREVIEW_MESSAGES = 5
SAMPLE_NAME = "王女士"  # the first sample message carries a name, so the preview shows how a template greets


@dataclass(frozen=True)
class Example:
    """A customer message the preview renders a draft for: a real one from the drafts, or a sample."""

    message: str
    customer_name: str = ""
    entities: Mapping[str, str] = field(default_factory=dict)
    real: bool = False
    draft_id: int | None = None
    at: datetime | None = None

    def context(self) -> dict[str, str]:
        """What the pipeline passes to the renderer (see bot.drafts.pipeline.Pipeline.plan)."""
        return {"customer_name": self.customer_name, "message": self.message, **self.entities}


def latest_messages(session: Session, intent: str, limit: int = PREVIEW_MESSAGES) -> list[Example]:
    """The newest drafted messages of the intent (staff's correction of the intent wins)."""
    rows = session.scalars(
        select(Draft)
        .where(or_(Draft.corrected_intent == intent, and_(Draft.intent == intent, Draft.corrected_intent.is_(None))),
               Draft.message_text != "")
        .order_by(Draft.created_at.desc(), Draft.id.desc())
        .limit(limit)
    )
    return [Example(message=d.message_text, customer_name=d.customer_name or "",
                    entities={str(k): str(v) for k, v in (d.entities or {}).items()}, real=True, draft_id=d.id,
                    at=d.created_at) for d in rows]


def sample_messages(files: ConfigFiles, intent: str, catalog: Catalog = Catalog(), limit: int = PREVIEW_MESSAGES) -> list[Example]:
    """The intent's first examples with their entities; the linter's samples for fallback or an unreadable file."""
    doc = read_intents(files).docs.get(intent)
    texts = list(doc.examples[:limit]) if doc else []
    if not texts:
        return [Example(message=str(c.get("message", "")), customer_name=str(c.get("customer_name", "")),
                        entities={k: str(v) for k, v in c.items() if k not in ("message", "customer_name")})
                for c in SAMPLE_CONTEXTS]
    return [Example(message=text, customer_name=SAMPLE_NAME if index == 0 else "", entities=extract_entities(text, catalog))
            for index, text in enumerate(texts)]


def preview_messages(session: Session, files: ConfigFiles, intent: str, catalog: Catalog = Catalog()) -> list[Example]:
    """Real messages of the intent when there are any, else samples."""
    return latest_messages(session, intent) or sample_messages(files, intent, catalog)
