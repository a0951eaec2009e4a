"""What every console page shares: the signed-in admin, CSRF on writes, the layout's context.

Pages are server-rendered Jinja2 (templates under web/templates/admin/). A page dependency
`AdminDep` sends a visitor without a session to the sign-in page and shows a staff account a
403 page; `AdminWriterDep` also requires the session's CSRF token, from the form field `csrf`
or the `X-CSRF-Token` header (the small fetch helpers in admin.js send the header).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from bot.api.deps import RuntimeDep, SessionDep
from bot.console import workspace
from bot.db.accounts import ConsoleUser, session_user
from bot.errors import ConsoleAccess
from bot.web import templates

COOKIE = "draftbot_admin"
COOKIE_PATH = "/admin"


class SignInRequired(ConsoleAccess):
    """Raised by the page dependency; the app answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class NotAdmin(ConsoleAccess):
    """A signed-in account without the admin role; the app answers 403 with a page that says so."""

    def __init__(self, user: ConsoleUser) -> None:
        self.user = user


class CsrfFailed(ConsoleAccess):
    """A write without the session's CSRF token; the app answers 403."""


def sign_in_url(next_path: str) -> str:
    return f"{COOKIE_PATH}/login?next={quote(next_path, safe='/')}"


def get_admin(request: Request, runtime: RuntimeDep, session: SessionDep) -> ConsoleUser:
    user = session_user(session, request.cookies.get(COOKIE), now=runtime.clock())
    if user is None:
        query = request.url.query
        raise SignInRequired(request.url.path + (f"?{query}" if query else ""))
    if user.role != "admin":
        raise NotAdmin(user)
    return user


AdminDep = Annotated[ConsoleUser, Depends(get_admin)]


async def get_admin_writer(request: Request, user: AdminDep) -> ConsoleUser:
    sent: object = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), user.csrf.encode()):
        raise CsrfFailed()
    return user


AdminWriterDep = Annotated[ConsoleUser, Depends(get_admin_writer)]


def page(request: Request, runtime: RuntimeDep, session: Session, user: ConsoleUser, name: str, *,
         status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a console page with the layout's context: who is signed in, the CSRF token, the draft's state."""
    draft = workspace.load(session, runtime.clock())
    session.commit()  # the first visit creates the draft row
    return templates.TemplateResponse(request, f"admin/{name}", {
        "user": user, "csrf": user.csrf, "draft": draft, "nav": request.url.path, **context,
    }, status_code=status_code)
