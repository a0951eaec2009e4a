"""Request dependencies: the runtime, a database session, the authenticated user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from bot.db.tokens import User, authenticate
from bot.runtime import Runtime

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


CurrentUser = Annotated[User, Depends(get_user)]
