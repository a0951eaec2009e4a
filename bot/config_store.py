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
WORSE_BY = 0.005  # refuse a draft whose accuracy is lower by more than half a point
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


def audit_entries(session: Session, limit: int = 100) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)))


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
) -> PublishResult:
    """Check, store as the next version, activate, audit (commits). Raises ConfigRefused.

    Load or lint errors always refuse. An accuracy lower than the active version's by more than
    half a point refuses unless `force` (the override is recorded in the audit log).
    """
    settings = settings or Settings()
    author = author.strip()
    if not author:
        raise ConfigRefused(["an author is required"])
    warnings, evaluation = check(files, settings)
    current = active(session)
    active_evaluation = None
    if current is not None:
        active_evaluation = current.evaluation
        if not active_evaluation or "accuracy" not in active_evaluation:
            try:
                active_evaluation = evaluate(files_of(current), settings)
                current.evaluation = active_evaluation  # cached: the files of a version never change
                session.commit()
            except ConfigRefused:
                active_evaluation = None  # an unloadable active version cannot veto its replacement
    figures = {"accuracy": evaluation["accuracy"], "active_accuracy": active_evaluation["accuracy"] if active_evaluation else None,
               "active_version": current.number if current else None}
    if active_evaluation and evaluation["accuracy"] < active_evaluation["accuracy"] - WORSE_BY and not force:
        raise ConfigRefused(
            [f"cross-validation accuracy {evaluation['accuracy']:.1%} is worse than the active version "
             f"{current.number}'s {active_evaluation['accuracy']:.1%} (by more than {WORSE_BY:.1%}); "
             "publish with force to override"],
            evaluation=figures, overridable=True,
        )
    number = (session.scalar(select(func.max(ConfigVersion.number))) or 0) + 1
    try:
        version = _store(session, files, number=number, author=author, note=note, now=now, evaluation=evaluation)
        _activate(session, version, now)
        forced = bool(force and active_evaluation and evaluation["accuracy"] < active_evaluation["accuracy"] - WORSE_BY)
        _audit(session, now, author, action, number, {
            "note": note, "digest": version.digest, "previous": current.number if current else None,
            **files.changes_from(files_of(current) if current else None),
            "accuracy": evaluation["accuracy"], "active_accuracy": figures["active_accuracy"],
            "forced": forced, "warnings": len(warnings),
        })
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConfigRefused([f"another version {number} was published at the same time; try again"]) from None
    log.info("configuration version %d published by %s (accuracy %.3f)", number, author, evaluation["accuracy"])
    return PublishResult(number=number, accuracy=evaluation["accuracy"], active_accuracy=figures["active_accuracy"],
                         forced=forced, warnings=warnings)


def rollback(session: Session, number: int, author: str, now: datetime) -> ConfigVersion:
    """Make an earlier version active again (commits)."""
    version = get_version(session, number)
    if version is None:
        raise ConfigRefused([f"no configuration version {number}"])
    current = active(session)
    if current is not None and current.id == version.id:
        raise ConfigRefused([f"version {number} is already active"])
    _activate(session, version, now)
    _audit(session, now, author, "rollback", number, {"previous": current.number if current else None, "digest": version.digest})
    session.commit()
    log.info("configuration rolled back to version %d by %s", number, author)
    return version


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


def check(files: ConfigFiles, settings: Settings) -> tuple[list[str], dict]:
    """Load and lint the files, then cross-validate; returns (warnings, evaluation) or raises ConfigRefused."""
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


def _evaluation_of(intents: list, settings: Settings) -> dict:
    from bot.nlu.datasets import from_intents
    from bot.nlu.evaluation import cross_validate

    report = cross_validate(*from_intents(intents), folds=EVALUATION_FOLDS, target_precision=settings.target_precision)
    return {
        "accuracy": round(float(report.accuracy), 4),
        "macro_f1": round(float(report.macro_f1), 4),
        "per_intent": {score.intent: round(float(score.f1), 4) for score in report.per_intent},
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
