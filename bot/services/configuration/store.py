"""Configuration versions in the database: read, check, publish, roll back, each audited.

A version stores every file of a configuration (`ConfigFiles`) in the database. Publishing checks
the draft configuration (load + lint, the obligations gate, then 5-fold cross-validation against
the active version), stores it, makes it active and writes an audit row. Everything is checked
from the files in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db.models import AuditLog, ConfigState, ConfigVersion
from bot.errors import DataFileError, Refused
from bot.nlu.datasets import from_intents
from bot.nlu.evaluation import cross_validate
from bot.nlu.intents import Intent, intents_from
from bot.persona.lint import Problem, lint
from bot.persona.render import Renderer
from bot.persona.styles import PersonaBook, personas_from
from bot.services import audit
from bot.services.configuration.files import INTENTS, PERSONAS, ConfigFiles

log = logging.getLogger(__name__)

Evaluation = dict[str, Any]  # a version's cross-validation figures, stored as JSON

STATE_ID = 1
EVALUATION_FOLDS = 5
EVALUATION_FORMAT = 2  # older evaluations lack the figures the console needs and used reshuffled folds
WORSE_BY = 0.005  # refuse a draft whose held-out accuracy on the shared intents is lower by more than half a point
SYSTEM_AUTHOR = "system"


class ConfigRefused(Refused):
    """A draft configuration was not published; `problems` name the file and the item."""

    def __init__(self, problems: list[str], *, evaluation: Evaluation | None = None, overridable: bool = False) -> None:
        self.problems = problems
        self.evaluation = evaluation or {}
        self.overridable = overridable  # True when only the evaluation check failed (force publishes)
        super().__init__("refused:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Comparison:
    """A draft's held-out figures against the active version's, over the intents both have.

    Only test items whose true intent exists in both versions count, so adding an intent (its own
    items, hard or easy) neither helps nor hurts; its items taken for an existing intent do not
    count either, but existing items now taken for the new intent do: customers who asked
    something the service already knew get a different answer.
    """

    shared: tuple[str, ...]
    accuracy: float | None  # the draft's accuracy on items of the shared intents
    active_accuracy: float | None

    @property
    def drop(self) -> float:
        if self.accuracy is None or self.active_accuracy is None:
            return 0.0
        return round(self.active_accuracy - self.accuracy, 4)

    @property
    def worse(self) -> bool:
        return self.drop > WORSE_BY


def shared_accuracy(evaluation: Evaluation, intents: set[str] | frozenset[str]) -> float | None:
    """Held-out accuracy on the items whose true intent is one of `intents` (None without such items)."""
    scores = [s for name, s in evaluation.get("scores", {}).items() if name in intents]
    support = sum(s["support"] for s in scores)
    return round(sum(s["correct"] for s in scores) / support, 4) if support else None


def compare(evaluation: Evaluation, active_evaluation: Evaluation | None) -> Comparison:
    """Compare two evaluations (format 2) on the intents both have; no figures without a baseline."""
    if not active_evaluation:
        return Comparison(shared=(), accuracy=None, active_accuracy=None)
    shared = frozenset(evaluation.get("scores", {})) & frozenset(active_evaluation.get("scores", {}))
    return Comparison(shared=tuple(sorted(shared)), accuracy=shared_accuracy(evaluation, shared),
                      active_accuracy=shared_accuracy(active_evaluation, shared))


@dataclass(frozen=True)
class PublishResult:
    number: int
    accuracy: float
    active_accuracy: float | None
    forced: bool
    warnings: list[str] = field(default_factory=list)


# ----- reading ---------------------------------------------------------------------------------


def active(session: Session) -> ConfigVersion | None:
    """The active version, or None before the first one exists."""
    state = session.get(ConfigState, STATE_ID)
    return session.get(ConfigVersion, state.active_version_id) if state else None


def get_version(session: Session, number: int) -> ConfigVersion | None:
    return session.scalar(select(ConfigVersion).where(ConfigVersion.number == number))


def versions(session: Session) -> list[ConfigVersion]:
    return list(session.scalars(select(ConfigVersion).order_by(ConfigVersion.number)))


def audit_entries(session: Session, limit: int = 100, *, action: str | None = None) -> list[AuditLog]:
    """The newest audit rows first, optionally only those of one action (publish, rollback, edit...)."""
    query = select(AuditLog)
    if action is not None:
        query = query.where(AuditLog.action == action)
    return list(session.scalars(query.order_by(AuditLog.id.desc()).limit(limit)))


def files_of(version: ConfigVersion) -> ConfigFiles:
    return ConfigFiles(dict(version.files))


# ----- writing ---------------------------------------------------------------------------------


def ensure_initial(session: Session, settings: Settings, now: datetime) -> ConfigVersion:
    """The active version; on an empty table, version 1 from the shipped folders (commits).

    Two instances starting together on PostgreSQL both try number 1; the unique number lets one
    win, and the other rolls back and reads the winner's version.
    """
    current = active(session)
    if current is not None:
        return current
    if session.scalar(select(func.count()).select_from(ConfigVersion)) == 0:
        files = ConfigFiles.from_directories(settings.intents_dir, settings.personas_dir)
        try:
            version = _store(session, files, number=1, author=SYSTEM_AUTHOR, note="shipped files", now=now, evaluation=None)
            _activate(session, version, now)
            _audit(session, now, SYSTEM_AUTHOR, "initial", 1, {
                "source": [str(settings.intents_dir), str(settings.personas_dir)], "digest": version.digest,
            }, surface="worker")
            session.commit()
            log.info("configuration version 1 created from %s and %s", settings.intents_dir, settings.personas_dir)
            return version
        except IntegrityError:
            session.rollback()
    current = active(session)
    if current is None:  # versions exist but none is active (should not happen): the newest
        newest = session.scalar(select(ConfigVersion).order_by(ConfigVersion.number.desc()).limit(1))
        if newest is None:  # the instance that won the race for version 1 rolled back after all
            raise ConfigRefused(["no configuration version exists; start again to create version 1"])
        _activate(session, newest, now)
        session.commit()
        current = newest
    return current


def publish(
    session: Session,
    files: ConfigFiles,
    author: str,
    note: str,
    now: datetime,
    force: bool = False,
    *,
    settings: Settings | None = None,
    action: str = "publish",
    evaluation: Evaluation | None = None,
    surface: str = "cli",
) -> PublishResult:
    """Check, store as the next version, activate, audit (commits). Raises ConfigRefused.

    Load or lint errors always refuse. A held-out accuracy on the intents both versions share lower
    than the active version's by more than half a point refuses unless `force` (the override is
    recorded in the audit log). `evaluation`: figures of exactly these files computed before (the
    console remembers them), so the cross-validation is not run again.
    """
    settings = settings or Settings()
    author = author.strip()
    if not author:
        raise ConfigRefused(["an author is required"])
    if not note.strip():
        raise ConfigRefused(["a note is required: say what changed and why (发布说明不能为空)"])
    warnings, evaluation = check(files, settings, evaluation=evaluation)
    current = active(session)
    _guard(session, files, settings, live=current)
    active_evaluation = version_evaluation(session, current, settings) if current is not None else None
    comparison = compare(evaluation, active_evaluation)
    active_number = current.number if current is not None else None
    figures = {
        "accuracy": evaluation["accuracy"], "active_accuracy": active_evaluation["accuracy"] if active_evaluation else None,
        "active_version": active_number, "measure": "shared_accuracy",
        "shared_accuracy": comparison.accuracy, "active_shared_accuracy": comparison.active_accuracy,
        "shared_intents": len(comparison.shared), "drop": comparison.drop, "worse_by": WORSE_BY,
    }
    if comparison.worse and not force:
        raise ConfigRefused(
            [f"cross-validation accuracy on the {len(comparison.shared)} intents both versions share is worse than the "
             f"active version {active_number}'s: {comparison.accuracy:.1%} against {comparison.active_accuracy:.1%} "
             f"(down {comparison.drop * 100:.1f} points, more than {WORSE_BY * 100:.1f} allowed); publish with force to override"],
            evaluation=figures, overridable=True,
        )
    number = (session.scalar(select(func.max(ConfigVersion.number))) or 0) + 1
    forced = bool(force and comparison.worse)
    try:
        version = _store(session, files, number=number, author=author, note=note, now=now, evaluation=evaluation)
        _activate(session, version, now)
        _audit(session, now, author, action, number, {
            "note": note, "digest": version.digest, "previous": active_number,
            **files.changes_from(files_of(current) if current else None),
            "accuracy": evaluation["accuracy"], "active_accuracy": figures["active_accuracy"],
            "shared_accuracy": comparison.accuracy, "active_shared_accuracy": comparison.active_accuracy,
            "forced": forced, "warnings": len(warnings),
        }, surface=surface)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConfigRefused([f"another version {number} was published at the same time; try again"]) from None
    log.info("configuration version %d published by %s (accuracy %.3f)", number, author, evaluation["accuracy"])
    return PublishResult(number=number, accuracy=evaluation["accuracy"], active_accuracy=figures["active_accuracy"],
                         forced=forced, warnings=warnings)


def version_evaluation(session: Session, version: ConfigVersion, settings: Settings) -> Evaluation | None:
    """A version's evaluation: the stored one, else computed and cached (commits; the files of a version
    never change). None when the version's intents no longer load: it cannot veto its replacement."""
    if is_current(version.evaluation):
        return version.evaluation
    try:
        figures = evaluate(files_of(version), settings)
    except ConfigRefused:
        return None
    version.evaluation = figures
    session.commit()
    return figures


def rollback(session: Session, number: int, author: str, now: datetime, *, settings: Settings | None = None,
             surface: str = "cli") -> ConfigVersion:
    """Make an earlier version active again (commits).

    The obligation gate runs here too: an older version passed it against the messages of its day (or
    predates it), and opt-outs recorded since must still be recognised after going back.
    """
    version = get_version(session, number)
    if version is None:
        raise ConfigRefused([f"no configuration version {number}"])
    current = active(session)
    if current is not None and current.id == version.id:
        raise ConfigRefused([f"version {number} is already active"])
    _guard(session, files_of(version), settings or Settings(), live=current)
    _activate(session, version, now)
    _audit(session, now, author, "rollback", number, {"previous": current.number if current else None, "digest": version.digest},
           surface=surface)
    session.commit()
    log.info("configuration rolled back to version %d by %s", number, author)
    return version


def _guard(session: Session, files: ConfigFiles, settings: Settings, *, live: ConfigVersion | None) -> None:
    """Refuse files that would stop recognising opt-outs, complaints or hand-offs (bot.services.configuration.obligations; never forced)."""
    from bot.services.configuration.obligations import guard  # it refuses with ConfigRefused, defined here

    guard(session, files, settings, live=files_of(live) if live is not None else None)


def _store(session: Session, files: ConfigFiles, *, number: int, author: str, note: str, now: datetime, evaluation: Evaluation | None) -> ConfigVersion:
    version = ConfigVersion(number=number, files=dict(files.files), digest=files.digest, author=author, note=note,
                            created_at=now, evaluation=evaluation)
    session.add(version)
    session.flush()
    return version


def _activate(session: Session, version: ConfigVersion, now: datetime) -> None:
    state = session.get(ConfigState, STATE_ID)
    if state is None:
        session.add(ConfigState(id=STATE_ID, active_version_id=version.id, changed_at=now))
    else:
        state.active_version_id = version.id
        state.changed_at = now
    session.flush()


def _audit(session: Session, now: datetime, actor: str, action: str, number: int | None, detail: dict[str, Any], *,
           surface: str) -> None:
    audit.record(session, actor=actor, role="system" if actor == SYSTEM_AUTHOR else "admin", surface=surface,
                 action=action, subject=f"config:v{number}" if number is not None else "config", version=number,
                 detail=detail, now=now)


# ----- checking --------------------------------------------------------------------------------


def check(files: ConfigFiles, settings: Settings, *, evaluation: Evaluation | None = None) -> tuple[list[str], Evaluation]:
    """Load and lint the files, then cross-validate; returns (warnings, evaluation) or raises ConfigRefused.

    A current `evaluation` of exactly these files (see `is_current`) is reused instead of cross-validating again.
    """
    intents, book = load(files)
    if settings.default_persona not in book:
        raise ConfigRefused([f"{PERSONAS}/{settings.default_persona}/persona.yml: no persona {settings.default_persona!r} "
                             f"(DRAFTBOT_DEFAULT_PERSONA); have: {', '.join(book.names())}"])
    problems = lint(book, Renderer(book), intents)
    errors = [_name_file(book, p) for p in problems if p.severity == "error"]
    warnings = [_name_file(book, p) for p in problems if p.severity != "error"]
    if errors:
        raise ConfigRefused(errors)
    if evaluation is not None and is_current(evaluation):
        return warnings, {key: value for key, value in evaluation.items() if key != "digest"}
    return warnings, _evaluation_of(intents, settings)


def load(files: ConfigFiles) -> tuple[list[Intent], PersonaBook]:
    """The configuration's intents and personas, parsed from memory; ConfigRefused names the file and item."""
    try:
        return intents_from(files.intent_texts(), where=INTENTS), personas_from(files.persona_texts(), where=PERSONAS)
    except DataFileError as exc:
        raise ConfigRefused([str(exc)]) from None


def _name_file(book: PersonaBook, problem: Problem) -> str:
    """A lint finding with its file named from the configuration root (persona_styles/lucky/templates/x.j2)."""
    text = str(problem)
    if text.split("/", 1)[0] in book.names():
        text = f"{PERSONAS}/{text}"
    return text


def evaluate(files: ConfigFiles, settings: Settings) -> Evaluation:
    """Cross-validation figures of a configuration (raises ConfigRefused when its intents do not load)."""
    try:
        intents = intents_from(files.intent_texts(), where=INTENTS)
    except DataFileError as exc:
        raise ConfigRefused([str(exc)]) from None
    return _evaluation_of(intents, settings)


def is_current(evaluation: Evaluation | None) -> TypeGuard[Evaluation]:
    """Whether stored figures have everything this code reads (older versions stored fewer)."""
    return evaluation is not None and evaluation.get("format") == EVALUATION_FORMAT


def _evaluation_of(intents: list[Intent], settings: Settings) -> Evaluation:
    """The figures kept with a version (JSON): numbers only, enough to redraw every chart later."""
    # folds fixed by text: comparing a draft with the active version measures the edits, not a reshuffle
    report = cross_validate(*from_intents(intents), folds=EVALUATION_FOLDS, target_precision=settings.target_precision,
                            stable_folds=True)
    diagonal = {label: int(report.confusion[i][i]) for i, label in enumerate(report.labels)}
    return {
        "format": EVALUATION_FORMAT,
        "accuracy": round(float(report.accuracy), 4),
        "macro_f1": round(float(report.macro_f1), 4),
        "per_intent": {score.intent: round(float(score.f1), 4) for score in report.per_intent},
        "scores": {
            score.intent: {"precision": score.precision, "recall": score.recall, "f1": score.f1,
                           "support": score.support, "correct": diagonal.get(score.intent, 0)}
            for score in report.per_intent
        },
        "coverage": report.coverage,
        "accuracy_on_accepted": report.accuracy_on_accepted,
        "threshold": report.threshold,
        "target_precision": report.target_precision,
        "labels": list(report.labels),
        "confusion": [[int(n) for n in row] for row in report.confusion],
        "confusion_pairs": report.confusion_pairs,
        "curve": report.curve,
        "method": report.method,
        "examples": report.examples,
    }
