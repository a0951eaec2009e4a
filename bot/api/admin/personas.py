"""The persona style pages: the list, one persona's fields and templates, and the template editor.

Routes are thin: `bot.console.persona_fields` and `persona_templates` read and edit the draft's
files and `template_preview` renders previews (in a child process with limits); a save goes through
`workspace.save`, so the live service changes only when someone publishes. A refused save shows
the page again with the problem next to the field and the admin's text kept (422); an unknown
persona or intent is a 404 page that lists what exists.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, create_model
from sqlalchemy.orm import Session

from bot.api.admin.common import COOKIE_PATH, AdminDep, AdminWriterDep, page, templates
from bot.api.deps import RuntimeDep, SessionDep
from bot.services.configuration import ConfigFiles
from bot.console import config_paths, persona_fields, persona_templates, preview_messages, template_preview, workspace
from bot.db.accounts import ConsoleUser
from bot.nlu.intents import FALLBACK
from bot.persona.styles import DEFAULT
from bot.wiring import Runtime

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)

BASE = f"{COOKIE_PATH}/personas"
NOTICES = {
    "saved": "已保存到草稿。发布后才会对客户生效。",
    "unchanged": "内容没有变化，草稿保持原样。",
}


# The persona form as posted: every field as text, all validated by `persona_fields.apply_form`.
_FORM_FIELDS: dict[str, Any] = {name: (str, "") for name in persona_fields.FIELDS}
PersonaForm = create_model("PersonaForm", **_FORM_FIELDS)


class PreviewIn(BaseModel):
    source: str


def _files(session: Session, runtime: Runtime) -> ConfigFiles:
    return workspace.load(session, runtime.clock()).files


def _known(files: ConfigFiles, persona: str, intent: str | None = None) -> str:
    """Why the persona's page (or its template's page) cannot exist ('' when it can)."""
    if persona not in config_paths.persona_names(files):
        return f"草稿里没有人设 {persona}。"
    if intent is not None and intent not in persona_templates.intent_names(files, include_disabled=True):
        return f"草稿里没有意图 {intent}，所以人设 {persona} 也没有它的话术。"
    return ""


# ----- the list ----------------------------------------------------------------------------------------


def _list_page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, *, missing: str = "",
               status_code: int = 200) -> HTMLResponse:
    """The persona list; with `missing` it is the 404 page that says what was not found."""
    files = _files(session, runtime)
    return page(request, runtime, session, user, "personas.html", status_code=status_code,
                personas=persona_fields.personas(files), default_persona=runtime.settings.default_persona,
                missing=missing, notice="")


@router.get("/personas", response_class=HTMLResponse)
def personas_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminDep) -> HTMLResponse:
    return _list_page(request, runtime, session, user)


# ----- one persona ---------------------------------------------------------------------------------------


def _persona_page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, persona: str, *,
                  values: dict[str, str] | None = None, errors: dict[str, str] | None = None, notice: str = "",
                  missing: str = "", status_code: int = 200) -> HTMLResponse:
    files = _files(session, runtime)
    statuses, survey_error = template_preview.survey(files, persona)
    return page(request, runtime, session, user, "persona.html", status_code=status_code,
                info=persona_fields.persona_info(files, persona), values=values or persona_fields.form_values(files, persona),
                errors=errors or {}, notice=notice, missing=missing, statuses=statuses, survey_error=survey_error,
                archetypes=persona_fields.ARCHETYPE_LABELS, parents=[p for p in config_paths.persona_names(files) if p != persona],
                is_default=persona == DEFAULT, default_persona=runtime.settings.default_persona,
                disabled=persona_templates.disabled_intents(files))


@router.get("/personas/{persona}", response_class=HTMLResponse)
def persona_page(request: Request, persona: str, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                 ok: str | None = None) -> HTMLResponse:
    missing = _known(_files(session, runtime), persona)
    if missing:
        return _list_page(request, runtime, session, user, missing=missing, status_code=404)
    return _persona_page(request, runtime, session, user, persona, notice=NOTICES.get(ok or "", ""))


@router.post("/personas/{persona}", response_class=HTMLResponse)
def save_persona(request: Request, persona: str, form: Annotated[PersonaForm, Form()], runtime: RuntimeDep,
                 session: SessionDep, user: AdminWriterDep) -> Response:
    files = _files(session, runtime)
    missing = _known(files, persona)
    if missing:
        return _list_page(request, runtime, session, user, missing=missing, status_code=404)
    values = form.model_dump()
    try:
        edited = persona_fields.apply_form(files, persona, values)
    except persona_fields.FieldErrors as exc:
        return _persona_page(request, runtime, session, user, persona, values=values, errors=exc.errors, status_code=422)
    if edited is files:
        return RedirectResponse(f"{BASE}/{persona}?ok=unchanged", status_code=303)
    workspace.save(session, edited, user=user.user_id, what=f"人设 {persona}：修改人设资料", now=runtime.clock())
    return RedirectResponse(f"{BASE}/{persona}?ok=saved", status_code=303)


# ----- one template ----------------------------------------------------------------------------------------


def _preview(session: Session, runtime: Runtime, files: ConfigFiles, persona: str, intent: str, text: str) -> template_preview.Preview:
    """The text rendered in the draft's configuration for the latest real messages of the intent (or samples)."""
    messages = preview_messages.preview_messages(session, files, intent, runtime.pipeline.catalog)
    return template_preview.preview(files, persona, intent, text, messages)


def _template_page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, persona: str, intent: str, *,
                   text: str | None = None, preview: template_preview.Preview | None = None, notice: str = "", refused: bool = False,
                   status_code: int = 200) -> HTMLResponse:
    files = _files(session, runtime)
    source = persona_templates.template_source(files, persona, intent)
    draft_text = source.text if text is None else text
    preview = preview or _preview(session, runtime, files, persona, intent, draft_text)
    return page(request, runtime, session, user, "template.html", status_code=status_code, persona=persona, intent=intent,
                info=persona_fields.persona_info(files, persona), source=source, text=draft_text, preview=preview, notice=notice,
                refused=refused, inheritors=persona_templates.inheritors(files, persona, intent), fallback=FALLBACK,
                disabled=intent in persona_templates.disabled_intents(files))


@router.get("/personas/{persona}/templates/{intent}", response_class=HTMLResponse)
def template_page(request: Request, persona: str, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                  ok: str | None = None) -> HTMLResponse:
    missing = _known(_files(session, runtime), persona, intent)
    if missing:
        return _missing(request, runtime, session, user, persona, missing)
    return _template_page(request, runtime, session, user, persona, intent, notice=NOTICES.get(ok or "", ""))


def _missing(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, persona: str, message: str) -> HTMLResponse:
    """404: the persona's page (its template list) when the persona exists, else the persona list."""
    if persona in config_paths.persona_names(_files(session, runtime)):
        return _persona_page(request, runtime, session, user, persona, missing=message, status_code=404)
    return _list_page(request, runtime, session, user, missing=message, status_code=404)


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
    edited = persona_templates.with_template(files, persona, intent, source)
    if edited.digest == files.digest:
        return RedirectResponse(f"{BASE}/{persona}/templates/{intent}?ok=unchanged", status_code=303)
    workspace.save(session, edited, user=user.user_id, what=f"人设 {persona}：修改 {intent} 话术", now=runtime.clock())
    return RedirectResponse(f"{BASE}/{persona}/templates/{intent}?ok=saved", status_code=303)
