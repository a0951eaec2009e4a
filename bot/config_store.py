"""Configuration versions: intents/ and persona_styles/ as one published, versioned configuration.

A version stores every file under intents/ and persona_styles/ (relative path -> text) in the
database. Publishing checks the draft configuration (load + lint, then 5-fold cross-validation
against the active version), stores it, makes it active and writes an audit row. Every instance
polls `config_state` and swaps in a pipeline built from the active version (ConfigWatcher).
The loaders read folders, so a version is materialised into a private temporary folder first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.db.models import AuditLog, ConfigState, ConfigVersion
from bot.errors import DataFileError, DraftbotError

log = logging.getLogger(__name__)

INTENTS = "intents"
PERSONAS = "persona_styles"
ROOTS = (INTENTS, PERSONAS)
STATE_ID = 1
EVALUATION_FOLDS = 5
EVALUATION_FORMAT = 2  # older evaluations lack the figures the console needs and used reshuffled folds
WORSE_BY = 0.005  # refuse a draft whose held-out accuracy on the shared intents is lower by more than half a point
SYSTEM_AUTHOR = "system"


class ConfigRefused(DraftbotError):
    """A draft configuration was not published; `problems` name the file and the item."""

    def __init__(self, problems: list[str], *, evaluation: dict | None = None, overridable: bool = False) -> None:
        self.problems = problems
        self.evaluation = evaluation or {}
        self.overridable = overridable  # True when only the evaluation check failed (force publishes)
        super().__init__("refused:\n" + "\n".join(f"  {p}" for p in problems))


def _check_path(path: str) -> PurePosixPath:
    """A relative path under intents/ or persona_styles/, without '..' or absolute parts."""
    pure = PurePosixPath(path)
    if (
        not path or "\\" in path or "\x00" in path or pure.is_absolute() or any(p in ("", ".", "..") for p in path.split("/"))
        or len(pure.parts) < 2 or pure.parts[0] not in ROOTS
    ):
        raise DataFileError(path or "(empty path)", None, "not a file under intents/ or persona_styles/")
    return pure


@dataclass(frozen=True)
class ConfigFiles:
    """A whole configuration: relative posix path (intents/x.yml, persona_styles/p/...) -> text."""

    files: Mapping[str, str]

    def __post_init__(self) -> None:
        for path, text in self.files.items():
            _check_path(path)
            if not isinstance(text, str):
                raise DataFileError(path, None, "file content must be text")

    @classmethod
    def from_directories(cls, intents_dir: Path, personas_dir: Path) -> "ConfigFiles":
        """Read every file (hidden ones excepted) under the two folders, byte for byte as UTF-8 text."""
        files: dict[str, str] = {}
        for root, folder in ((INTENTS, Path(intents_dir)), (PERSONAS, Path(personas_dir))):
            if not folder.is_dir():
                raise DataFileError(folder, None, f"{root} folder not found")
            for path in sorted(folder.rglob("*")):
                relative = path.relative_to(folder)
                if not path.is_file() or any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                    continue
                try:
                    files[f"{root}/{relative.as_posix()}"] = path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    raise DataFileError(path, None, "not UTF-8 text") from None
        return cls(files)

    @classmethod
    def from_directory(cls, directory: Path) -> "ConfigFiles":
        """Read DIR/intents and DIR/persona_styles (the layout `write_to` produces)."""
        return cls.from_directories(Path(directory) / INTENTS, Path(directory) / PERSONAS)

    def intent_texts(self) -> dict[str, str]:
        """intents/<name>.yml -> text: what `bot.nlu.intents.intents_from` parses."""
        return {path: text for path, text in self.files.items()
                if path.startswith(f"{INTENTS}/") and path.count("/") == 1 and path.endswith(".yml")}

    def persona_texts(self) -> dict[str, str]:
        """<persona>/persona.yml and <persona>/templates/<name>.j2 -> text: what `personas_from` parses."""
        prefix = f"{PERSONAS}/"
        return {path[len(prefix):]: text for path, text in self.files.items() if path.startswith(prefix)}

    @property
    def digest(self) -> str:
        canonical = json.dumps(sorted(self.files.items()), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def write_to(self, directory: Path) -> None:
        """Write intents/ and persona_styles/ under `directory`; refuses paths that would leave it."""
        target = Path(directory).resolve()
        planned = []
        for path, text in sorted(self.files.items()):
            destination = (target / Path(*_check_path(path).parts)).resolve()
            if not destination.is_relative_to(target):
                raise DataFileError(path, None, f"would be written outside {target}")
            planned.append((destination, text))
        for destination, text in planned:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(text.encode("utf-8"))

    def materialise(self) -> "Materialised":
        """Write the files into a new private temporary folder (for the folder-reading loaders)."""
        root = Path(tempfile.mkdtemp(prefix="draftbot-config-"))
        try:
            self.write_to(root)
            (root / INTENTS).mkdir(exist_ok=True)
            (root / PERSONAS).mkdir(exist_ok=True)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return Materialised(root)

    def changes_from(self, other: "ConfigFiles | None") -> dict[str, list[str]]:
        """Paths added, removed and changed compared with `other`."""
        before = dict(other.files) if other else {}
        return {
            "added": sorted(set(self.files) - set(before)),
            "removed": sorted(set(before) - set(self.files)),
            "changed": sorted(p for p in self.files if p in before and before[p] != self.files[p]),
        }


@dataclass
class Materialised:
    """A configuration written to a temporary folder; `cleanup()` removes it."""

    root: Path

    @property
    def intents_dir(self) -> Path:
        return self.root / INTENTS

    @property
    def personas_dir(self) -> Path:
        return self.root / PERSONAS

    def relative(self, text: str) -> str:
        """Messages name files relative to the configuration (intents/x.yml), not the temporary folder."""
        return text.replace(f"{self.root}/", "").replace(str(self.root), ".")

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Materialised":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


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


def shared_accuracy(evaluation: dict, intents: set[str] | frozenset[str]) -> float | None:
    """Held-out accuracy on the items whose true intent is one of `intents` (None without such items)."""
    scores = [s for name, s in evaluation.get("scores", {}).items() if name in intents]
    support = sum(s["support"] for s in scores)
    return round(sum(s["correct"] for s in scores) / support, 4) if support else None


def compare(evaluation: dict, active_evaluation: dict | None) -> Comparison:
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
            })
            session.commit()
            log.info("configuration version 1 created from %s and %s", settings.intents_dir, settings.personas_dir)
            return version
        except IntegrityError:
            session.rollback()
    current = active(session)
    if current is None:  # versions exist but none is active (should not happen): the newest
        newest = session.scalar(select(ConfigVersion).order_by(ConfigVersion.number.desc()).limit(1))
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
    evaluation: dict | None = None,
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
    figures = {
        "accuracy": evaluation["accuracy"], "active_accuracy": active_evaluation["accuracy"] if active_evaluation else None,
        "active_version": current.number if current else None, "measure": "shared_accuracy",
        "shared_accuracy": comparison.accuracy, "active_shared_accuracy": comparison.active_accuracy,
        "shared_intents": len(comparison.shared), "drop": comparison.drop, "worse_by": WORSE_BY,
    }
    if comparison.worse and not force:
        raise ConfigRefused(
            [f"cross-validation accuracy on the {len(comparison.shared)} intents both versions share is worse than the "
             f"active version {current.number}'s: {comparison.accuracy:.1%} against {comparison.active_accuracy:.1%} "
             f"(down {comparison.drop * 100:.1f} points, more than {WORSE_BY * 100:.1f} allowed); publish with force to override"],
            evaluation=figures, overridable=True,
        )
    number = (session.scalar(select(func.max(ConfigVersion.number))) or 0) + 1
    forced = bool(force and comparison.worse)
    try:
        version = _store(session, files, number=number, author=author, note=note, now=now, evaluation=evaluation)
        _activate(session, version, now)
        _audit(session, now, author, action, number, {
            "note": note, "digest": version.digest, "previous": current.number if current else None,
            **files.changes_from(files_of(current) if current else None),
            "accuracy": evaluation["accuracy"], "active_accuracy": figures["active_accuracy"],
            "shared_accuracy": comparison.accuracy, "active_shared_accuracy": comparison.active_accuracy,
            "forced": forced, "warnings": len(warnings),
        })
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConfigRefused([f"another version {number} was published at the same time; try again"]) from None
    log.info("configuration version %d published by %s (accuracy %.3f)", number, author, evaluation["accuracy"])
    return PublishResult(number=number, accuracy=evaluation["accuracy"], active_accuracy=figures["active_accuracy"],
                         forced=forced, warnings=warnings)


def version_evaluation(session: Session, version: ConfigVersion, settings: Settings) -> dict | None:
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


def rollback(session: Session, number: int, author: str, now: datetime, *, settings: Settings | None = None) -> ConfigVersion:
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
    _audit(session, now, author, "rollback", number, {"previous": current.number if current else None, "digest": version.digest})
    session.commit()
    log.info("configuration rolled back to version %d by %s", number, author)
    return version


def _guard(session: Session, files: ConfigFiles, settings: Settings, *, live: ConfigVersion | None) -> None:
    """Refuse files that would stop recognising opt-outs, complaints or hand-offs (bot.obligations; never forced)."""
    from bot.obligations import guard

    guard(session, files, settings, live=files_of(live) if live is not None else None)


def _store(session: Session, files: ConfigFiles, *, number: int, author: str, note: str, now: datetime, evaluation: dict | None) -> ConfigVersion:
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


def _audit(session: Session, now: datetime, actor: str, action: str, number: int | None, detail: dict) -> None:
    session.add(AuditLog(at=now, actor=actor, action=action, version=number, detail=detail))


# ----- checking --------------------------------------------------------------------------------


def check(files: ConfigFiles, settings: Settings, *, evaluation: dict | None = None) -> tuple[list[str], dict]:
    """Load and lint the files, then cross-validate; returns (warnings, evaluation) or raises ConfigRefused.

    A current `evaluation` of exactly these files (see `is_current`) is reused instead of cross-validating again.
    """
    from bot.nlu.intents import load_intents
    from bot.persona.lint import lint
    from bot.persona.render import Renderer
    from bot.persona.styles import load_personas

    with files.materialise() as folder:
        try:
            intents = load_intents(folder.intents_dir)
            book = load_personas(folder.personas_dir)
        except DataFileError as exc:
            raise ConfigRefused([folder.relative(str(exc))]) from None
        if settings.default_persona not in book:
            raise ConfigRefused([f"{PERSONAS}/{settings.default_persona}/persona.yml: no persona {settings.default_persona!r} "
                                 f"(DRAFTBOT_DEFAULT_PERSONA); have: {', '.join(book.names())}"])
        problems = lint(book, Renderer(book), intents)
        errors = [_name_file(folder, book, p) for p in problems if p.severity == "error"]
        warnings = [_name_file(folder, book, p) for p in problems if p.severity != "error"]
        if errors:
            raise ConfigRefused(errors)
    if is_current(evaluation):
        return warnings, {key: value for key, value in evaluation.items() if key != "digest"}
    return warnings, _evaluation_of(intents, settings)


def _name_file(folder: Materialised, book, problem) -> str:  # noqa: ANN001
    """A lint finding with its file named from the configuration root (persona_styles/lucky/templates/x.j2)."""
    text = folder.relative(str(problem))
    if text.split("/", 1)[0] in book.names():
        text = f"{PERSONAS}/{text}"
    return text


def evaluate(files: ConfigFiles, settings: Settings) -> dict:
    """Cross-validation figures of a configuration (raises ConfigRefused when its intents do not load)."""
    from bot.nlu.intents import load_intents

    with files.materialise() as folder:
        try:
            intents = load_intents(folder.intents_dir)
        except DataFileError as exc:
            raise ConfigRefused([folder.relative(str(exc))]) from None
    return _evaluation_of(intents, settings)


def is_current(evaluation: dict | None) -> bool:
    """Whether stored figures have everything this code reads (older versions stored fewer)."""
    return bool(evaluation) and evaluation.get("format") == EVALUATION_FORMAT


def _evaluation_of(intents: list, settings: Settings) -> dict:
    """The figures kept with a version (JSON): numbers only, enough to redraw every chart later."""
    from bot.nlu.datasets import from_intents
    from bot.nlu.evaluation import cross_validate

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


# ----- following the active version in a running instance --------------------------------------

Builder = Callable[[Path, Path], object]  # (intents_dir, personas_dir) -> Pipeline


class ConfigWatcher:
    """Builds the pipeline of the active version and, in a daemon thread, follows changes to it.

    `poll()` reads config_state; when the active version changed it builds the new pipeline fully
    and only then hands it to `on_change`. A failed build keeps the old pipeline and logs an error.
    Materialised folders stay until `stop()`: templates are read lazily by the renderer.
    """

    def __init__(self, *, sessions: sessionmaker, settings: Settings, build: Builder, clock: Callable[[], datetime],
                 poll_seconds: float, on_change: Callable[[object], None] | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.build = build
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.on_change = on_change
        self.version_id: int | None = None
        self.number: int | None = None
        self._seen: tuple | None = None
        self._folders: list[Materialised] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> object:
        """Ensure a version exists (version 1 from the shipped folders) and build its pipeline."""
        with self.sessions() as session:
            version = ensure_initial(session, self.settings, self.clock())
            state = session.get(ConfigState, STATE_ID)
            pipeline = self._build(version)
            self._seen = (state.active_version_id, state.changed_at) if state else None
            self.version_id, self.number = version.id, version.number
        return pipeline

    def _build(self, version: ConfigVersion) -> object:
        folder = files_of(version).materialise()
        try:
            pipeline = self.build(folder.intents_dir, folder.personas_dir)
        except DraftbotError as exc:
            folder.cleanup()
            raise DraftbotError(folder.relative(str(exc))) from exc  # name files as intents/..., not the temp folder
        except BaseException:
            folder.cleanup()
            raise
        self._folders.append(folder)
        return pipeline

    def poll(self) -> bool:
        """Switch to the active version if it changed; True when a new pipeline was installed."""
        with self._lock:
            with self.sessions() as session:
                row = session.execute(select(ConfigState.active_version_id, ConfigState.changed_at).where(ConfigState.id == STATE_ID)).first()
                if row is None or tuple(row) == self._seen:
                    return False
                if row[0] == self.version_id:
                    self._seen = tuple(row)
                    return False
                version = session.get(ConfigVersion, row[0])
                try:
                    pipeline = self._build(version)
                except Exception as exc:
                    self._seen = tuple(row)  # do not rebuild a broken version every poll
                    log.error("configuration version %s could not be loaded; keeping version %s: %s",
                              version.number if version else row[0], self.number, exc)
                    return False
                previous = self.number
                if self.on_change is not None:
                    self.on_change(pipeline)
                self._seen = tuple(row)
                self.version_id, self.number = version.id, version.number
                log.info("configuration switched from version %s to %s", previous, version.number)
                return True

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="draftbot-config", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:
                log.exception("configuration poll failed")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None
        for folder in self._folders:
            folder.cleanup()
        self._folders.clear()
