"""Publishing the draft, versions and rollback, the audit log."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from bot.api.admin.common import COOKIE_PATH, AdminWriterDep
from bot.api.deps import RuntimeDep, SessionDep
from bot.console import workspace

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)


@router.post("/draft/discard")
def discard_draft(runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep) -> RedirectResponse:
    """Throw the draft's changes away: it starts over from the active version."""
    workspace.discard(session, user=user.user_id, now=runtime.clock())
    return RedirectResponse(f"{COOKIE_PATH}/versions", status_code=303)
