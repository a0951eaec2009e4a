"""Human decisions on drafts: approve, edit, reject and "inserted from the sidebar", for every surface.

Every surface (the API, the demo, the chat sidebar, the app chat) decides through `DraftDecisions`,
so the rules hold everywhere alike:

* who may decide (`bot.drafts.access.check_may_decide`, with the configured approvers);
* the sensitive-word check on the exact text that would go out;
* each decision is a compare-and-set on the draft's status (`UPDATE … WHERE status = <as read>`),
  so parallel requests on any database decide a draft once: the first wins, a repeat of the same
  decision is a no-op, a different one is refused with the state the draft is really in.

* each decision is an audit event (`bot.services.audit.record`) in the same transaction, naming the
  person, their role, the surface and the exact text.

The caller commits; approval queues one `send` job, and the outbox delivers exactly that text.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from bot.db.models import Draft, Message
from bot.drafts.access import Principal, check_may_decide
from bot.drafts.lifecycle import Status, check_rejectable, plan_approval, send_uncertain
from bot.errors import TransitionError
from bot.metrics import Metrics
from bot.policy.sensitive import SensitiveWords
from bot.services import audit
from bot.services.jobs import queue_card_outcome, queue_send

log = logging.getLogger(__name__)

TRIES = 5  # compare-and-set rounds before a request gives up on a draft others keep changing
SIDEBAR_CHANNEL = "archive"  # staff's own chats: the staff member inserts the reply from the sidebar


@dataclass(frozen=True)
class Decider:
    """Who decides, as which role (with a supervisor's team), from which surface (api, card, chat, sidebar, demo)."""

    user: str
    role: str
    surface: str
    team: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, who: Principal, surface: str) -> Decider:
        return cls(user=who.user, role=who.role, surface=surface, team=who.team)

    @property
    def principal(self) -> Principal:
        return Principal(self.user, self.role, self.team)


WORKER = Decider(user=audit.SYSTEM, role="system", surface="worker")  # what the service does by itself


def record_decision(session: Session, draft: Draft, *, by: Decider, action: str, now: datetime,
                    text: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """The audit event of what happened to `draft` (a decision, or WORKER's outcome), in the caller's transaction."""
    audit.record(session, actor=by.user, role=by.role, surface=by.surface, action=action, subject=f"draft:{draft.id}",
                 channel=draft.channel, customer_id=draft.customer_id, text=text, detail=detail, now=now)


def announce(session: Session, draft: Draft, *, now: datetime) -> None:
    """Queue an update of the staff's cards for a draft whose outcome is known (a no-op without cards)."""
    queue_card_outcome(session, draft_id=draft.id, status=draft.status, now=now)


def moved(session: Session, draft: Draft, **values: object) -> bool:
    """Write `values` only if the draft is still in the status it was read in; reload it either way.

    True when this call made the change. False when another decision came first: the draft then
    shows what that decision did, to be judged again.
    """
    result = cast(CursorResult[Any], session.execute(  # an UPDATE's result has a row count
        update(Draft).where(Draft.id == draft.id, Draft.status == draft.status).values(**values)
        .execution_options(synchronize_session=False)
    ))
    session.refresh(draft)
    return result.rowcount == 1


class DraftDecisions:
    """The one path for human decisions on drafts."""

    def __init__(self, *, sensitive: SensitiveWords, approvers: Collection[str], metrics: Metrics) -> None:
        self.sensitive = sensitive
        self.approvers = frozenset(approvers)
        self.metrics = metrics

    def check_may_decide(self, draft: Draft, by: Decider) -> None:
        """Raise NotAllowed unless `by` may decide the draft (the same rule on every surface)."""
        check_may_decide(draft, by.principal, self.approvers)

    def may_decide(self, draft: Draft, by: Decider) -> bool:
        try:
            self.check_may_decide(draft, by)
        except TransitionError:
            return False
        return True

    def final_text(self, draft: Draft, by: Decider, text: str | None) -> str:
        """The exact text approving now would send (a dry run); raise with the reason it would be refused."""
        self.check_may_decide(draft, by)
        final = plan_approval(draft, text).final_text
        refusal = self.sensitive.reason(final)
        if refusal:
            raise TransitionError(refusal)
        return final

    def approve(self, session: Session, draft: Draft, *, by: Decider, text: str | None, now: datetime) -> bool:
        """Record a human's approval of the draft (optionally edited) and queue its delivery, once.

        Returns False when the draft is already approved with this text (nothing changes, nothing
        is sent twice). Raises NotAllowed, TransitionError (also for sensitive words, an empty text,
        or a different text than the one already approved).
        """
        for _ in range(TRIES):
            final = self.final_text(draft, by, text)
            if draft.status in (Status.APPROVED, Status.SENT):
                return False  # approved with this very text, by this request's twin or earlier
            before = draft.status
            keep_key = send_uncertain(draft)
            if moved(
                session, draft,
                status=Status.APPROVED.value, final_text=final, approved_by=by.user,
                approved_at=draft.approved_at if keep_key else now,  # the same msgid: WeCom drops a repeat
                decided_at=now, send_errcode=None, send_errmsg=None, updated_at=now,
            ):
                break
        else:
            raise TransitionError(f"草稿 {draft.id} 正在被别人处理，请刷新后再试")
        if draft.channel != SIDEBAR_CHANNEL:  # archive replies are inserted by staff from the chat sidebar
            queue_send(session, draft_id=draft.id, now=now)
        record_decision(session, draft, by=by, action="approved", text=final, now=now,
                        detail={"edited": final != draft.original_text, "status_before": before})
        self._count("edited" if draft.final_text != draft.original_text else "approved")
        log.info("draft %s approved by %s (%s)", draft.id, by.user, by.surface)
        return True

    def reject(self, session: Session, draft: Draft, *, by: Decider, reason: str | None, now: datetime) -> bool:
        """Record that a human decided not to send the draft; False for a repeated rejection."""
        for _ in range(TRIES):
            self.check_may_decide(draft, by)
            if not check_rejectable(draft):
                return False
            if moved(session, draft, status=Status.REJECTED.value, rejected_by=by.user, reject_reason=reason,
                     decided_at=now, updated_at=now):
                break
        else:
            raise TransitionError(f"草稿 {draft.id} 正在被别人处理，请刷新后再试")
        announce(session, draft, now=now)
        # the reason is staff's words about the customer: the event's redactable text
        record_decision(session, draft, by=by, action="rejected", text=reason or None, now=now)
        self._count("rejected")
        log.info("draft %s rejected by %s (%s)", draft.id, by.user, by.surface)
        return True

    def record_inserted(self, session: Session, draft: Draft, *, by: Decider, text: str, now: datetime) -> bool:
        """The staff member inserted `text` into their own chat from the sidebar: record it approved and sent.

        False for the same insert recorded again (a retried request); a different text for a draft
        already sent is refused.
        """
        key = f"sidebar:{draft.id}"
        text = text.strip()
        for _ in range(TRIES):
            if draft.status == Status.ANSWERED_MANUALLY and (draft.final_text or "").strip() == text:
                return False  # the chat archive saw this very insert before the page recorded it
            final = self.final_text(draft, by, text)
            if draft.status == Status.SENT:
                return False  # the same insert recorded again
            edited = final != draft.original_text
            if moved(session, draft, status=Status.SENT.value, final_text=final, approved_by=by.user,
                     approved_at=draft.approved_at or now, decided_at=draft.decided_at or now, sent_at=now,
                     send_errcode=None, send_errmsg=None, updated_at=now):
                break
        else:
            raise TransitionError(f"草稿 {draft.id} 正在被别人处理，请刷新后再试")
        session.add(Message(
            channel=draft.channel, msg_id=key, direction="out", customer_id=draft.customer_id,
            customer_name=draft.customer_name, open_kfid=draft.open_kfid, staff_id=by.user,
            text=final, draft_id=draft.id, created_at=now,
        ))
        announce(session, draft, now=now)
        record_decision(session, draft, by=by, action="inserted", text=final, now=now, detail={"edited": edited})
        self._count("edited" if edited else "approved")
        self.metrics.sends.labels("sent").inc()
        log.info("draft %s inserted into the chat by %s from the sidebar", draft.id, by.user)
        return True

    def _count(self, decision: str) -> None:
        self.metrics.decisions.labels(decision).inc()
