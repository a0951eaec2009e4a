"""The durable job queue: idempotent enqueue, leased claims that survive crashes, retries with backoff."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.db.models import Job, Message


def insert_ignoring_duplicates(
    session: Session, model: type[Message] | type[Job], values: dict[str, Any], unique: list[str]
) -> int | None:
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


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Job.status == "pending", Job.run_after <= now),
        and_(Job.status == "running", Job.lease_until < now),  # its worker died: take it over
    )


def claim(session: Session, *, now: datetime, lease: float, limit: int = 1) -> list[Job]:
    """Lease up to `limit` due jobs to this worker and commit; safe with several workers on one database.

    Jobs whose worker died (lease expired) come first, then pending ones, oldest first. The
    candidates are read, then leased by one UPDATE that checks again that each is still due: a job
    another worker leased in between is left out.
    """
    orphaned = session.scalars(select(Job.id).where(Job.status == "running", Job.lease_until < now).limit(limit)).all()
    due = session.scalars(
        select(Job.id).where(Job.status == "pending", Job.run_after <= now).order_by(Job.run_after, Job.id).limit(limit)
    ).all()
    candidates = [*orphaned, *due][:limit]
    if not candidates:
        return []
    leased = session.scalars(
        update(Job)
        .where(Job.id.in_(candidates), _due(now))
        .values(status="running", lease_until=now + timedelta(seconds=lease), attempts=Job.attempts + 1, updated_at=now)
        .returning(Job),
        execution_options={"synchronize_session": False},
    ).all()
    session.commit()
    order = {job_id: position for position, job_id in enumerate(candidates)}
    return sorted(leased, key=lambda job: order[job.id])


def release(session: Session, leases: list[tuple[int, datetime]]) -> None:
    """Give back leased jobs this worker will not run (it is stopping), unless another worker has taken them over."""
    for job_id, lease_until in leases:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running", Job.lease_until == lease_until)
            .values(status="pending", lease_until=None, attempts=Job.attempts - 1)  # it never ran
        )


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
    result = cast(CursorResult[Any], session.execute(  # an UPDATE's result has a row count
        update(Job).where(Job.status == "running").values(status="pending", lease_until=None, run_after=now, updated_at=now)
    ))
    return result.rowcount
