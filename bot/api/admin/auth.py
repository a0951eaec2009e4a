"""Signing in to and out of the console, and the answers to visitors who may not see a page."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.api.admin.common import COOKIE, COOKIE_PATH, CsrfFailed, NotAdmin, SignInRequired, sign_in_url, templates
from bot.api.deps import RuntimeDep, SessionDep
from bot.drafts.access import Permission, Principal, allows
from bot.db.accounts import (
    SESSION_LIFETIME,
    claim_attempt,
    end_session,
    forget_failures,
    start_session,
    verify,
    withdraw_attempt,
)

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)


def _safe_next(next_path: str | None) -> str:
    """Only a path inside the console: never another site (open redirect)."""
    if next_path and next_path.startswith(COOKIE_PATH) and not next_path.startswith("//") and "\\" not in next_path:
        return next_path
    return COOKIE_PATH


def _login_page(request: Request, *, next_path: str, user_id: str = "", error: str = "", status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, "admin/login.html", {"next": next_path, "user_id": user_id, "error": error},
                                      status_code=status_code)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:  # the query parameter's name
    return _login_page(request, next_path=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    user_id: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = COOKIE_PATH,
) -> Response:
    next_path = _safe_next(next)
    if not user_id.strip() or not password:
        return _login_page(request, next_path=next_path, user_id=user_id, error="请输入账号和密码。", status_code=400)
    now, address = runtime.clock(), request.client.host if request.client else "unknown"
    attempt = claim_attempt(session, user_id, address, now=now)  # committed before the password is checked
    if attempt.wait is not None:
        wait = attempt.wait.total_seconds()
        page = _login_page(request, next_path=next_path, user_id=user_id, status_code=429,
                           error=f"这个账号密码错误次数过多，为防止猜测密码已暂停登录，请 {max(1, math.ceil(wait / 60))} 分钟后再试。")
        page.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return page
    account = verify(session, user_id, password)
    if account is None:  # the recorded attempt stays: it is the failure
        return _login_page(request, next_path=next_path, user_id=user_id, error="账号或密码不正确。", status_code=401)
    if not allows(Principal(account.user_id, account.role), Permission.READ_DASHBOARD):
        withdraw_attempt(session, attempt.id)  # the password was right: not a guess
        session.commit()
        return _login_page(request, next_path=next_path, user_id=user_id, status_code=403,
                           error="这个账号是员工账号，不能打开管理后台。请用管理员或主管账号登录。")
    forget_failures(session, user_id, address)
    token = start_session(session, account, now=now)
    session.commit()
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    """Signing out needs no CSRF token: the worst a forged request can do is sign someone out."""
    end_session(session, request.cookies.get(COOKIE))
    session.commit()
    response = RedirectResponse(f"{COOKIE_PATH}/login", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def install_handlers(app: FastAPI) -> None:
    """Turn the console's access exceptions into a redirect to sign in or a 403 page."""

    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.method != "GET":
            return HTMLResponse("请先登录管理后台。", status_code=401)
        return RedirectResponse(sign_in_url(exc.next_path), status_code=303)

    async def not_admin(request: Request, exc: NotAdmin) -> Response:
        return templates.TemplateResponse(request, "admin/forbidden.html",
                                          {"account": exc.user.user_id, "role": exc.user.role, "reason": exc.reason},
                                          status_code=403)

    async def csrf(request: Request, exc: CsrfFailed) -> Response:
        return HTMLResponse("表单已过期或来源不明（CSRF 校验失败）。请刷新页面后重试。", status_code=403)

    # Starlette types every handler as taking any Exception, though it calls each only with its own class
    app.add_exception_handler(SignInRequired, sign_in)  # type: ignore[arg-type]
    app.add_exception_handler(NotAdmin, not_admin)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfFailed, csrf)  # type: ignore[arg-type]
