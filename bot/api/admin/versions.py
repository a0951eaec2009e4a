"""Publishing the draft, versions and rollback (the audit log: bot.api.admin.audit).

Publishing runs the same checks as `draftbot config import`: a draft that fails `check` is refused
with the files and items named; one that evaluates worse than the active version on held-out data
is refused too, and the page then offers an explicit override. Every instance follows the active
version within seconds (ConfigWatcher), so a publish or rollback needs no restart.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.services import configuration
from bot.api.admin.common import COOKIE_PATH, AdminDep, AdminWriterDep, page
from bot.api.deps import RuntimeDep, SessionDep
from bot.services.configuration import ConfigRefused
from bot.console import evaluation, publishing, workspace
from bot.console.publishing import Refusal
from bot.db.accounts import ConsoleUser
from bot.services.configuration.obligations import ObligationRefused
from bot.wiring import Runtime

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)

PAGE = f"{COOKIE_PATH}/versions"
MAX_NOTE = 2000
NOTICES = {
    "published": "已发布版本 {v}。所有实例将在几秒内切换到版本 {v}。",
    "rolled_back": "已回滚：版本 {v} 重新生效，所有实例将在几秒内切换到版本 {v}。草稿没有未发布的修改，也已改为基于版本 {v}。",
    "rolled_back_kept": "已回滚：版本 {v} 重新生效，所有实例将在几秒内切换到版本 {v}。你的草稿有未发布的修改，已保留（它仍基于原来的版本）。",
    "discarded": "已放弃草稿的修改，草稿重新从线上版本开始。",
}


def _notice(ok: str | None, v: int | None) -> str:
    template = NOTICES.get(ok or "")
    return template.format(v=v if v is not None else "") if template else ""


def _page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, *, status_code: int = 200,
          notice: str = "", note: str = "", note_error: str = "", refusal: Refusal | None = None, error: str = "") -> HTMLResponse:
    draft = workspace.load(session, runtime.clock())
    return page(
        request, runtime, session, user, "versions.html", status_code=status_code, notice=notice, error=error,
        changes=publishing.draft_changes(session, draft), unchanged=publishing.same_as_active(session, draft.files),
        figures=evaluation.draft_figures(draft),
        versions=publishing.version_rows(session, runtime.settings.timezone),
        note=note, note_error=note_error, refusal=refusal, max_note=MAX_NOTE,
    )


@router.get("/versions", response_class=HTMLResponse)
def versions_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                  ok: str | None = None, v: int | None = None) -> HTMLResponse:
    return _page(request, runtime, session, user, notice=_notice(ok, v))


@router.post("/versions/publish", response_model=None)
def publish_draft(
    request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
    note: Annotated[str, Form()] = "", force: Annotated[str, Form()] = "",
) -> Response:
    """Publish the draft as the next version; refusals re-render the form with the reasons (422)."""
    note = note.strip()
    if not note:
        return _page(request, runtime, session, user, status_code=422, note_error="请写一句发布说明：改了什么、为什么改。")
    if len(note) > MAX_NOTE:
        return _page(request, runtime, session, user, status_code=422, note=note,
                     note_error=f"发布说明太长了（{len(note)} 字），请控制在 {MAX_NOTE} 字以内。")
    draft = workspace.load(session, runtime.clock())
    if publishing.same_as_active(session, draft.files):
        return _page(request, runtime, session, user, status_code=409, note=note,
                     error=f"草稿和线上版本 {draft.active_version} 完全相同，没有可发布的修改。")
    try:
        result = workspace.publish(session, runtime.settings, user=user.user_id, note=note, force=force == "1",
                                   now=runtime.clock())
    except ConfigRefused as exc:
        return _page(request, runtime, session, user, status_code=422, note=note, refusal=publishing.explain_refusal(exc))
    return RedirectResponse(f"{PAGE}?ok=published&v={result.number}", status_code=303)


@router.post("/versions/{number}/rollback", response_model=None)
def rollback(request: Request, number: int, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep) -> Response:
    """Make an earlier version active again; a draft with unpublished changes is kept and the page says so."""
    version, active = configuration.get_version(session, number), configuration.active(session)
    if version is None:
        return _page(request, runtime, session, user, status_code=404, error=f"没有版本 {number}。")
    try:
        if active is not None and version.id == active.id:
            raise ConfigRefused([f"version {number} is already active"])
        kept = workspace.rollback(session, number, user=user.user_id, now=runtime.clock(), settings=runtime.settings)
    except ObligationRefused as exc:
        return _page(request, runtime, session, user, status_code=422, refusal=publishing.explain_refusal(exc))
    except ConfigRefused:  # already active (perhaps someone else just rolled back to it)
        session.rollback()
        return _page(request, runtime, session, user, status_code=409, error=f"版本 {number} 已经是线上版本，无需回滚。")
    ok = "rolled_back_kept" if kept else "rolled_back"
    return RedirectResponse(f"{PAGE}?ok={ok}&v={number}", status_code=303)


@router.post("/draft/discard")
def discard_draft(runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep) -> RedirectResponse:
    """Throw the draft's changes away: it starts over from the active version."""
    workspace.discard(session, user=user.user_id, now=runtime.clock())
    return RedirectResponse(f"{PAGE}?ok=discarded", status_code=303)
