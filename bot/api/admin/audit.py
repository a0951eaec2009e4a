"""The console's 操作记录 (GET /admin/audit) and its CSV export (GET /admin/audit.csv): the whole audit trail.

Admins read everything; a supervisor reads their team's actions and their own. Filters: actor, action,
customer (channel + id), dates; older events follow the 下一页 link (`before_id`, as in GET /api/audit).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from bot.api.admin.common import COOKIE_PATH, AuditDep, page
from bot.api.audit import CHANNELS, parse_cursor, parse_filters
from bot.api.deps import RuntimeDep, SessionDep
from bot.console import audit_trail
from bot.errors import Refused
from bot.services import access, audit

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)
FILTERS = ("actor", "action", "channel", "customer_id", "since", "until")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AuditDep) -> HTMLResponse:
    """The newest events matching the filters; a filter that makes no sense is a 400 showing every event."""
    who = access.principal(session, user.user_id, user.role)
    chosen = {name: (request.query_params.get(name) or "").strip()[:128] for name in FILTERS}
    error = ""
    try:
        filters = parse_filters(who, zone=runtime.settings.timezone, **{k: v or None for k, v in chosen.items()})
        cursor = parse_cursor(request.query_params.get("before_id"))
    except Refused as exc:
        error = f"{exc}。下面显示全部记录。"
        filters, cursor = parse_filters(who, zone=runtime.settings.timezone), None
        chosen = dict.fromkeys(FILTERS, "")
    found = audit_trail.rows(session, filters, runtime.settings.timezone, limit=audit_trail.PAGE_SIZE + 1, before_id=cursor)
    query = {k: v for k, v in chosen.items() if v}
    following = ""
    if len(found) > audit_trail.PAGE_SIZE:
        found = found[:audit_trail.PAGE_SIZE]
        following = f"{COOKIE_PATH}/audit?{urlencode({**query, 'before_id': found[-1].id})}"
    return page(request, runtime, session, user, "audit.html", status_code=400 if error else 200, rows=found,
                actions=audit.ACTION_NAMES, channels=CHANNELS, chosen=chosen, error=error, following=following,
                csv_link=f"{COOKIE_PATH}/audit.csv" + (f"?{urlencode(query)}" if query else ""),
                team=sorted(who.team) if who.role == "supervisor" else None, limit=audit_trail.PAGE_SIZE,
                filtered=bool(query))


@router.get("/audit.csv", response_model=None)
def audit_csv(request: Request, runtime: RuntimeDep, session: SessionDep, user: AuditDep) -> StreamingResponse | HTMLResponse:
    """Every event matching the filters as CSV (UTF-8 with BOM), newest first."""
    who = access.principal(session, user.user_id, user.role)
    try:
        filters = parse_filters(who, zone=runtime.settings.timezone,
                                **{name: (request.query_params.get(name) or "").strip()[:128] or None for name in FILTERS})
    except Refused as exc:
        return HTMLResponse(f"{exc}", status_code=400)
    stamp = runtime.clock().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(audit_trail.csv_text(session, filters, runtime.settings.timezone), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'})
