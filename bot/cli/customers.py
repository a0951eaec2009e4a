"""draftbot customer export|delete: one customer's personal data (PIPL access and erasure), audited with surface `cli`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from bot.cli.access import operator
from bot.cli.common import _database, _fail, app, err, out
from bot.errors import DraftbotError

customer_app = typer.Typer(help="One customer's personal data: export everything held about them, or delete it.",
                           no_args_is_help=True)
app.add_typer(customer_app, name="customer")

Channel = Annotated[str, typer.Argument(help="kf (微信客服), archive (staff's own chats) or demo")]
CustomerId = Annotated[str, typer.Argument(help="the customer's id on that channel (external_userid)")]


def _checked(channel: str, customer_id: str) -> tuple[str, str]:
    from bot.services.opt_outs import CHANNELS

    if channel not in CHANNELS:
        _fail(DraftbotError(f"unknown channel {channel!r} for customer {customer_id!r} (choose {', '.join(CHANNELS)})"))
    if not customer_id.strip() or len(customer_id) > 128:
        _fail(DraftbotError(f"customer id {customer_id!r}: 1 to 128 characters"))
    return channel, customer_id


@customer_app.command("export")
def export(
    channel: Channel,
    customer_id: CustomerId,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="write the JSON to this file (readable by you only) instead of printing it")] = None,
) -> None:
    """Everything held about a customer as JSON: messages, drafts, what was sent, names, opt-outs, audit events."""
    from bot.services.personal_data import counts, export_customer
    from bot.wiring import system_clock

    channel, customer_id = _checked(channel, customer_id)
    engine, sessions = _database()
    try:
        with sessions() as session:
            data = export_customer(session, channel, customer_id, actor=operator(), role="admin", surface="cli",
                                   now=system_clock())
            session.commit()
    finally:
        engine.dispose()
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    held = "，".join(f"{key} {n}" for key, n in counts(data).items())
    if out_file is None:
        out.file.write(text)
        err.print(f"客户 {channel}/{customer_id} 的资料已导出（{held}）", highlight=False)
        return
    try:
        descriptor = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        _fail(DraftbotError(f"cannot write the export of customer {channel}/{customer_id} to {out_file}: {exc.strerror}"))
    out.print(f"客户 {channel}/{customer_id} 的资料已导出到 {out_file}（{held}）", highlight=False)


@customer_app.command("delete")
def delete(
    channel: Channel,
    customer_id: CustomerId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete a customer's messages, drafts, names and quotes; their opt-out stays (one-way hashed), audit facts stay."""
    from bot.services.personal_data import erase_customer
    from bot.wiring import system_clock

    channel, customer_id = _checked(channel, customer_id)
    if not yes:
        typer.confirm(f"删除客户 {channel}/{customer_id} 的全部资料（消息、草稿、名称、配置中引用的原话）？不可撤销", abort=True)
    engine, sessions = _database()
    try:
        with sessions() as session:
            deletion = erase_customer(session, channel, customer_id, actor=operator(), role="admin", surface="cli",
                                      now=system_clock())
    finally:
        engine.dispose()
    out.print(deletion.summary(), highlight=False)
    for warning in deletion.warnings:
        err.print(f"注意：{warning}", highlight=False)
