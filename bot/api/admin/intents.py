"""The intents pages: the list with example counts and F1, one intent's page, and every edit of them.

Routes are thin: each write loads the draft, asks `bot.console.intent_editing` for the edit, saves
it with `workspace.save` (the live service changes only when someone publishes) and answers 303 to
a GET page with a fixed notice. A refused edit re-renders the page with the problems next to the
form that caused them, what the admin typed kept, and a status saying why (404, 409, 422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.services import configuration
from bot.api.admin.common import COOKIE_PATH, AdminDep, AdminWriterDep, page
from bot.api.deps import RuntimeDep, SessionDep
from bot.services.configuration import ConfigFiles
from bot.console import intent_editing as editing
from bot.console import workspace
from bot.console.config_paths import persona_names, template_path
from bot.console.intent_editing import Edit
from bot.console.intent_files import EditRefused, read_intents
from bot.db.accounts import ConsoleUser
from bot.nlu.intents import MIN_EXAMPLES
from bot.nlu.normalise import normalise
from bot.persona.lint import RECOMMENDED_EXAMPLES
from bot.wiring import Runtime

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)

BASE = f"{COOKIE_PATH}/intents"
INBOX = f"{COOKIE_PATH}/inbox"
MAX_QUOTED = 200  # characters of an added example the inbox repeats back
STATUS = {"invalid": 422, "conflict": 409, "missing": 404}
MAX_FORM_TEXT = 100_000
NOTICES = {
    "created": "已创建意图。已为每个人设复制兜底话术，请修改（见下方“话术模板”）。接着添加至少 5 条例句。",
    "added": "已添加例句。",
    "edited": "已保存例句。",
    "deleted": "已删除例句。",
    "moved": "已把例句移到另一个意图。",
    "settings": "已保存中文名称、说明和营销设置。",
    "renamed": "已改名，各人设的话术模板也一并改名。",
    "disabled": "已停用：发布后这个意图不再参与识别，文件和例句都保留，随时可以重新启用。",
    "enabled": "已启用：发布后这个意图重新参与识别。",
    "removed": "已删除意图和它在各人设下的话术模板。",
}
Text = Annotated[str, Form()]


# ----- what the pages show --------------------------------------------------------------------------


def _scores(session: Session, draft: workspace.Workspace) -> tuple[dict[str, float], str]:
    """Per-intent F1 from the draft's last evaluation, else the active version's, and a line saying which."""
    if draft.evaluation and draft.evaluation.get("per_intent"):
        return draft.evaluation["per_intent"], "F1 来自草稿最近一次评估。"
    active = configuration.active(session)
    if active is not None and active.evaluation and active.evaluation.get("per_intent"):
        return (active.evaluation["per_intent"],
                f"F1 来自线上版本 {active.number} 的评估；草稿改动后尚未评估，去“训练评估”运行一次即可看到草稿的分数。")
    return {}, "还没有评估结果：去“训练评估”运行一次，就能看到每个意图的 F1。"


def _notice(ok: str | None) -> str:
    return NOTICES.get(ok or "", "")


def _list_page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, *, q: str = "", status_code: int = 200,
               errors: list[str] | None = None, field: str = "", values: dict | None = None, notice: str = "") -> HTMLResponse:
    draft = workspace.load(session, runtime.clock())
    intents = read_intents(draft.files)
    scores, source = _scores(session, draft)
    query = q.strip()
    needle = normalise(query)  # 繁简, 全半角 and case do not matter, as for duplicates
    rows = []
    for doc in intents.docs.values():
        matches = [e for e in doc.examples if needle in normalise(e)] if needle else []
        if (needle and needle not in doc.intent and needle not in normalise(doc.description)
                and needle not in normalise(doc.display_name) and not matches):
            continue
        rows.append({"doc": doc, "f1": scores.get(doc.intent), "warnings": doc.warnings(), "matches": matches[:3],
                     "match_count": len(matches)})
    return page(request, runtime, session, user, "intents.html", status_code=status_code, rows=rows, q=query,
                total=len(intents.docs), examples=sum(len(d.examples) for d in intents.docs.values()),
                enabled=len(intents.enabled()), broken=intents.broken, score_source=source, notice=notice,
                errors=errors or [], field=field, values=values or {}, min_examples=MIN_EXAMPLES)


def _intent_page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, intent: str, *, status_code: int = 200,
                 form: str = "", errors: list[str] | None = None, field: str = "", values: dict | None = None,
                 row: int | None = None, notice: str = "", next_path: str = "") -> HTMLResponse:
    draft = workspace.load(session, runtime.clock())
    intents = read_intents(draft.files)
    doc = intents.docs.get(intent)
    if doc is None:
        return _missing(request, runtime, session, user, intent)
    scores, source = _scores(session, draft)
    templates = [{"persona": p, "own": template_path(p, intent) in draft.files.files} for p in persona_names(draft.files)]
    return page(request, runtime, session, user, "intent.html", status_code=status_code, doc=doc, f1=scores.get(intent),
                score_source=source, targets=[d for d in intents.docs.values() if d.intent != intent], templates=templates,
                form=form, errors=errors or [], field=field, values=values or {}, row=row, notice=notice,
                next_path=next_path, min_examples=MIN_EXAMPLES, recommended=RECOMMENDED_EXAMPLES)


def _missing(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, intent: str) -> HTMLResponse:
    return _list_page(request, runtime, session, user, status_code=404,
                      errors=[f"草稿里没有意图 {intent}（可能已被改名或删除）。"], field="missing")


# ----- the write pattern ----------------------------------------------------------------------------


def _apply(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, intent: str,
           make: Callable[[ConfigFiles], Edit], *, ok: str, form: str, values: dict | None = None,
           row: int | None = None, next_path: str = "", done: str = "") -> Response:
    """Make one edit on the draft and redirect (to `done`, `next_path` or the intent's page); or show
    the intent page again with the problems inline (and a way back to `next_path`)."""
    draft = workspace.load(session, runtime.clock())
    try:
        edit = make(draft.files)
    except EditRefused as exc:
        if exc.kind == "missing" and intent not in read_intents(draft.files).docs:
            return _missing(request, runtime, session, user, intent)
        return _intent_page(request, runtime, session, user, intent, status_code=STATUS[exc.kind], form=form,
                            errors=exc.problems, field=exc.field, values=values, row=row, next_path=next_path)
    workspace.save(session, edit.files, user=user.user_id, what=edit.what, now=runtime.clock())
    return RedirectResponse(done or next_path or f"{BASE}/{quote(edit.intent)}?ok={ok}", status_code=303)


def _safe_next(next_path: str) -> str:
    """Only a path inside the console (never another site)."""
    if next_path.startswith(f"{COOKIE_PATH}/") and not next_path.startswith("//") and "\\" not in next_path:
        return next_path
    return ""


def _index(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1  # not a position: the example is then found by its text, or the edit is refused as stale


def _too_long(*values: str) -> bool:
    return any(len(v) > MAX_FORM_TEXT for v in values)


# ----- pages ----------------------------------------------------------------------------------------


@router.get("/intents", response_class=HTMLResponse)
def intents_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                 q: str = "", ok: str | None = None) -> HTMLResponse:
    return _list_page(request, runtime, session, user, q=q[:100], notice=_notice(ok))


@router.get("/intents/{intent}", response_class=HTMLResponse)
def intent_page(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                ok: str | None = None) -> HTMLResponse:
    return _intent_page(request, runtime, session, user, intent, notice=_notice(ok))


# ----- writes ---------------------------------------------------------------------------------------


@router.post("/intents")
def create_intent(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
                  intent: Text = "", description: Text = "", marketing: Text = "", examples: Text = "",
                  display_name: Text = "") -> Response:
    values = {"intent": intent, "description": description, "marketing": bool(marketing), "examples": examples,
              "display_name": display_name}
    draft = workspace.load(session, runtime.clock())
    try:
        if _too_long(intent, description, examples, display_name):
            raise EditRefused("内容太长了。", field="examples")
        edit = editing.create_intent(draft.files, intent, description, bool(marketing), examples, display_name[:200])
    except EditRefused as exc:
        return _list_page(request, runtime, session, user, status_code=STATUS[exc.kind], errors=exc.problems,
                          field=exc.field, values=values)
    workspace.save(session, edit.files, user=user.user_id, what=edit.what, now=runtime.clock())
    return RedirectResponse(f"{BASE}/{quote(edit.intent)}?ok=created", status_code=303)


@router.post("/intents/{intent}/examples")
def add_examples(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
                 text: Text = "", next: Text = "") -> Response:  # the form field's name
    """Add one example per line. Also used by the learning inbox (with `next`); a JSON caller gets JSON."""
    next_path = _safe_next(next)
    if next_path == INBOX:  # the inbox says what was added to which intent
        next_path = f"{INBOX}?added={quote(intent)}&text={quote(' '.join(text.split())[:MAX_QUOTED])}"
    if "application/json" in request.headers.get("accept", ""):
        return _add_json(runtime, session, user, intent, text)

    def make(files: ConfigFiles) -> Edit:
        if _too_long(text):
            raise EditRefused(f"内容太长了（最多 {editing.MAX_BATCH} 行）。", field="text")
        return editing.add_examples(files, intent, text)

    return _apply(request, runtime, session, user, intent, make, ok="added", form="add", values={"text": text},
                  next_path=next_path)


def _add_json(runtime: Runtime, session: Session, user: ConsoleUser, intent: str, text: str) -> JSONResponse:
    draft = workspace.load(session, runtime.clock())
    try:
        edit = editing.add_examples(draft.files, intent, text[:MAX_FORM_TEXT])
    except EditRefused as exc:
        return JSONResponse({"ok": False, "errors": exc.problems}, status_code=STATUS[exc.kind])
    workspace.save(session, edit.files, user=user.user_id, what=edit.what, now=runtime.clock())
    name = read_intents(edit.files).get(intent).name
    return JSONResponse({"ok": True, "intent": intent, "intent_name": name, "added": edit.count,
                         "message": f"已添加到「{name}」（{intent}，草稿）。"})


@router.post("/intents/{intent}/examples/edit")
def edit_example(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
                 index: Text = "", old: Text = "", text: Text = "") -> Response:
    position = _index(index)
    return _apply(request, runtime, session, user, intent,
                  lambda files: editing.edit_example(files, intent, position, old, text[:MAX_FORM_TEXT]),
                  ok="edited", form="row", values={"text": text}, row=position)


@router.post("/intents/{intent}/examples/delete")
def delete_example(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
                   index: Text = "", old: Text = "") -> Response:
    position = _index(index)
    return _apply(request, runtime, session, user, intent, lambda files: editing.delete_example(files, intent, position, old),
                  ok="deleted", form="row", row=position)


@router.post("/intents/{intent}/examples/move")
def move_example(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
                 index: Text = "", old: Text = "", target: Text = "") -> Response:
    position = _index(index)
    return _apply(request, runtime, session, user, intent,
                  lambda files: editing.move_example(files, intent, position, old, target),
                  ok="moved", form="row", values={"target": target}, row=position)


@router.post("/intents/{intent}/settings")
def update_settings(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
                    description: Text = "", marketing: Text = "", display_name: Annotated[str | None, Form()] = None) -> Response:
    """Description and marketing; the display name too when the form sends it (a form without the field keeps it)."""
    name = None if display_name is None else display_name[:200]
    return _apply(request, runtime, session, user, intent,
                  lambda files: editing.update_settings(files, intent, description[:MAX_FORM_TEXT], bool(marketing), name),
                  ok="settings", form="settings",
                  values={"description": description, "marketing": bool(marketing), "display_name": display_name or ""})


@router.post("/intents/{intent}/rename")
def rename_intent(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
                  new_id: Text = "") -> Response:
    return _apply(request, runtime, session, user, intent, lambda files: editing.rename_intent(files, intent, new_id[:200]),
                  ok="renamed", form="rename", values={"new_id": new_id})


@router.post("/intents/{intent}/disable")
def disable_intent(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep) -> Response:
    return _apply(request, runtime, session, user, intent, lambda files: editing.set_enabled(files, intent, False),
                  ok="disabled", form="state")


@router.post("/intents/{intent}/enable")
def enable_intent(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep) -> Response:
    return _apply(request, runtime, session, user, intent, lambda files: editing.set_enabled(files, intent, True),
                  ok="enabled", form="state")


@router.post("/intents/{intent}/delete")
def delete_intent(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
                  confirm: Text = "") -> Response:
    return _apply(request, runtime, session, user, intent, lambda files: editing.delete_intent(files, intent, confirm[:200]),
                  ok="removed", form="delete", values={"confirm": confirm}, done=f"{BASE}?ok=removed")
