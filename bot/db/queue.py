"""The durable job queue: idempotent enqueue, leased claims that survive crashes, retries with backoff."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.db.models import Job


def insert_ignoring_duplicates(session: Session, model: type, values: dict, unique: list[str]) -> int | None:
    """INSERT a row unless one with the same unique columns exists; return the new id or None."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(model.id)
    return session.execute(statement).scalar_one_or_none()


def enqueue(session: Session, *, kind: str, key: str, payload: dict, now: datetime, run_after: datetime | None = None) -> bool:
    """Add a job unless one with the same key exists (then it is a retry of the same work): True if added."""
    values = dict(
        kind=kind, key=key, payload=payload, status="pending", attempts=0,
        run_after=run_after or now, created_at=now, updated_at=now,
    )
    return insert_ignoring_duplicates(session, Job, values, ["key"]) is not None


def _due(now: datetime):  # noqa: ANN202
    return or_(
        and_(Job.status == "pending", Job.run_after <= now),
        and_(Job.status == "running", Job.lease_until < now),  # its worker died: take it over
    )


def claim(session: Session, *, now: datetime, lease: float) -> Job | None:
    """Take one due job for this worker, or None; safe with several workers on one database."""
    due = session.scalars(
        select(Job.id).where(Job.status == "pending", Job.run_after <= now).order_by(Job.run_after, Job.id).limit(8)
    ).all()
    orphaned = session.scalars(select(Job.id).where(Job.status == "running", Job.lease_until < now).limit(8)).all()
    for job_id in [*due, *orphaned]:
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, _due(now))
            .values(status="running", lease_until=now + timedelta(seconds=lease), attempts=Job.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if claimed.rowcount == 1:
            return session.get(Job, job_id, populate_existing=True)
    return None


def finish(session: Session, job: Job, *, now: datetime) -> None:
    job.status = "done"
    job.lease_until = None
    job.updated_at = now


def retry_later(session: Session, job: Job, *, now: datetime, delay: float, error: str) -> None:
    job.status = "pending"
    job.lease_until = None
    job.run_after = now + timedelta(seconds=delay)
    job.last_error = error[:2000]
    job.updated_at = now


def fail(session: Session, job: Job, *, now: datetime, error: str) -> None:
    job.status = "failed"
    job.lease_until = None
    job.last_error = error[:2000]
    job.updated_at = now


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(("pending", "running")))) or 0


def release_running(session: Session, *, now: datetime) -> int:
    """Make every running job due again: for a single-instance database at start-up, after a crash."""
    result = session.execute(
        update(Job).where(Job.status == "running").values(status="pending", lease_until=None, run_after=now, updated_at=now)
    )
    return result.rowcount
