"""The dashboard (GET /admin) and the learning inbox (GET /admin/inbox): pages over the drafts.

Both read. The inbox's "加为例句" posts to the intents page's example route
(`POST /admin/intents/{intent}/examples`, which comes back here saying what it added) and links to the
template editor; its one write of its own is "不是任何意图" (`POST /admin/inbox/{draft_id}/dismiss`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.api.admin.common import COOKIE_PATH, AdminDep, AdminWriterDep, DashboardDep, page
from bot import timefmt
from bot.api.deps import RuntimeDep, SessionDep
from bot.console import learning, workspace
from bot.console.answer_usage import answer_usage
from bot.console.charts import dashboard_charts
from bot.console.insights import DEFAULT_DAYS, PERIODS, dashboard, format_duration, format_rate, parse_period
from bot.db.accounts import ConsoleUser
from bot.nlu.intents import FALLBACK, FALLBACK_NAME
from bot.services.archive import archive_health
from bot.services import access
from bot.wiring import Runtime

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)
MAX_QUOTED = 200  # characters of a message repeated in the notice after a click


def _labels(runtime: Runtime) -> dict[str, dict[str, str]]:
    """Readable names from the live configuration: intent descriptions and persona display names."""
    pipeline = runtime.pipeline
    return {
        "intent": {name: intent.description for name, intent in pipeline.intents.items()},
        "intent_name": {name: intent.name for name, intent in pipeline.intents.items()} | {FALLBACK: FALLBACK_NAME},
        "persona": {name: pipeline.book[name].display_name for name in pipeline.book.names()},
    }


def _local_time(runtime: Runtime) -> Callable[[datetime], str]:
    def local_time(moment: datetime) -> str:
        return timefmt.local_time(moment, runtime.settings.timezone, "%m-%d %H:%M")

    return local_time


def _archive_problems(runtime: Runtime, session: Session) -> list[str]:
    """What needs the admins about the chat archive (a missing key version, a failing pull); [] when it is off."""
    if not runtime.settings.archive_configured:
        return []
    return list(archive_health(session, now=runtime.clock())["problems"])


@router.get("", response_class=HTMLResponse)
def dashboard_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: DashboardDep, days: str | None = None) -> HTMLResponse:
    """Figures for the last 7, 30 or 90 days (30 by default); another period is a 400 showing the default.

    A supervisor sees the figures of their team (and their own)."""
    chosen = parse_period(days)
    error = None
    if chosen is None:
        error = f"没有“{(days or '')[:20]}”这个时间范围，只能选最近 7、30 或 90 天；下面显示最近 {DEFAULT_DAYS} 天。"
        chosen = DEFAULT_DAYS
    people = access.principal(session, user.user_id, user.role).people()
    board = dashboard(session, now=runtime.clock(), days=chosen, zone=ZoneInfo(runtime.settings.timezone), people=people)
    return page(request, runtime, session, user, "dashboard.html", status_code=400 if error else 200,
                board=board, archive_problems=_archive_problems(runtime, session), periods=PERIODS, error=error, charts=dashboard_charts(board.daily), labels=_labels(runtime),
                answers=answer_usage(session, since=board.since, until=board.until) if people is None else {},
                team=sorted(people - {user.user_id}) if people is not None else None,
                rate=format_rate, duration=format_duration, local_time=_local_time(runtime))


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminDep,
               added: str | None = None, text: str | None = None, dismissed: str | None = None) -> HTMLResponse:
    """Messages to learn from, each with a form adding it as an example to the draft configuration.

    `added` and `text` (from the example route) or `dismissed` say what the last click did.
    """
    return _inbox(request, runtime, session, user, added=added, text=text, dismissed=dismissed)


@router.post("/inbox/{draft_id}/dismiss", response_model=None)
def dismiss_item(request: Request, draft_id: int, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep) -> Response:
    """"不是任何意图": the message stops showing in the inbox (an audit row records who and when)."""
    text = learning.dismiss(session, draft_id, user=user.user_id, now=runtime.clock())
    if text is None:
        return _inbox(request, runtime, session, user, status_code=404, error=f"没有草稿 {draft_id}，无法忽略。")
    return RedirectResponse(f"{COOKIE_PATH}/inbox?dismissed={quote(text[:MAX_QUOTED])}", status_code=303)


def _inbox(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, *, status_code: int = 200,
           added: str | None = None, text: str | None = None, dismissed: str | None = None, error: str = "") -> HTMLResponse:
    files = workspace.load(session, runtime.clock()).files
    box = learning.inbox(session, files)
    notice = ""
    if added and text:
        notice = (f"已把「{text[:MAX_QUOTED]}」加为「{box.catalog.name(added[:100])}」（{added[:100]}）的例句。"
                  "改动在草稿里，发布后生效。")
    elif dismissed:
        notice = f"已忽略「{dismissed[:MAX_QUOTED]}」：它不属于任何意图，不会再出现在这里。"
    return page(request, runtime, session, user, "inbox.html", status_code=status_code, box=box, notice=notice,
                error=error, labels=_labels(runtime), rate=format_rate, local_time=_local_time(runtime))
