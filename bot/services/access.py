"""Access for every surface: who is acting (their role and a supervisor's team, loaded once) and the drafts
they may see or decide, as WHERE clauses. The rule itself is `bot.drafts.access`; teams are stored here.

A supervisor's team is stored once per userid (table `teams`), whether they sign in with a token,
a console account or the app chat; setting it is an audit event.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, delete, false, or_, select, true
from sqlalchemy.orm import Session

from bot.db import accounts, tokens
from bot.db.models import ApiToken, Draft, Team
from bot.drafts.access import ADMIN, STAFF, SUPERVISOR, Permission, Principal, allows
from bot.errors import Refused
from bot.services import audit


def team_of(session: Session, supervisor: str) -> frozenset[str]:
    """The staff ids a supervisor oversees (empty for anyone else)."""
    return frozenset(session.scalars(select(Team.staff_id).where(Team.supervisor == supervisor)))


def principal(session: Session, user: str, role: str) -> Principal:
    """Who is acting, with their team when they are a supervisor."""
    return Principal(user, role, team_of(session, user) if role == SUPERVISOR else frozenset())


def chat_principal(session: Session, user: str, *, admins: Collection[str]) -> Principal:
    """Someone writing in the app chat, known only by their userid: an admin when DRAFTBOT_ADMINS names them,
    a supervisor when they have a team, else staff."""
    if user in admins:
        return Principal(user, ADMIN)
    team = team_of(session, user)
    return Principal(user, SUPERVISOR, team) if team else Principal(user, STAFF)


def parse_team(text: str) -> list[str]:
    """'a, b,,c' → ['a', 'b', 'c'] (order kept, repeats dropped); refuses an id longer than 128 characters."""
    ids: list[str] = []
    for part in text.split(","):
        staff_id = part.strip()
        if len(staff_id) > 128:
            raise Refused(f"team member id longer than 128 characters: {staff_id[:40]!r}…")
        if staff_id and staff_id not in ids:
            ids.append(staff_id)
    return ids


def set_team(session: Session, supervisor: str, staff_ids: Iterable[str], *, actor: str, role: str, surface: str,
             now: datetime) -> list[str]:
    """Replace a supervisor's team (audited when it changes); returns the team. The caller commits."""
    supervisor = supervisor.strip()
    if not supervisor:
        raise Refused("supervisor id is empty")
    wanted = [s for s in dict.fromkeys(s.strip() for s in staff_ids) if s and s != supervisor]
    before = sorted(team_of(session, supervisor))
    if sorted(wanted) == before:
        return sorted(wanted)
    session.execute(delete(Team).where(Team.supervisor == supervisor))
    session.add_all(Team(supervisor=supervisor, staff_id=staff_id) for staff_id in wanted)
    audit.record(session, actor=actor, role=role, surface=surface, action="team_set", subject=f"team:{supervisor}"[:64],
                 detail={"supervisor": supervisor, "team": sorted(wanted), "before": before}, now=now)
    session.flush()
    return sorted(wanted)


def teams(session: Session) -> dict[str, list[str]]:
    """Every supervisor's team."""
    result: dict[str, list[str]] = {}
    for row in session.execute(select(Team.supervisor, Team.staff_id).order_by(Team.supervisor, Team.staff_id)):
        result.setdefault(row.supervisor, []).append(row.staff_id)
    return result


def visible_drafts(who: Principal) -> ColumnElement[bool]:
    """The drafts `who` may see (`bot.drafts.access.may_see`), as a WHERE clause."""
    if not allows(who, Permission.SEE_DRAFTS):
        return false()
    if who.role == ADMIN:
        return true()
    return or_(Draft.assignee.is_(None), Draft.assignee == "", Draft.assignee.in_(sorted({who.user, *who.team})))


def decidable_drafts(who: Principal, approvers: Collection[str]) -> ColumnElement[bool]:
    """The drafts offered to `who` to decide (`bot.drafts.access.check_may_decide`; demo drafts, which anyone
    may decide, are not offered), as a WHERE clause."""
    if not allows(who, Permission.DECIDE_DRAFTS):
        return false()
    if who.role == ADMIN:
        return true()
    own = Draft.assignee.in_(sorted({who.user, *who.team}))
    if not approvers or who.user in approvers:
        return or_(own, Draft.assignee.is_(None), Draft.assignee == "")
    return own


# ----- tokens and accounts, each change audited ----------------------------------------------------


def create_token(session: Session, *, user_id: str, role: str, team: Iterable[str] | None, actor: str, surface: str,
                 now: datetime) -> tuple[int, str]:
    """A new API token (and a supervisor's team, when given); audited. Returns (id, the token in clear)."""
    token_id, token = tokens.create_token(session, user_id=user_id, role=role, now=now)
    _store_team(session, user_id.strip(), role, team, actor=actor, surface=surface, now=now)
    audit.record(session, actor=actor, role=ADMIN, surface=surface, action="token_created", subject=f"token:{token_id}",
                 detail={"user": user_id.strip(), "role": role}, now=now)
    return token_id, token


def revoke_token(session: Session, token_id: int, *, actor: str, surface: str, now: datetime) -> bool:
    """Revoke a live token (audited); False when there is none with this id."""
    if not tokens.revoke_token(session, token_id, now=now):
        return False
    row = session.get(ApiToken, token_id)
    audit.record(session, actor=actor, role=ADMIN, surface=surface, action="token_revoked", subject=f"token:{token_id}",
                 detail={"user": row.user_id if row else "", "role": row.role if row else ""}, now=now)
    return True


def save_account(session: Session, *, user_id: str, role: str, password: str, team: Iterable[str] | None, actor: str,
                 surface: str, now: datetime) -> bool:
    """Create or update a console account (and a supervisor's team, when given); audited. True when new."""
    created = accounts.save_account(session, user_id=user_id, role=role, password=password, now=now)
    _store_team(session, user_id.strip(), role, team, actor=actor, surface=surface, now=now)
    audit.record(session, actor=actor, role=ADMIN, surface=surface, action="account_created" if created else "account_updated",
                 subject=f"account:{user_id.strip()}"[:64], detail={"user": user_id.strip(), "role": role}, now=now)
    return created


def disable_account(session: Session, user_id: str, *, actor: str, surface: str, now: datetime) -> bool:
    """Disable a console account and end its sessions (audited); False when there is no such live account."""
    if not accounts.disable_account(session, user_id, now=now):
        return False
    audit.record(session, actor=actor, role=ADMIN, surface=surface, action="account_disabled",
                 subject=f"account:{user_id}"[:64], detail={"user": user_id}, now=now)
    return True


def _store_team(session: Session, user_id: str, role: str, team: Iterable[str] | None, *, actor: str, surface: str,
                now: datetime) -> None:
    if team is None:
        return
    if role != SUPERVISOR:
        raise Refused(f"--team is only for the supervisor role, not {role}")
    set_team(session, user_id, team, actor=actor, role=ADMIN, surface=surface, now=now)
