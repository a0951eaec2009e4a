"""The dashboard (GET /admin) and the learning inbox (GET /admin/inbox): read-only pages over the drafts.

Both only read. The inbox's one-click actions post to the intents page's example route
(`POST /admin/intents/{intent}/examples`) and link to the template editor, which own the writes.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot.api.admin.common import COOKIE_PATH, AdminDep, page
from bot.api.deps import RuntimeDep, SessionDep
from bot.console import learning, workspace
from bot.console.charts import dashboard_charts
from bot.console.insights import DEFAULT_DAYS, PERIODS, dashboard, format_duration, format_rate, parse_period
from bot.runtime import Runtime

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)


def _labels(runtime: Runtime) -> dict[str, dict[str, str]]:
    """Readable names from the live configuration: intent descriptions and persona display names."""
    pipeline = runtime.pipeline
    return {
        "intent": {name: intent.description for name, intent in pipeline.intents.items()},
        "persona": {name: pipeline.book[name].display_name for name in pipeline.book.names()},
    }


def _local_time(runtime: Runtime):  # noqa: ANN202
    zone = ZoneInfo(runtime.settings.timezone)

    def local_time(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%m-%d %H:%M")

    return local_time


@router.get("", response_class=HTMLResponse)
def dashboard_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminDep, days: str | None = None) -> HTMLResponse:
    """Figures for the last 7, 30 or 90 days (30 by default); another period is a 400 showing the default."""
    chosen = parse_period(days)
    error = None
    if chosen is None:
        error = f"没有“{days[:20]}”这个时间范围，只能选最近 7、30 或 90 天；下面显示最近 {DEFAULT_DAYS} 天。"
        chosen = DEFAULT_DAYS
    board = dashboard(session, now=runtime.clock(), days=chosen, zone=ZoneInfo(runtime.settings.timezone))
    return page(request, runtime, session, user, "dashboard.html", status_code=400 if error else 200,
                board=board, periods=PERIODS, error=error, charts=dashboard_charts(board.daily), labels=_labels(runtime),
                rate=format_rate, duration=format_duration, local_time=_local_time(runtime))


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminDep) -> HTMLResponse:
    """Messages to learn from, each with a form adding it as an example to the draft configuration."""
    files = workspace.load(session, runtime.clock()).files
    return page(request, runtime, session, user, "inbox.html", box=learning.inbox(session, files),
                labels=_labels(runtime), rate=format_rate, local_time=_local_time(runtime))
