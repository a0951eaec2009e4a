"""The draft configuration admins edit in the console, kept in the database until it is published.

There is one draft for the whole team (the `config_draft` row): it starts as a copy of the active
version and every save replaces its files and writes an audit row naming what changed. Publishing
goes through `configuration.publish` (check, held-out comparison, new version) and then the draft
starts over from the version it produced; discarding starts it over from the active version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services import audit, configuration
from bot.config import Settings
from bot.services.configuration import ConfigFiles, ConfigRefused, PublishResult
from bot.db.models import ConfigDraft
from bot.services.configuration.obligations import ObligationRefused

DRAFT_ID = 1


@dataclass(frozen=True)
class Workspace:
    """The draft as the console shows it."""

    files: ConfigFiles
    base_version: int
    active_version: int
    updated_by: str
    updated_at: datetime
    evaluation: dict | None  # the last evaluation of exactly these files, else None
    changed: dict[str, list[str]]  # paths added, removed and changed since the version the draft started from

    @property
    def dirty(self) -> bool:
        return any(self.changed.values())


def _row(session: Session, now: datetime) -> ConfigDraft:
    row = session.get(ConfigDraft, DRAFT_ID)
    if row is None:
        active = configuration.active(session)
        if active is None:
            raise ConfigRefused(["no active configuration version yet"])
        row = ConfigDraft(id=DRAFT_ID, base_version=active.number, files=dict(active.files), updated_by=active.author,
                          updated_at=now, evaluation=None)
        session.add(row)
        session.flush()
    return row


def load(session: Session, now: datetime) -> Workspace:
    """The draft (created from the active version the first time)."""
    row = _row(session, now)
    files = ConfigFiles(dict(row.files))
    base = configuration.get_version(session, row.base_version)
    active = configuration.active(session)
    evaluation = row.evaluation if row.evaluation and row.evaluation.get("digest") == files.digest else None
    return Workspace(files=files, base_version=row.base_version, active_version=active.number if active else 0,
                     updated_by=row.updated_by, updated_at=row.updated_at, evaluation=evaluation,
                     changed=files.changes_from(configuration.files_of(base) if base else None))


def save(session: Session, files: ConfigFiles, *, user: str, what: str, now: datetime) -> Workspace:
    """Replace the draft's files and record who changed what (commits)."""
    row = _row(session, now)
    before = ConfigFiles(dict(row.files))
    if before.digest != files.digest:
        row.files = dict(files.files)
        row.updated_by = user
        row.updated_at = now
        # `what` may quote a customer's words (an example taken from the learning inbox): it is the event's redactable text
        audit.record(session, actor=user, role="admin", surface="console", action="edit", subject="config:draft", now=now,
                     text=what, detail={"base_version": row.base_version, **files.changes_from(before)})
    session.commit()
    return load(session, now)


def remember_evaluation(session: Session, files: ConfigFiles, evaluation: dict, now: datetime) -> None:
    """Keep an evaluation of the draft's files so the pages can show it until the files change (commits)."""
    row = _row(session, now)
    row.evaluation = {**evaluation, "digest": files.digest}
    session.commit()


def discard(session: Session, *, user: str, now: datetime) -> Workspace:
    """Start the draft over from the active version (commits)."""
    active = configuration.active(session)
    if active is None:
        raise ConfigRefused(["no active configuration version yet"])
    row = _row(session, now)
    audit.record(session, actor=user, role="admin", surface="console", action="discard", subject="config:draft", now=now,
                 detail={"base_version": row.base_version, "active_version": active.number})
    _reset(row, active.number, dict(active.files), user, now)
    session.commit()
    return load(session, now)


def publish(session: Session, settings: Settings, *, user: str, note: str, force: bool, now: datetime) -> PublishResult:
    """Publish the draft as a new version; a refusal is audited and re-raised (commits either way).

    The draft's remembered evaluation is reused when it is of exactly these files, so publishing
    right after evaluating does not cross-validate again.
    """
    row = _row(session, now)
    files = ConfigFiles(dict(row.files))
    remembered = row.evaluation if row.evaluation and row.evaluation.get("digest") == files.digest else None
    session.commit()  # no transaction stays open during the checks
    try:
        result = configuration.publish(session, files, user, note, now, force, settings=settings, evaluation=remembered,
                                       surface="console")
    except ConfigRefused as exc:
        session.rollback()
        audit.record(session, actor=user, role="admin", surface="console", action="refused", subject="config:draft", now=now,
                     detail={"note": note, "problems": exc.problems, "overridable": exc.overridable,
                             **({"evaluation": exc.evaluation} if exc.evaluation else {})})
        session.commit()
        raise
    row = _row(session, now)
    _reset(row, result.number, dict(files.files), user, now, evaluation=row.evaluation)
    session.commit()
    return result


def rollback(session: Session, number: int, *, user: str, now: datetime, settings: Settings | None = None) -> bool:
    """Make an earlier version active (configuration.rollback, audited; commits). Returns True when the
    draft was kept because it holds unpublished changes; a draft without changes follows the version
    rolled back to, so the next edit starts from what is live."""
    row = _row(session, now)
    base = configuration.get_version(session, row.base_version)
    unchanged = base is not None and base.digest == ConfigFiles(dict(row.files)).digest
    session.commit()  # no transaction stays open during the obligation check
    try:
        version = configuration.rollback(session, number, user, now, settings=settings, surface="console")
    except ObligationRefused as exc:
        session.rollback()
        audit.record(session, actor=user, role="admin", surface="console", action="refused", subject=f"config:v{number}",
                     now=now, detail={"note": f"回滚到版本 {number}", "problems": exc.problems, "overridable": False})
        session.commit()
        raise
    if not unchanged:
        return True
    row = _row(session, now)
    evaluation = {**version.evaluation, "digest": version.digest} if configuration.is_current(version.evaluation) else None
    _reset(row, version.number, dict(version.files), user, now, evaluation=evaluation)
    session.commit()
    return False


def _reset(row: ConfigDraft, number: int, files: dict, user: str, now: datetime, evaluation: dict | None = None) -> None:
    row.base_version = number
    row.files = files
    row.updated_by = user
    row.updated_at = now
    row.evaluation = evaluation
