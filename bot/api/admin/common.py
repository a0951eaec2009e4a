"""What every console page shares: the signed-in admin, CSRF on writes, the layout's context.

Pages are server-rendered Jinja2 (templates under web/templates/admin/). Each page names what it
needs from the permission vocabulary (`bot.drafts.access`): `AdminDep` (configure: admins only),
`DashboardDep` and `AuditDep` (admins, and supervisors for their team). A visitor without a session
goes to the sign-in page; a signed-in account whose role lacks the permission gets a 403 page saying
why. `AdminWriterDep` also requires the session's CSRF token, from the form field `csrf` or the
`X-CSRF-Token` header (the small fetch helpers in admin.js send the header).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from bot.api.deps import RuntimeDep, SessionDep
from bot.console import workspace
from bot.db.accounts import ConsoleUser, session_user
from bot.drafts.access import Permission, Principal, allows, check
from bot.errors import ConsoleAccess, NotAllowed
from bot.web import templates

COOKIE = "draftbot_admin"
COOKIE_PATH = "/admin"


class SignInRequired(ConsoleAccess):
    """Raised by the page dependency; the app answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class NotAdmin(ConsoleAccess):
    """A signed-in account whose role may not open this page; the app answers 403 with a page that says why."""

    def __init__(self, user: ConsoleUser, reason: str = "") -> None:
        self.user = user
        self.reason = reason


class CsrfFailed(ConsoleAccess):
    """A write without the session's CSRF token; the app answers 403."""


def sign_in_url(next_path: str) -> str:
    return f"{COOKIE_PATH}/login?next={quote(next_path, safe='/')}"


def get_console_user(request: Request, runtime: RuntimeDep, session: SessionDep) -> ConsoleUser:
    """The signed-in account, whatever its role; a visitor without a session is sent to sign in."""
    user = session_user(session, request.cookies.get(COOKIE), now=runtime.clock())
    if user is None:
        query = request.url.query
        raise SignInRequired(request.url.path + (f"?{query}" if query else ""))
    return user


ConsoleUserDep = Annotated[ConsoleUser, Depends(get_console_user)]


def console_requires(permission: Permission) -> Callable[[ConsoleUser], ConsoleUser]:
    """A page dependency: the signed-in account, if its role has `permission`, else the 403 page."""

    def dependency(user: ConsoleUserDep) -> ConsoleUser:
        try:
            check(Principal(user.user_id, user.role), permission)
        except NotAllowed as exc:
            raise NotAdmin(user, str(exc)) from None
        return user

    dependency.__name__ = f"console_requires_{permission.value}"
    return dependency


AdminDep = Annotated[ConsoleUser, Depends(console_requires(Permission.CONFIGURE))]
DashboardDep = Annotated[ConsoleUser, Depends(console_requires(Permission.READ_DASHBOARD))]
AuditDep = Annotated[ConsoleUser, Depends(console_requires(Permission.READ_AUDIT))]


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
    """Render a console page with the layout's context: who is signed in, the CSRF token, the draft's state,
    and which pages their role may open (the navigation shows only those)."""
    draft = workspace.load(session, runtime.clock())
    session.commit()  # the first visit creates the draft row
    may = {permission.value for permission in Permission if allows(Principal(user.user_id, user.role), permission)}
    return templates.TemplateResponse(request, f"admin/{name}", {
        "user": user, "csrf": user.csrf, "draft": draft, "nav": request.url.path, "may": may, **context,
    }, status_code=status_code)
