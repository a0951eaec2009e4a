"""draftbot audit: read the audit trail (filters, a table or JSON) and verify its hash chain."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.table import Table

from bot.cli.common import _database, _fail, _print_listing, _settings, _when, app, err, out
from bot.errors import DraftbotError

if TYPE_CHECKING:
    from bot.db.models import AuditLog

audit_app = typer.Typer(help="The audit trail: who did what, when, from where; `verify` checks its hash chain.",
                        invoke_without_command=True)
app.add_typer(audit_app, name="audit")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(DraftbotError(f"{option}: {value!r} is not a date like 2026-12-05"))


def event_json(event: AuditLog) -> dict[str, Any]:
    """An event as JSON (the API, the CLI and the CSV export share these fields)."""
    from bot.services.audit import action_name

    return {
        "id": event.id, "at": event.at.isoformat(), "actor": event.actor, "role": event.role, "surface": event.surface,
        "action": event.action, "action_name": action_name(event.action), "subject": event.subject,
        "version": event.version, "channel": event.channel, "customer_id": event.customer_id,
        "customer_key": event.customer_key, "text": event.text, "detail": event.detail,
        "redacted_at": event.redacted_at.isoformat() if event.redacted_at else None,
        "prev_hash": event.prev_hash, "hash": event.hash,
    }


@audit_app.callback()
def audit_list(
    ctx: typer.Context,
    actor: Annotated[Optional[str], typer.Option(help="only this person's actions (a userid, 'system' or 'customer')")] = None,
    action: Annotated[Optional[str], typer.Option(help="only this action, e.g. approved, rejected, opt_out, publish")] = None,
    channel: Annotated[Optional[str], typer.Option(help="only events about customers of this channel (kf, archive, demo)")] = None,
    customer: Annotated[Optional[str], typer.Option(help="only events about this customer (needs --channel)")] = None,
    since: Annotated[Optional[str], typer.Option(help="from this day on (YYYY-MM-DD, the brand's time zone)")] = None,
    until: Annotated[Optional[str], typer.Option(help="up to and including this day (YYYY-MM-DD)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="at most this many events, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array instead of a table")] = False,
) -> None:
    """List audit events, newest first (`draftbot audit verify` checks the chain)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.services.audit import Filters, ROLE_NAMES, SURFACE_NAMES, action_name, events

    if customer is not None and channel is None:
        _fail(DraftbotError("--customer needs --channel (kf, archive or demo)"))
    zone = _settings().timezone
    filters = Filters(actor=actor, action=action, channel=channel, customer_id=customer, zone=zone,
                      since=_day(since, "--since"), until=_day(until, "--until"))
    engine, sessions = _database()
    try:
        with sessions() as session:
            found = events(session, filters, limit=limit)
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps([event_json(e) for e in found], ensure_ascii=False, indent=1))
        return
    table = Table("id", "时间", "操作人", "角色", "来源", "操作", "对象", "客户", "详情")
    for event in found:
        who = f"{event.channel}/{event.customer_id}" if event.customer_id else ("（已删除）" if event.redacted_at else "")
        table.add_row(str(event.id), _when(event.at, zone), event.actor, ROLE_NAMES.get(event.role, event.role),
                      SURFACE_NAMES.get(event.surface, event.surface), action_name(event.action), event.subject, who,
                      _detail(event))
    _print_listing(table)


def _detail(event: AuditLog) -> str:
    parts = [f"{key}={value}" for key, value in (event.detail or {}).items() if value not in (None, "", [], {})]
    if event.text is not None:
        parts.append(f"文字「{event.text[:60]}{'…' if len(event.text) > 60 else ''}」")
    return "; ".join(parts)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain from the first event; name the first broken one (exit code 1)."""
    from bot.services.audit import verify

    engine, sessions = _database()
    try:
        with sessions() as session:
            result = verify(session)
    finally:
        engine.dispose()
    if result.ok:
        out.print(f"audit trail intact: {result.checked} events, chain unbroken", highlight=False)
        return
    err.print(f"[bold red]audit trail broken[/] at event {result.broken_id}: {result.reason} "
              f"({result.checked} events before it are intact)", highlight=False)
    raise typer.Exit(1)
