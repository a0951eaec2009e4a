"""What every draftbot command shares: the Typer apps, the consoles, settings, the database, failures."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table

from bot.config import Settings, get_settings
from bot.errors import DraftbotError

if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from bot.db.models import ConfigVersion as StoredVersion
    from bot.services.configuration import ConfigFiles

app = typer.Typer(help="draftbot: persona-consistent reply drafts for WeCom, sent only after a human approves.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for the staff API.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(token_app, name="token")
account_app = typer.Typer(help="Console sign-ins (/admin): a userid, a role and a password.", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(db_app, name="db")
config_app = typer.Typer(help="Configuration versions: intents and persona styles published in the database.", no_args_is_help=True)
app.add_typer(config_app, name="config")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    try:
        return get_settings()
    except DraftbotError as exc:
        _fail(exc)


def _when(moment: datetime | None, zone: str) -> str:
    """A stored time in a listing, on the brand's clock and named: '2026-12-04 18:02（北京时间）'; '-' for none."""
    from bot.timefmt import local_time

    return local_time(moment, zone) if moment is not None else "-"


def _print_listing(table: Table) -> None:
    """Print a listing: fitted to a terminal; piped, one line per row (a time is never split for grep or a script)."""
    if out.is_terminal:
        out.print(table)
    else:
        Console(file=out.file, width=max(out.width, 240), soft_wrap=True).print(table)


def _fail(exc: Exception) -> NoReturn:
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(2)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


ConfigVersion = Annotated[
    Optional[str],
    typer.Option("--config-version", help="use a configuration version from the database (a number, or 'active') instead of the folders"),
]


def _chosen_version(session: Session, settings: Settings, version: str | int | None) -> StoredVersion:
    """The configuration version asked for (None or 'active': the active one); fails with a message if there is none."""
    from bot.services.configuration import ensure_initial, get_version
    from bot.wiring import system_clock

    current = ensure_initial(session, settings, system_clock())  # the active version
    if version is None or version == "active":
        return current
    try:
        number = int(version)
    except ValueError:
        _fail(DraftbotError(f"--config-version: {version!r} is neither a version number nor 'active'"))
    chosen = get_version(session, number)
    if chosen is None:
        _fail(DraftbotError(f"no configuration version {number}"))
    return chosen


def _config_files(settings: Settings, version: str | None) -> tuple[ConfigFiles, str]:
    """The configuration to use, in memory, and where it came from: the folders, or a version from the database."""
    from bot.services.configuration import ConfigFiles, files_of

    if version is None:
        try:
            return ConfigFiles.from_directories(settings.intents_dir, settings.personas_dir), str(settings.intents_dir)
        except DraftbotError as exc:
            _fail(exc)
    _, sessions = _database()
    with sessions() as session:
        try:
            chosen = _chosen_version(session, settings, version)
            files = files_of(chosen)
        except DraftbotError as exc:
            _fail(exc)
    err.print(f"configuration version {chosen.number} from the database", highlight=False)
    return files, f"configuration version {chosen.number}"


def _database() -> tuple[Engine, sessionmaker[Session]]:
    from bot.wiring import open_database

    settings = _settings()
    try:
        return open_database(settings)
    except DraftbotError as exc:
        _fail(exc)
    except Exception as exc:  # a database that cannot be reached
        _fail(DraftbotError(f"cannot open the database {settings.database_url}: {type(exc).__name__}: {exc}"))


def _progress(*, quiet: bool) -> Progress:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True, disable=quiet)
