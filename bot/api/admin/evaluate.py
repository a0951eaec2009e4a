"""Train and evaluate: one click cross-validates the draft; the page shows its figures, two pictures and
how it differs from the active version.

The pictures are PNG routes drawn on request from the figures stored with the draft (numbers, not
images), so they always match the table next to them.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.api.admin.common import COOKIE_PATH, AdminDep, AdminWriterDep, page
from bot.api.deps import RuntimeDep, SessionDep
from bot.config_store import ConfigRefused
from bot.console import evaluation, workspace
from bot.console.publishing import local_time
from bot.db.accounts import ConsoleUser
from bot.wiring import Runtime

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)

PAGE = f"{COOKIE_PATH}/evaluate"
NOTICES = {"evaluated": "评估完成。"}
PICTURES = {"confusion": evaluation.confusion_png, "coverage": evaluation.coverage_png}


def _page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, *, notice: str = "",
          problems: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
    draft = workspace.load(session, runtime.clock())
    figures = evaluation.draft_figures(draft)
    active, active_figures = evaluation.active_figures(session)
    diff = evaluation.difference(figures, active_figures, active.number) if figures and active_figures else None
    evaluated_at = None
    if figures and figures.get("evaluated_at"):
        evaluated_at = local_time(datetime.fromisoformat(figures["evaluated_at"]), runtime.settings.timezone)
    return page(request, runtime, session, user, "evaluate.html", status_code=status_code, figures=figures, diff=diff,
                active=active, evaluated_at=evaluated_at, notice=notice, problems=problems or [],
                fixed_threshold=runtime.settings.fallback_threshold, picture_key=draft.files.digest[:12],
                names=evaluation.intent_names(draft.files))


@router.get("/evaluate", response_class=HTMLResponse)
def evaluate_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
                  ok: str | None = None) -> HTMLResponse:
    return _page(request, runtime, session, user, notice=NOTICES.get(ok or "", ""))


@router.post("/evaluate", response_model=None)
def evaluate_draft(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep) -> Response:
    """Cross-validate the draft (seconds) and show the result; intents that do not load are listed (422)."""
    try:
        evaluation.run(session, runtime.settings, user=user.user_id, now=runtime.clock())
    except ConfigRefused as exc:
        session.rollback()
        return _page(request, runtime, session, user, problems=exc.problems, status_code=422)
    return RedirectResponse(f"{PAGE}?ok=evaluated", status_code=303)


@router.get("/evaluate/{name}.png", response_model=None)
def picture(name: str, runtime: RuntimeDep, session: SessionDep, user: AdminDep) -> Response:
    """The confusion matrix or the coverage curve of the draft's last evaluation (404 before one exists)."""
    draw = PICTURES.get(name)
    figures = evaluation.draft_figures(workspace.load(session, runtime.clock()))
    session.commit()
    if draw is None or figures is None:
        return Response("没有这张图：请先在“训练评估”页评估草稿。", status_code=404, media_type="text/plain; charset=utf-8")
    return Response(draw(figures), media_type="image/png", headers={"Cache-Control": "private, no-cache"})
