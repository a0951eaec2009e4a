"""How often each brand answer is used in drafts, approved unchanged, edited or not sent (dashboard and answers page).

Counted like the dashboard: drafts superseded by a newer one from the same customer are left out;
approved unchanged means approved with the drafted text as it was, edited means approved with another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from bot.db.models import Draft
from bot.drafts.lifecycle import OPEN, Status


@dataclass
class AnswerUse:
    """The drafts that said one answer, and what people did with them."""

    answer_id: str
    intent: str
    drafts: int = 0
    unchanged: int = 0
    edited: int = 0
    rejected: int = 0
    pending: int = 0

    @property
    def approved(self) -> int:
        return self.unchanged + self.edited

    @property
    def edit_rate(self) -> float | None:
        """Edited among approved: how often staff had to fix what the answer made the draft say."""
        return self.edited / self.approved if self.approved else None


def answer_usage(session: Session, *, intent: str | None = None, since: datetime | None = None,
                 until: datetime | None = None) -> dict[str, AnswerUse]:
    """answer_id -> its use, most used first; only one intent's answers with `intent`, only drafts made in [since, until]."""
    changed = and_(Draft.final_text.is_not(None), Draft.final_text != Draft.original_text).label("changed")
    query = select(Draft.answer_id, Draft.intent, Draft.status, Draft.approved_by, changed).where(Draft.answer_id.is_not(None))
    if intent is not None:
        query = query.where(Draft.intent == intent)
    if since is not None:
        query = query.where(Draft.created_at >= since)
    if until is not None:
        query = query.where(Draft.created_at <= until)
    uses: dict[str, AnswerUse] = defaultdict(lambda: AnswerUse("", ""))
    for row in session.execute(query):
        if row.status == Status.SUPERSEDED:
            continue
        use = uses[row.answer_id]
        use.answer_id, use.intent = row.answer_id, row.intent or ""
        use.drafts += 1
        if row.status == Status.REJECTED:
            use.rejected += 1
        elif row.approved_by:
            if row.changed:
                use.edited += 1
            else:
                use.unchanged += 1
        elif row.status in OPEN:
            use.pending += 1
    return dict(sorted(uses.items(), key=lambda item: (-item[1].drafts, item[0])))
