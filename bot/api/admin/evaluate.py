"""Train and evaluate: one click cross-validates the draft; the page shows its figures, two charts and
how it differs from the active version.

The charts are inline SVG drawn with the page from the figures stored with the draft (numbers, not
images), so they always match the table next to them.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.api.admin.common import COOKIE_PATH, AdminDep, AdminWriterDep, page
from bot.api.deps import RuntimeDep, SessionDep
from bot.services.configuration import ConfigRefused
from bot.console import evaluation, workspace
from bot.console.evaluation_charts import evaluation_charts
from bot.console.publishing import local_time
from bot.db.accounts import ConsoleUser
from bot.wiring import Runtime

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)

PAGE = f"{COOKIE_PATH}/evaluate"
NOTICES = {"evaluated": "评估完成。"}


def _page(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, *, notice: str = "",
          problems: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
    draft = workspace.load(session, runtime.clock())
    figures = evaluation.draft_figures(draft)
    active, active_figures = evaluation.active_figures(session)
    diff = evaluation.difference(figures, active_figures, active.number) if figures and active_figures and active else None
    evaluated_at = None
    if figures and figures.get("evaluated_at"):
        evaluated_at = local_time(datetime.fromisoformat(figures["evaluated_at"]), runtime.settings.timezone)
    names = evaluation.intent_names(draft.files)
    return page(request, runtime, session, user, "evaluate.html", status_code=status_code, figures=figures, diff=diff,
                active=active, evaluated_at=evaluated_at, notice=notice, problems=problems or [],
                fixed_threshold=runtime.settings.fallback_threshold, names=names,
                charts=evaluation_charts(figures, names) if figures else None)


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
