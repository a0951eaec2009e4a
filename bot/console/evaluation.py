"""Train and evaluate in the console: cross-validate the draft, compare it with the active version, draw it.

An evaluation is 5-fold cross-validation of the draft's intents (configuration.evaluate): each
example is predicted by a model that never saw it, so the figures say how the classifier does on
messages it has not met. Only numbers are stored (workspace.remember_evaluation, and with every
published version); the two charts are drawn from them as inline SVG with each page, so nothing
goes stale and no image files pile up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services import configuration
from bot.config import Settings
from bot.services.configuration import Comparison, ConfigFiles
from bot.console import workspace
from bot.console.intent_files import read_intents
from bot.db.models import ConfigVersion
from bot.nlu.intents import FALLBACK, FALLBACK_NAME

CHANGE_BY = 0.01  # a per-intent F1 change smaller than one point is noise, not better or worse
ORDER = ("worse", "new", "removed", "better", "same")  # what the admin should look at first


def run(session: Session, settings: Settings, *, user: str, now: datetime,
        timer: Callable[[], float] = time.perf_counter) -> dict:
    """Evaluate the draft as it is now and remember the figures with it (commits); ConfigRefused when its
    intents do not load. The active version's figures are computed too if it has none yet, so the
    comparison is ready; when the draft equals the active version one cross-validation serves both."""
    files = workspace.load(session, now).files
    active = configuration.active(session)
    session.commit()  # no transaction stays open during the seconds of cross-validation
    started = timer()
    figures = configuration.evaluate(files, settings)
    if active is not None and not configuration.is_current(active.evaluation):
        if active.digest == files.digest:
            active.evaluation = figures
            session.commit()
        else:
            configuration.version_evaluation(session, active, settings)
    figures = {**figures, "seconds": round(timer() - started, 1), "evaluated_at": now.isoformat(), "evaluated_by": user}
    workspace.remember_evaluation(session, files, figures, now)
    return figures


def draft_figures(draft: workspace.Workspace) -> dict | None:
    """The draft's remembered figures, if they are of its current files and complete enough to show."""
    return draft.evaluation if configuration.is_current(draft.evaluation) else None


def active_figures(session: Session) -> tuple[ConfigVersion | None, dict | None]:
    """The active version and its stored figures (None when it has not been evaluated in this format yet)."""
    version = configuration.active(session)
    if version is None or not configuration.is_current(version.evaluation):
        return version, None
    return version, version.evaluation


@dataclass(frozen=True)
class IntentChange:
    """One intent's F1 in the draft against the active version."""

    intent: str
    status: str  # better | worse | same | new | removed
    f1: float | None
    active_f1: float | None

    @property
    def delta(self) -> float | None:
        if self.f1 is None or self.active_f1 is None:
            return None
        return round(self.f1 - self.active_f1, 4)


@dataclass(frozen=True)
class Difference:
    """What changed between the active version's evaluation and the draft's."""

    active_version: int
    comparison: Comparison  # accuracy on the intents both have: the figure publishing is judged by
    accuracy: float
    active_accuracy: float
    macro_f1: float
    active_macro_f1: float
    rows: list[IntentChange]

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)


def difference(figures: dict, active: dict, active_version: int) -> Difference:
    """Per-intent F1 changes (worse first), and the held-out comparison publishing uses."""
    draft_f1, active_f1 = figures["per_intent"], active["per_intent"]
    rows = []
    for intent in sorted(set(draft_f1) | set(active_f1)):
        new, old = draft_f1.get(intent), active_f1.get(intent)
        if old is None:
            status = "new"
        elif new is None:
            status = "removed"
        elif new - old > CHANGE_BY:
            status = "better"
        elif old - new > CHANGE_BY:
            status = "worse"
        else:
            status = "same"
        rows.append(IntentChange(intent, status, new, old))
    rows.sort(key=lambda row: (ORDER.index(row.status), row.delta or 0.0, row.intent))
    return Difference(
        active_version=active_version, comparison=configuration.compare(figures, active),
        accuracy=figures["accuracy"], active_accuracy=active["accuracy"],
        macro_f1=figures["macro_f1"], active_macro_f1=active["macro_f1"], rows=rows,
    )


def intent_names(files: ConfigFiles) -> dict[str, str]:
    """Intent id -> Chinese display name, for the intents of `files` that have one (fallback too)."""
    return {FALLBACK: FALLBACK_NAME} | {d.intent: d.display_name for d in read_intents(files).docs.values() if d.display_name}
