"""Request dependencies: the runtime, a database session, the authenticated user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from bot.db.tokens import INTAKE, User, authenticate
from bot.drafts.lifecycle import ROLES
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
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "缺少令牌：请在 Authorization 头里带上 Bearer 令牌", headers={"WWW-Authenticate": "Bearer"})
    user = authenticate(session, credentials.credentials, now=runtime.clock())
    if user is None:
        raise HTTPException(401, "令牌无效或已被吊销", headers={"WWW-Authenticate": "Bearer"})
    session.commit()
    return user


AnyUser = Annotated[User, Depends(get_user)]


def get_person(user: AnyUser) -> User:
    """A staff member or an admin: intake tokens only post messages."""
    if user.role not in ROLES:
        raise HTTPException(403, "接入令牌只能提交客户消息（POST /api/messages），不能查看或处理草稿")
    return user


def get_intake(user: AnyUser) -> User:
    """An admin or an intake token: who may post customer messages."""
    if user.role not in ("admin", INTAKE):
        raise HTTPException(403, "只有管理员或接入令牌（--role intake）可以提交客户消息；员工请在草稿上直接批准或修改")
    return user


CurrentUser = Annotated[User, Depends(get_person)]
IntakeUser = Annotated[User, Depends(get_intake)]
