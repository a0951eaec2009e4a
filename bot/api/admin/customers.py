"""The console's 客户资料 page: find a customer by channel and id, see what is held, export it as JSON or delete it.

Export and deletion are POST forms with the session's CSRF token; deletion asks first on a page of its
own (what goes, what stays and why). Both go through `bot.services.personal_data` and are audited with
surface `console`, as the CLI and the API are with theirs.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bot.api.admin.common import AdminWriterDep, console_requires, page
from bot.api.deps import RuntimeDep, SessionDep
from bot.db.accounts import ConsoleUser
from bot.drafts.access import Permission
from bot.services import personal_data
from bot.services.opt_outs import CHANNELS
from bot.timefmt import local_time
from bot.wiring import Runtime

router = APIRouter(prefix="/admin", include_in_schema=False)
BASE = "/admin/customers"
SHOWN = 50  # messages listed on the page (the export holds all)
CHANNEL_NAMES = {"kf": "微信客服（kf）", "archive": "员工的客户聊天（archive）", "demo": "演示（demo）"}
Text = Annotated[str, Form()]
CustomersDep = Annotated[ConsoleUser, Depends(console_requires(Permission.MANAGE_CUSTOMERS))]  # admins


def _problem(channel: str, customer_id: str) -> str | None:
    if channel not in CHANNELS:
        return f"没有渠道 {channel}（可选：{'、'.join(CHANNELS)}）"
    if not customer_id.strip():
        return "请填写客户 id（external_userid）"
    if len(customer_id) > 128:
        return "客户 id 最多 128 个字符"
    return None


def _view(runtime: Runtime, data: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of an export: counts, opt-out state, the newest messages on the brand's clock."""
    zone = runtime.settings.timezone
    messages = [{**m, "when": local_time(_parse(m["created_at"]), zone)} for m in data["messages"][-SHOWN:]]
    counts = personal_data.counts(data)
    known_as = sorted({m["customer_name"] for m in data["messages"] if m["customer_name"]}
                      | {d["customer_name"] for d in data["drafts"] if d["customer_name"]})
    return {"counts": counts, "opted_out": data["opt_out"]["opted_out"], "messages": list(reversed(messages)),
            "known_as": known_as,
            "names": data["names"], "held": any(counts.values()), "more": len(data["messages"]) > SHOWN}


def _parse(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


def _render(request: Request, runtime: Runtime, session: Session, user: ConsoleUser, *, channel: str = "",
            customer_id: str = "", confirm: bool = False, notice: str | None = None, status_code: int = 200) -> HTMLResponse:
    error = _problem(channel, customer_id) if (channel or customer_id) else None
    found = None
    if (channel or customer_id) and error is None:
        found = _view(runtime, personal_data.held(session, channel, customer_id))
    return page(request, runtime, session, user, "customers.html", status_code=400 if error else status_code,
                channel=channel, customer_id=customer_id, channels=CHANNEL_NAMES, found=found, error=error,
                confirm=confirm and found is not None, notice=notice)


@router.get("/customers", response_class=HTMLResponse)
def customers_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: CustomersDep,
                   channel: str = "", customer_id: str = "") -> HTMLResponse:
    return _render(request, runtime, session, user, channel=channel[:16], customer_id=customer_id[:200])


@router.get("/customers/delete", response_class=HTMLResponse)
def confirm_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: CustomersDep,
                 channel: str = "", customer_id: str = "") -> HTMLResponse:
    """The confirmation step: what will be deleted and what is kept, with the button that does it."""
    return _render(request, runtime, session, user, channel=channel[:16], customer_id=customer_id[:200], confirm=True)


@router.post("/customers/export")
def export(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
           channel: Text = "", customer_id: Text = "") -> Response:
    """Everything held about the customer as a JSON download (audited)."""
    if _problem(channel, customer_id):
        return _render(request, runtime, session, user, channel=channel[:16], customer_id=customer_id[:200])
    data = personal_data.export_customer(session, channel, customer_id, actor=user.user_id, role=user.role,
                                         surface="console", now=runtime.clock())
    session.commit()
    name = quote(f"customer-{channel}-{customer_id}.json")
    return Response(json.dumps(data, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}", "Cache-Control": "no-store"})


@router.post("/customers/delete", response_class=HTMLResponse)
def delete(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminWriterDep,
           channel: Text = "", customer_id: Text = "") -> HTMLResponse:
    """Delete the customer's data (audited; idempotent) and show what was removed."""
    if _problem(channel, customer_id):
        return _render(request, runtime, session, user, channel=channel[:16], customer_id=customer_id[:200])
    deletion = personal_data.erase_customer(session, channel, customer_id, actor=user.user_id, role=user.role,
                                            surface="console", now=runtime.clock())
    notice = deletion.summary() + "".join(f"。注意：{w}" for w in deletion.warnings)
    return _render(request, runtime, session, user, channel=channel, customer_id=customer_id, notice=notice)
