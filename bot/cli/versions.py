"""draftbot config: configuration versions exported, imported, listed and rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer
from rich.table import Table

from bot.cli.common import (
    _chosen_version,
    _database,
    _fail,
    _print_listing,
    _progress,
    _settings,
    _when,
    config_app,
    err,
    out,
)
from bot.errors import DraftbotError

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _author(author: str | None) -> str:
    import getpass

    if author:
        return author
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "cli"


def _refused(exc: Exception) -> NoReturn:
    from rich.markup import escape

    from bot.services.configuration import ConfigRefused

    if isinstance(exc, ConfigRefused):
        figures = exc.evaluation
        for problem in exc.problems:
            err.print(f"[bold red]refused:[/] {escape(problem)}", highlight=False)
        if figures.get("accuracy") is not None:
            active = figures.get("active_accuracy")
            err.print(
                f"accuracy {figures['accuracy']:.1%} (5-fold cross-validation); active version "
                f"{figures.get('active_version')}: {active:.1%}" if active is not None else f"accuracy {figures['accuracy']:.1%}",
                highlight=False,
            )
        if exc.overridable:
            err.print("add --force to publish anyway (recorded in the audit log)", highlight=False)
        elif _is_obligation(exc):
            err.print("这项检查（退订、投诉、转人工必须仍能识别）不能用 --force 跳过 (--force does not override it)", highlight=False)
        raise typer.Exit(1)
    _fail(exc)


@contextmanager
def _disposing(engine: Engine) -> Iterator[None]:
    """Close the database connections when the command ends (a test runs many commands in one process)."""
    try:
        yield
    finally:
        engine.dispose()


def _is_obligation(exc: Exception) -> bool:
    from bot.services.configuration.obligations import ObligationRefused

    return isinstance(exc, ObligationRefused)


@config_app.command("export")
def config_export(
    directory: Annotated[Path, typer.Argument(help="folder to write intents/ and persona_styles/ into")],
    version: Annotated[Optional[int], typer.Option("--version", help="version number (default: the active one)")] = None,
) -> None:
    """Write a configuration version as intents/ and persona_styles/ files under DIR."""
    from bot.services.configuration import files_of

    settings = _settings()
    _, sessions = _database()
    with sessions() as session:
        try:
            chosen = _chosen_version(session, settings, version)
            existing = [d for d in ("intents", "persona_styles") if (directory / d).exists()]
            if existing:
                _fail(DraftbotError(f"{directory}: {', '.join(existing)} already exists; export into an empty folder"))
            files_of(chosen).write_to(directory)
        except DraftbotError as exc:
            _fail(exc)
        except OSError as exc:
            _fail(DraftbotError(f"{directory}: cannot write: {exc}"))
    out.print(f"version {chosen.number}: {len(chosen.files)} files written to {directory}", highlight=False)


@config_app.command("import")
def config_import(
    directory: Annotated[Path, typer.Argument(help="folder holding intents/ and persona_styles/")],
    note: Annotated[str, typer.Option(help="what changed and why (required)")] = "",
    author: Annotated[Optional[str], typer.Option(help="who publishes (default: your user name)")] = None,
    force: Annotated[bool, typer.Option("--force", help="publish even if it evaluates worse than the active version (never bypasses check errors or the opt-out/complaint/hand-off check)")] = False,
) -> None:
    """Publish the files under DIR as a new active version, after check and evaluation; files equal to the active version change nothing."""
    from bot.services.configuration import ConfigFiles, ensure_initial, publish
    from bot.wiring import system_clock

    if not note.strip():
        _fail(DraftbotError('--note is required: 请用 --note 写一句发布说明（改了什么、为什么改），例如 --note "新增开发票的说法"'))
    settings = _settings()
    engine, sessions = _database()
    with _disposing(engine), sessions() as session:
        try:
            current = ensure_initial(session, settings, system_clock())
            files = ConfigFiles.from_directory(directory)
            if files.digest == current.digest:
                out.print(f"没有变化：{directory} 的文件与线上版本 {current.number} 完全相同，没有发布新版本 "
                          f"(no changes: identical to active version {current.number})", highlight=False)
                return
            with _progress(quiet=False) as progress:
                progress.add_task("checking and evaluating (5-fold cross-validation)", total=None)
                result = publish(session, files, _author(author), note, system_clock(), force=force, settings=settings, action="import")
        except DraftbotError as exc:
            _refused(exc)
        except OSError as exc:
            _fail(DraftbotError(f"{directory}: cannot read: {exc}"))
    for warning in result.warnings:
        out.print(f"[yellow]warning[/]: {warning}", highlight=False)
    active = f"; active version was {result.active_accuracy:.1%}" if result.active_accuracy is not None else ""
    forced = " (forced)" if result.forced else ""
    out.print(f"published version {result.number}{forced}: accuracy {result.accuracy:.1%}{active}", highlight=False)


@config_app.command("list")
def config_list() -> None:
    """List configuration versions; * marks the active one."""
    from bot.services.configuration import active, ensure_initial, versions
    from bot.wiring import system_clock

    settings = _settings()
    _, sessions = _database()
    table = Table("version", "active", "author", "note", "created", "accuracy")
    with sessions() as session:
        try:
            current = ensure_initial(session, settings, system_clock())
        except DraftbotError as exc:
            _fail(exc)
        current = active(session) or current
        for row in versions(session):
            accuracy = (row.evaluation or {}).get("accuracy")
            table.add_row(
                str(row.number), "*" if row.id == current.id else "", row.author, row.note,
                _when(row.created_at, settings.timezone), f"{accuracy:.1%}" if accuracy is not None else "-",
            )
    _print_listing(table)


@config_app.command("rollback")
def config_rollback(
    number: Annotated[int, typer.Argument(help="the version to make active again")],
    author: Annotated[Optional[str], typer.Option(help="who rolls back (default: your user name)")] = None,
) -> None:
    """Make an earlier version active again; running instances switch within seconds."""
    from bot.services.configuration import ensure_initial, rollback
    from bot.wiring import system_clock

    settings = _settings()
    engine, sessions = _database()
    with _disposing(engine), sessions() as session:
        try:
            ensure_initial(session, settings, system_clock())
            rollback(session, number, _author(author), system_clock(), settings=settings)
        except DraftbotError as exc:
            _refused(exc)
    out.print(f"version {number} is active", highlight=False)
