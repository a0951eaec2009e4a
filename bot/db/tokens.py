"""API tokens: created once and shown once, stored as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import ApiToken
from bot.drafts.access import TOKEN_ROLES
from bot.errors import Refused

PREFIX = "dbt_"


@dataclass(frozen=True)
class User:
    """Who is calling: a WeCom userid (or a pipeline's name) and a role (staff, supervisor, admin or intake)."""

    user_id: str
    role: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, user_id: str, role: str, now: datetime) -> tuple[int, str]:
    """Store a new token for the user; return (id, the token in clear: shown only now)."""
    if role not in TOKEN_ROLES:
        raise Refused(f"role must be one of {', '.join(TOKEN_ROLES)}, got {role!r}")
    if not user_id.strip():
        raise Refused("user id is empty")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user_id.strip(), role=role, token_hash=_hash(token), created_at=now)
    session.add(row)
    session.flush()
    return row.id, token


def authenticate(session: Session, token: str, *, now: datetime) -> User | None:
    """The user a live token belongs to, or None."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token), ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    row.last_used_at = now
    return User(row.user_id, row.role)


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int, *, now: datetime) -> bool:
    """Revoke a token by id; False if there is no such live token."""
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True
