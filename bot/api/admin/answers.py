"""The answers page of an intent: list, add, edit and delete brand answers, and try a message against them.

Thin like the intents pages: each write asks `bot.console.answer_editing` for the edit, saves it to
the draft configuration with `workspace.save` (it reaches drafts once published, with a diff, the
publish gate and rollback like every other change) and redirects; a refused edit shows the page again
with the problems next to the form and what the admin typed kept (404, 409, 422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.api.admin.common import COOKIE_PATH, AdminDep, AdminWriterDep, page
from bot.api.deps import RuntimeDep, SessionDep
from bot.console import answer_editing as editing
from bot.console import workspace
from bot.console.answer_editing import Tried
from bot.console.intent_editing import Edit
from bot.console.intent_files import EditRefused, read_intents
from bot.db.accounts import ConsoleUser
from bot.nlu.intents import MAX_ANSWER_CHARS, MIN_QUESTIONS
from bot.console.answer_usage import answer_usage
from bot.services.configuration import ConfigFiles
from bot.wiring import Runtime

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)

BASE = f"{COOKIE_PATH}/intents"
STATUS = {"invalid": 422, "conflict": 409, "missing": 404}
MAX_FORM_TEXT = 20_000
NOTICES = {
    "added": "已添加答案（草稿，发布后草稿回复才会用到）。",
    "edited": "已保存答案。",
    "deleted": "已删除答案。",
}
Text = Annotated[str, Form()]


def _page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, intent: str, *, status_code: int = 200,
          form: str = "", errors: list[str] | None = None, field: str = "", values: dict | None = None, notice: str = "",
          tried: Tried | None = None) -> HTMLResponse:
    draft = workspace.load(session, runtime.clock())
    doc = read_intents(draft.files).docs.get(intent)
    if doc is None:
        return page(request, runtime, session, user, "answers.html", status_code=404, doc=None, intent=intent,
                    errors=[f"草稿里没有意图 {intent}（可能已被改名或删除）。"], form="", field="", values={}, notice="",
                    tried=None, usage={}, min_questions=MIN_QUESTIONS, max_chars=MAX_ANSWER_CHARS)
    return page(request, runtime, session, user, "answers.html", status_code=status_code, doc=doc, intent=intent,
                form=form, errors=errors or [], field=field, values=values or {}, notice=notice, tried=tried,
                usage=answer_usage(session, intent=intent), min_questions=MIN_QUESTIONS, max_chars=MAX_ANSWER_CHARS)


def _apply(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, intent: str,
           make: Callable[[ConfigFiles], Edit], *, ok: str, form: str, values: dict) -> Response:
    draft = workspace.load(session, runtime.clock())
    try:
        if any(len(v) > MAX_FORM_TEXT for v in values.values() if isinstance(v, str)):
            raise EditRefused("内容太长了。", field="questions")
        edit = make(draft.files)
    except EditRefused as exc:
        return _page(request, runtime, session, user, intent, status_code=STATUS[exc.kind], form=form, errors=exc.problems,
                     field=exc.field, values=values)
    workspace.save(session, edit.files, user=user.user_id, what=edit.what, now=runtime.clock())
    return RedirectResponse(f"{BASE}/{quote(intent)}/answers?ok={ok}", status_code=303)


@router.get("/intents/{intent}/answers", response_class=HTMLResponse)
def answers_page(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                 ok: str | None = None) -> HTMLResponse:
    return _page(request, runtime, session, user, intent, notice=NOTICES.get(ok or "", ""))


@router.post("/intents/{intent}/answers")
def add_answer(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
               answer_id: Text = "", questions: Text = "", answer: Text = "") -> Response:
    values = {"answer_id": answer_id, "questions": questions, "answer": answer}
    return _apply(request, runtime, session, user, intent,
                  lambda files: editing.add_answer(files, intent, answer_id, questions, answer), ok="added", form="add", values=values)


@router.post("/intents/{intent}/answers/{old_id}/edit")
def edit_answer(request: Request, intent: str, old_id: str, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
                answer_id: Text = "", questions: Text = "", answer: Text = "") -> Response:
    values = {"answer_id": answer_id, "questions": questions, "answer": answer, "old_id": old_id}
    return _apply(request, runtime, session, user, intent,
                  lambda files: editing.edit_answer(files, intent, old_id, answer_id, questions, answer),
                  ok="edited", form=f"edit-{old_id}", values=values)


@router.post("/intents/{intent}/answers/{old_id}/delete")
def delete_answer(request: Request, intent: str, old_id: str, runtime: RuntimeDep, session: SessionDep,
                  user: AdminWriterDep) -> Response:
    return _apply(request, runtime, session, user, intent, lambda files: editing.delete_answer(files, intent, old_id),
                  ok="deleted", form=f"edit-{old_id}", values={})


@router.post("/intents/{intent}/answers/try", response_class=HTMLResponse)
def try_message(request: Request, intent: str, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                message: Text = "") -> HTMLResponse:
    """Which answer (and similarity) a message would get in this intent, as the draft configuration stands; saves nothing."""
    draft = workspace.load(session, runtime.clock())
    try:
        tried = editing.try_message(draft.files, intent, message[:500])
    except EditRefused as exc:
        return _page(request, runtime, session, user, intent, status_code=STATUS[exc.kind], form="try", errors=exc.problems,
                     field=exc.field, values={"message": message[:500]})
    return _page(request, runtime, session, user, intent, form="try", values={"message": tried.message}, tried=tried)
