"""The persona style pages: the list, one persona's fields and templates, and the template editor.

Routes are thin: `bot.console.persona_editing` reads and edits the draft's files and renders
previews (in a child process with limits); a save goes through `workspace.save`, so the live
service changes only when someone publishes. A refused save shows the page again with the
problem next to the field and the admin's text kept (422); an unknown persona or intent is a 404
page that lists what exists.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bot.api.admin.common import COOKIE_PATH, AdminDep, AdminWriterDep, page, templates
from bot.api.deps import RuntimeDep, SessionDep
from bot.config_store import ConfigFiles
from bot.console import persona_editing as editing
from bot.console import workspace
from bot.db.accounts import ConsoleUser
from bot.nlu.intents import FALLBACK
from bot.persona.styles import DEFAULT
from bot.runtime import Runtime

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)

BASE = f"{COOKIE_PATH}/personas"
NOTICES = {
    "saved": "已保存到草稿。发布后才会对客户生效。",
    "unchanged": "内容没有变化，草稿保持原样。",
}


class PersonaForm(BaseModel):
    """The persona form as posted (every field text; the editing module validates)."""

    display_name: str = ""
    archetype: str = ""
    promise: str = ""
    character: str = ""
    voice: str = ""
    address: str = ""
    emoji: str = ""
    max_chars: str = ""
    sign_off: str = ""
    extends: str = ""
    kf_accounts: str = ""
    staff: str = ""


class PreviewIn(BaseModel):
    source: str


def _files(session: Session, runtime: Runtime) -> ConfigFiles:
    return workspace.load(session, runtime.clock()).files


def _not_found(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, message: str) -> HTMLResponse:
    files = _files(session, runtime)
    return page(request, runtime, session, user, "personas.html", status_code=404, personas=editing.personas(files),
                default_persona=runtime.settings.default_persona, missing=message, notice="")


# ----- the list ----------------------------------------------------------------------------------------


@router.get("/personas", response_class=HTMLResponse)
def personas_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminDep) -> HTMLResponse:
    files = _files(session, runtime)
    return page(request, runtime, session, user, "personas.html", personas=editing.personas(files),
                default_persona=runtime.settings.default_persona, missing="", notice="")


# ----- one persona ---------------------------------------------------------------------------------------


def _persona_page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, persona: str, *,
                  values: dict[str, str] | None = None, errors: dict[str, str] | None = None, notice: str = "",
                  missing: str = "", status_code: int = 200) -> HTMLResponse:
    files = _files(session, runtime)
    statuses, survey_error = editing.survey(files, persona)
    return page(request, runtime, session, user, "persona.html", status_code=status_code,
                info=editing.persona_info(files, persona), values=values or editing.form_values(files, persona),
                errors=errors or {}, notice=notice, missing=missing, statuses=statuses, survey_error=survey_error,
                archetypes=editing.ARCHETYPE_LABELS, parents=[p for p in editing.persona_names(files) if p != persona],
                is_default=persona == DEFAULT, default_persona=runtime.settings.default_persona,
                disabled=editing.disabled_intents(files))


@router.get("/personas/{persona}", response_class=HTMLResponse)
def persona_page(request: Request, persona: str, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                 ok: str | None = None) -> HTMLResponse:
    if persona not in editing.persona_names(_files(session, runtime)):
        return _not_found(request, runtime, session, user, f"草稿里没有人设 {persona}。")
    return _persona_page(request, runtime, session, user, persona, notice=NOTICES.get(ok or "", ""))


@router.post("/personas/{persona}", response_class=HTMLResponse)
def save_persona(request: Request, persona: str, form: Annotated[PersonaForm, Form()], runtime: RuntimeDep,
                 session: SessionDep, user: AdminWriterDep) -> Response:
    files = _files(session, runtime)
    if persona not in editing.persona_names(files):
        return _not_found(request, runtime, session, user, f"草稿里没有人设 {persona}。")
    values = form.model_dump()
    try:
        edited = editing.apply_form(files, persona, values)
    except editing.FieldErrors as exc:
        return _persona_page(request, runtime, session, user, persona, values=values, errors=exc.errors, status_code=422)
    if edited is files:
        return RedirectResponse(f"{BASE}/{persona}?ok=unchanged", status_code=303)
    workspace.save(session, edited, user=user.user_id, what=f"人设 {persona}：修改人设资料", now=runtime.clock())
    return RedirectResponse(f"{BASE}/{persona}?ok=saved", status_code=303)


# ----- one template ----------------------------------------------------------------------------------------


def _known(files: ConfigFiles, persona: str, intent: str) -> str:
    """Why the page cannot exist ('' when it can)."""
    if persona not in editing.persona_names(files):
        return f"草稿里没有人设 {persona}。"
    if intent not in editing.intent_names(files, include_disabled=True):
        return f"草稿里没有意图 {intent}，所以人设 {persona} 也没有它的话术。"
    return ""


def _preview(session: Session, runtime: Runtime, files: ConfigFiles, persona: str, intent: str, text: str) -> editing.Preview:
    """The text rendered in the draft's configuration for the latest real messages of the intent (or samples)."""
    return editing.preview(files, persona, intent, text, editing.preview_messages(session, files, intent, runtime.pipeline.catalog))


def _template_page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, persona: str, intent: str, *,
                   text: str | None = None, preview: editing.Preview | None = None, notice: str = "", refused: bool = False,
                   status_code: int = 200) -> HTMLResponse:
    files = _files(session, runtime)
    source = editing.template_source(files, persona, intent)
    draft_text = source.text if text is None else text
    preview = preview or _preview(session, runtime, files, persona, intent, draft_text)
    return page(request, runtime, session, user, "template.html", status_code=status_code, persona=persona, intent=intent,
                info=editing.persona_info(files, persona), source=source, text=draft_text, preview=preview, notice=notice,
                refused=refused, inheritors=editing.inheritors(files, persona, intent), fallback=FALLBACK,
                disabled=intent in editing.disabled_intents(files))


@router.get("/personas/{persona}/templates/{intent}", response_class=HTMLResponse)
def template_page(request: Request, persona: str, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                  ok: str | None = None) -> HTMLResponse:
    missing = _known(_files(session, runtime), persona, intent)
    if missing:
        return _missing(request, runtime, session, user, persona, missing)
    return _template_page(request, runtime, session, user, persona, intent, notice=NOTICES.get(ok or "", ""))


def _missing(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, persona: str, message: str) -> HTMLResponse:
    """404: the persona's page (its template list) when the persona exists, else the persona list."""
    if persona in editing.persona_names(_files(session, runtime)):
        return _persona_page(request, runtime, session, user, persona, missing=message, status_code=404)
    return _not_found(request, runtime, session, user, message)


@router.post("/personas/{persona}/templates/{intent}/preview")
def preview_template(request: Request, persona: str, intent: str, body: PreviewIn, runtime: RuntimeDep, session: SessionDep,
                     user: AdminWriterDep) -> JSONResponse:
    """The unsaved text rendered for the latest real messages (or samples): JSON with the panel's HTML."""
    files = _files(session, runtime)
    missing = _known(files, persona, intent)
    if missing:
        return JSONResponse({"ok": False, "detail": missing}, status_code=404)
    preview = _preview(session, runtime, files, persona, intent, body.source)
    html = templates.get_template("admin/template_preview.html").render(preview=preview, persona=persona, intent=intent)
    return JSONResponse({**preview.as_json(), "html": html})


@router.post("/personas/{persona}/templates/{intent}", response_class=HTMLResponse)
def save_template(request: Request, persona: str, intent: str, runtime: RuntimeDep, session: SessionDep,
                  user: AdminWriterDep, source: Annotated[str, Form()] = "") -> Response:
    """Store the template in the draft, unless it does not compile or render (then 422 with the text kept)."""
    files = _files(session, runtime)
    missing = _known(files, persona, intent)
    if missing:
        return _missing(request, runtime, session, user, persona, missing)
    preview = _preview(session, runtime, files, persona, intent, source)
    if not preview.ok:
        return _template_page(request, runtime, session, user, persona, intent, text=source, preview=preview, refused=True,
                              status_code=422)
    edited = editing.with_template(files, persona, intent, source)
    if edited.digest == files.digest:
        return RedirectResponse(f"{BASE}/{persona}/templates/{intent}?ok=unchanged", status_code=303)
    workspace.save(session, edited, user=user.user_id, what=f"人设 {persona}：修改 {intent} 话术", now=runtime.clock())
    return RedirectResponse(f"{BASE}/{persona}/templates/{intent}?ok=saved", status_code=303)
