"""Console accounts and sessions.

An account is made with `draftbot account create`; its password is stored as an scrypt hash.
Signing in creates a server-side session: the browser's cookie holds a random token, the table
only its SHA-256, the user and a CSRF token, so signing out or disabling an account ends it at once.
Every sign-in attempt is recorded, in its own committed transaction, before the password is checked
(`claim_attempt`); then the recent attempts are counted, and over the limit the password is not checked
at all. After `MAX_FAILURES_PER_ADDRESS` for one account from one address, or `MAX_FAILURES_PER_ACCOUNT`
from anywhere, within `FAILURE_WINDOW`, that account's sign-in waits. Because each attempt is committed
before it is counted, parallel requests, in threads or in instances sharing one database, cannot all see
the same count: at most the limit's number of passwords are checked. A right password takes its own
attempt back (`withdraw_attempt`), and where a session starts, the address starts afresh (`forget_failures`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import Account, ConsoleSession, LoginFailure
from bot.drafts.access import ROLES
from bot.errors import Refused

MIN_PASSWORD = 8
SESSION_LIFETIME = timedelta(hours=12)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 5  # guesses from one place
MAX_FAILURES_PER_ACCOUNT = 20  # guesses spread over many places


@dataclass(frozen=True)
class ConsoleUser:
    """Who is signed in to the console, with the CSRF token their forms must carry."""

    user_id: str
    role: str
    csrf: str


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), **_SCRYPT)
    except (ValueError, TypeError):
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


_DUMMY = hash_password(secrets.token_urlsafe(16))  # unknown users cost as much time as known ones


def save_account(session: Session, *, user_id: str, role: str, password: str, now: datetime) -> bool:
    """Create the account or replace its role and password; True when it was new. Ends its sessions
    and lifts a sign-in wait."""
    user_id = user_id.strip()
    if not user_id:
        raise Refused("user id is empty")
    if role not in ROLES:
        raise Refused(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < MIN_PASSWORD:
        raise Refused(f"the password needs at least {MIN_PASSWORD} characters")
    account = session.get(Account, user_id)
    created = account is None
    if account is None:
        account = Account(user_id=user_id, created_at=now)
        session.add(account)
    account.role = role
    account.password_hash = hash_password(password)
    account.disabled_at = None
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
    session.execute(delete(LoginFailure).where(LoginFailure.user_id == user_id))  # a new password: no waiting
    session.flush()
    return created


def disable_account(session: Session, user_id: str, *, now: datetime) -> bool:
    """Disable an account and end its sessions; False when there is no such live account."""
    account = session.get(Account, user_id)
    if account is None or account.disabled_at is not None:
        return False
    account.disabled_at = now
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
    return True


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.user_id)))


def verify(session: Session, user_id: str, password: str) -> Account | None:
    """The live account these credentials belong to, or None (same work whether the user exists or not)."""
    account = session.get(Account, user_id.strip())
    if account is None or account.disabled_at is not None:
        password_matches(password, _DUMMY)
        return None
    return account if password_matches(password, account.password_hash) else None


@dataclass(frozen=True)
class Attempt:
    """A recorded sign-in attempt; `wait` is None when its password may be checked (else it was taken back)."""

    id: int
    wait: timedelta | None = None


def claim_attempt(session: Session, user_id: str, address: str, *, now: datetime) -> Attempt:
    """Record an attempt and commit it, then count the recent ones; over a limit, take it back and say how long to wait.

    Commits the session (twice when refused). The password must be checked only when `wait` is None.
    """
    user_id, address = user_id.strip()[:128], address[:64]
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - FAILURE_WINDOW))
    row = LoginFailure(user_id=user_id, address=address, at=now)
    session.add(row)
    session.commit()
    wait = _wait(session, user_id, address, now=now, own=row.id)
    if wait is None:
        return Attempt(row.id)
    withdraw_attempt(session, row.id)
    session.commit()
    return Attempt(row.id, wait)


def _wait(session: Session, user_id: str, address: str, *, now: datetime, own: int) -> timedelta | None:
    """None when the attempts in the window, this one (`own`) included, are within both limits; else the wait."""
    rows = session.execute(
        select(LoginFailure.id, LoginFailure.at, LoginFailure.address)
        .where(LoginFailure.user_id == user_id, LoginFailure.at > now - FAILURE_WINDOW)
        .order_by(LoginFailure.at.desc(), LoginFailure.id.desc())
    ).all()
    everywhere = [at for row_id, at, _ in rows if row_id != own]
    from_here = [at for row_id, at, where in rows if row_id != own and where == address]
    for times, limit in ((from_here, MAX_FAILURES_PER_ADDRESS), (everywhere, MAX_FAILURES_PER_ACCOUNT)):
        if len(times) >= limit:  # the try becomes possible when the limit-th newest other attempt leaves the window
            return times[limit - 1] + FAILURE_WINDOW - now
    return None


def withdraw_attempt(session: Session, attempt_id: int) -> None:
    """Take back a recorded attempt (refused before its password was checked, or its password was right)."""
    session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))


def record_failure(session: Session, user_id: str, address: str, *, now: datetime) -> None:
    """Remember a failed sign-in (failures older than the window are forgotten)."""
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - FAILURE_WINDOW))
    session.add(LoginFailure(user_id=user_id.strip()[:128], address=address[:64], at=now))
    session.flush()


def forget_failures(session: Session, user_id: str, address: str) -> None:
    """After a successful sign-in, this address starts afresh for this account."""
    session.execute(delete(LoginFailure).where(LoginFailure.user_id == user_id.strip(), LoginFailure.address == address))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, account: Account, *, now: datetime) -> str:
    """A new session for the account; returns the cookie value (shown only now)."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=_hash(token), user_id=account.user_id, csrf=secrets.token_urlsafe(24),
                               created_at=now, expires_at=now + SESSION_LIFETIME))
    session.flush()
    return token


def session_user(session: Session, token: str | None, *, now: datetime) -> ConsoleUser | None:
    """The signed-in user of a cookie value, or None when it is unknown, expired or its account disabled."""
    if not token:
        return None
    row = session.get(ConsoleSession, _hash(token))
    if row is None or row.expires_at <= now:
        return None
    account = session.get(Account, row.user_id)
    if account is None or account.disabled_at is not None:
        return None
    return ConsoleUser(account.user_id, account.role, row.csrf)


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
