"""The dashboard's figures: how drafts fared per intent, persona and staff member, and per day.

Everything is computed from the drafts created in the chosen period (the last 7, 30 or 90 calendar
days in the brand's time zone, today included) and from the opt-outs customers recorded in it.
Drafts the customer superseded by writing again are left out: the newer draft covers the same
conversation and counting both would count one conversation twice.

What the measures mean (the page says the same in Chinese):
- approved: a named person approved the text (it may since have been sent, failed or been blocked);
- edited: approved with a final text different from the draft (drafts that had no text, because they
  needed a manual reply, are not counted as edits);
- rejected: a person decided not to send it;
- time to decision: decided_at - created_at, as a median;
- fallback: the classifier was not certain enough (intent `fallback`);
- opt-outs: customer opt-outs, attributed to the last reply the customer received before opting
  out (what they reacted to), else to the draft of their own message;
- send failures: drafts now in `send_failed`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Unpack
from zoneinfo import ZoneInfo

from sqlalchemy import Row, and_, select
from sqlalchemy.orm import Session

from bot.db.models import Draft, OptOut
from bot.drafts.lifecycle import OPEN, Status
from bot.nlu.intents import FALLBACK

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
CUSTOMER = "customer"  # OptOut.recorded_by for opt-outs customers asked for themselves


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by (the page shows a dash)."""
    return part / whole if whole else None


@dataclass
class Figures:
    """The measures of one group of drafts (everything, one intent, one persona or one staff member)."""

    drafts: int = 0
    approved: int = 0
    approved_with_text: int = 0  # approved drafts that had a drafted text to edit
    edited: int = 0
    rejected: int = 0
    pending: int = 0
    fallback: int = 0
    opt_outs: int = 0
    send_failures: int = 0
    answered_manually: int = 0  # the staff member wrote the customer themselves instead (chat archive)
    waits: list[float] = field(default_factory=list)  # seconds from draft to decision

    @property
    def decided(self) -> int:
        return self.approved + self.rejected

    @property
    def approval_rate(self) -> float | None:
        return ratio(self.approved, self.decided)

    @property
    def edit_rate(self) -> float | None:
        return ratio(self.edited, self.approved_with_text)

    @property
    def reject_rate(self) -> float | None:
        return ratio(self.rejected, self.decided)

    @property
    def fallback_rate(self) -> float | None:
        return ratio(self.fallback, self.drafts)

    @property
    def median_wait(self) -> float | None:
        return statistics.median(self.waits) if self.waits else None


@dataclass(frozen=True)
class Group:
    """One row of a breakdown table: the group's key (an intent, persona or staff id; "" for none)."""

    key: str
    figures: Figures


@dataclass(frozen=True)
class Day:
    """One day of the charts (a local calendar day)."""

    day: date
    drafts: int
    approved: int  # approved unchanged (or written by hand)
    edited: int
    rejected: int
    fallback: int

    @property
    def other(self) -> int:
        """Drafts still waiting, blocked or otherwise undecided."""
        return self.drafts - self.approved - self.edited - self.rejected

    @property
    def fallback_rate(self) -> float | None:
        return ratio(self.fallback, self.drafts)


@dataclass(frozen=True)
class Dashboard:
    days: int
    since: datetime  # local midnight starting the first day
    until: datetime  # now
    total: Figures
    by_intent: list[Group]
    by_persona: list[Group]
    by_staff: list[Group]
    daily: list[Day]
    staff_opt_outs: int  # opt-outs staff recorded for customers (not attributed to drafts)
    superseded: int

    @property
    def empty(self) -> bool:
        return self.total.drafts == 0 and self.total.opt_outs == 0 and self.staff_opt_outs == 0


def parse_period(raw: str | None) -> int | None:
    """The period in days from the query string: the default when absent, None when not offered."""
    if raw is None or raw == "":
        return DEFAULT_DAYS
    return int(raw) if raw.isdigit() and int(raw) in PERIODS else None


def period_start(now: datetime, days: int, zone: ZoneInfo) -> datetime:
    """Midnight (local) of the first of the last `days` calendar days, today included."""
    first = now.astimezone(zone).date() - timedelta(days=days - 1)
    return datetime.combine(first, time(0), tzinfo=zone)


_COLUMNS = (  # compared in the database, so the texts themselves are never loaded
    Draft.id, Draft.status, Draft.intent, Draft.persona, Draft.assignee, Draft.approved_by, Draft.rejected_by,
    Draft.created_at, Draft.decided_at, (Draft.original_text != "").label("has_text"),
    and_(Draft.final_text.is_not(None), Draft.final_text != Draft.original_text).label("changed"),
)


DraftRow = Row[Unpack[tuple[Any, ...]]]  # a row of _COLUMNS: a Draft's columns without its texts


def staff_of(row: Draft | DraftRow) -> str:
    """Who handled the draft: the person who decided it, else the one it is assigned to, else ""."""
    if row.status == Status.REJECTED and row.rejected_by:
        return row.rejected_by
    return row.approved_by or row.assignee or ""


def dashboard(session: Session, *, now: datetime, days: int, zone: ZoneInfo,
              people: frozenset[str] | None = None) -> Dashboard:
    """Every figure the dashboard shows for the last `days` days; with `people` (a supervisor and their team),
    only the drafts they handled and the opt-outs those drafts drew."""
    since = period_start(now, days, zone)
    rows = session.execute(
        select(*_COLUMNS).where(Draft.created_at >= since, Draft.created_at <= now).order_by(Draft.id)
    ).all()
    if people is not None:
        rows = [row for row in rows if staff_of(row) in people]
    counted = [row for row in rows if row.status != Status.SUPERSEDED]
    total = Figures()
    groups: dict[str, dict[str, Figures]] = {"intent": defaultdict(Figures), "persona": defaultdict(Figures), "staff": defaultdict(Figures)}
    per_day: dict[date, Figures] = defaultdict(Figures)
    for row in counted:
        targets = [total, per_day[row.created_at.astimezone(zone).date()],
                   *(groups[name][key] for name, key in _keys(row).items())]
        for figures in targets:
            _count(figures, row)
    customer_opt_outs, staff_opt_outs = _opt_outs(session, since, now, people)
    for opt_out in customer_opt_outs:
        source = _reply_before(session, opt_out)
        if people is not None and (source is None or staff_of(source) not in people):
            continue
        total.opt_outs += 1
        if source is not None:
            for name, key in _keys(source).items():
                groups[name][key].opt_outs += 1
    return Dashboard(
        days=days, since=since, until=now, total=total,
        by_intent=_sorted(groups["intent"]), by_persona=_sorted(groups["persona"]), by_staff=_sorted(groups["staff"]),
        daily=_daily(per_day, since.date(), now.astimezone(zone).date()),
        staff_opt_outs=staff_opt_outs, superseded=len(rows) - len(counted),
    )


def _keys(row: Draft | DraftRow) -> dict[str, str]:
    """The groups a draft counts in: its intent ("" when it has none), its persona, its staff member."""
    return {"intent": row.intent or "", "persona": row.persona, "staff": staff_of(row)}


def _count(figures: Figures, row: DraftRow) -> None:
    figures.drafts += 1
    if row.intent == FALLBACK:
        figures.fallback += 1
    if row.status == Status.SEND_FAILED:
        figures.send_failures += 1
    if row.status in OPEN:
        figures.pending += 1
    if row.status == Status.ANSWERED_MANUALLY:
        figures.answered_manually += 1
    if row.status == Status.REJECTED:
        figures.rejected += 1
    elif row.approved_by:
        figures.approved += 1
        if row.has_text:
            figures.approved_with_text += 1
            if row.changed:
                figures.edited += 1
    if row.decided_at is not None and (row.status == Status.REJECTED or row.approved_by):
        figures.waits.append(max(0.0, (row.decided_at - row.created_at).total_seconds()))


def _opt_outs(session: Session, since: datetime, until: datetime,
              people: frozenset[str] | None = None) -> tuple[list[OptOut], int]:
    """Customer opt-outs in the period, and how many opt-outs staff (of `people`, when given) recorded for customers."""
    rows = list(session.scalars(
        select(OptOut).where(OptOut.opted_out.is_(True), OptOut.created_at >= since, OptOut.created_at <= until).order_by(OptOut.id)
    ))
    mine = [row for row in rows if row.recorded_by == CUSTOMER]
    recorded = [row for row in rows if row.recorded_by != CUSTOMER and (people is None or row.recorded_by in people)]
    return mine, len(recorded)


def _reply_before(session: Session, opt_out: OptOut) -> DraftRow | None:
    """The last reply sent to the customer before they opted out, else the draft of their opt-out message."""
    same_customer = and_(Draft.channel == opt_out.channel, Draft.customer_id == opt_out.customer_id)
    sent = session.execute(
        select(*_COLUMNS).where(same_customer, Draft.status == Status.SENT, Draft.sent_at <= opt_out.created_at)
        .order_by(Draft.sent_at.desc(), Draft.id.desc()).limit(1)
    ).first()
    if sent is not None:
        return sent
    return session.execute(
        select(*_COLUMNS).where(same_customer, Draft.created_at <= opt_out.created_at)
        .order_by(Draft.created_at.desc(), Draft.id.desc()).limit(1)
    ).first()


def _sorted(groups: dict[str, Figures]) -> list[Group]:
    """Busiest first, then by name."""
    return [Group(key, figures) for key, figures in sorted(groups.items(), key=lambda item: (-item[1].drafts, item[0]))]


def _daily(per_day: dict[date, Figures], first: date, last: date) -> list[Day]:
    """One Day per calendar day from first to last, days without drafts included."""
    return [_day(first + timedelta(days=offset), per_day.get(first + timedelta(days=offset), Figures()))
            for offset in range((last - first).days + 1)]


def _day(day: date, figures: Figures) -> Day:
    return Day(day=day, drafts=figures.drafts, approved=figures.approved - figures.edited, edited=figures.edited,
               rejected=figures.rejected, fallback=figures.fallback)


def format_duration(seconds: float | None) -> str:
    """A wait in words an admin reads at a glance: 45 秒, 3.5 分钟, 2.0 小时, 1.5 天."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} 秒"
    if seconds < 3600:
        return f"{seconds / 60:.1f} 分钟"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} 小时"
    return f"{seconds / 86400:.1f} 天"


def format_rate(value: float | None) -> str:
    """A share as a whole percentage (one decimal under 10%), or a dash when there is nothing to measure."""
    if value is None:
        return "—"
    percent = value * 100
    return f"{percent:.1f}%" if 0 < percent < 10 else f"{percent:.0f}%"
