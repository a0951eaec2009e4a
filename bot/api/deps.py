"""Request dependencies: the runtime, a database session, the authenticated user and what their role allows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from bot.db.tokens import authenticate
from bot.drafts.access import Permission, Principal, check
from bot.errors import NotAllowed
from bot.services import access
from bot.wiring import Runtime

_bearer = HTTPBearer(auto_error=False)


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_user(
    runtime: RuntimeDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Whoever holds a live token, with their role and (a supervisor) their team."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "缺少令牌：请在 Authorization 头里带上 Bearer 令牌", headers={"WWW-Authenticate": "Bearer"})
    user = authenticate(session, credentials.credentials, now=runtime.clock())
    if user is None:
        raise HTTPException(401, "令牌无效或已被吊销", headers={"WWW-Authenticate": "Bearer"})
    session.commit()
    return access.principal(session, user.user_id, user.role)


AnyUser = Annotated[Principal, Depends(get_user)]


def requires(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency: the caller, if their role has `permission` (bot.drafts.access), else 403 with the reason."""

    def dependency(user: AnyUser) -> Principal:
        try:
            check(user, permission)
        except NotAllowed as exc:
            raise HTTPException(403, str(exc)) from None
        return user

    dependency.__name__ = f"requires_{permission.value}"
    return dependency


CurrentUser = Annotated[Principal, Depends(requires(Permission.SEE_DRAFTS))]  # staff, supervisors, admins
IntakeUser = Annotated[Principal, Depends(requires(Permission.POST_MESSAGES))]  # admins and intake tokens
AuditReader = Annotated[Principal, Depends(requires(Permission.READ_AUDIT))]  # admins, supervisors (their team)
CustomerManager = Annotated[Principal, Depends(requires(Permission.MANAGE_CUSTOMERS))]  # admins
