"""draftbot db, token, account and team: the database, API tokens, console sign-ins and supervisors' teams.

Every change is an audit event with surface `cli`, by the operating-system user who ran the command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from bot.cli.common import (
    _database,
    _fail,
    _print_listing,
    _settings,
    _when,
    account_app,
    app,
    db_app,
    out,
    token_app,
)
from bot.errors import DraftbotError

if TYPE_CHECKING:
    pass

team_app = typer.Typer(help="Supervisors' teams: the staff whose drafts, audit trail and dashboard a supervisor sees.",
                       no_args_is_help=True)
app.add_typer(team_app, name="team")

Team = Annotated[Optional[str], typer.Option(help="a supervisor's team: comma-separated staff userids, e.g. a,b")]


def operator() -> str:
    """Who runs the command, as the audit trail names them (the operating-system user)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _team(team: str | None) -> list[str] | None:
    from bot.services.access import parse_team

    try:
        return parse_team(team) if team is not None else None
    except DraftbotError as exc:
        _fail(exc)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    engine, _ = _database()
    out.print(f"database is up to date: {engine.url.render_as_string(hide_password=True)}", highlight=False)


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="the staff member's WeCom userid")],
    role: Annotated[str, typer.Option(help="staff, supervisor, admin, or intake (a pipeline that only posts customer messages)")] = "staff",
    team: Team = None,
) -> None:
    """Create a token; the token itself is printed on the last line, once."""
    from bot.services.access import create_token
    from bot.wiring import system_clock

    members = _team(team)
    _, sessions = _database()
    with sessions() as session:
        try:
            token_id, token = create_token(session, user_id=user, role=role, team=members, actor=operator(),
                                           surface="cli", now=system_clock())
        except ValueError as exc:
            _fail(DraftbotError(str(exc)))
        session.commit()
    out.print(f"token {token_id} for {user} ({role}); keep it secret, it is not shown again:", highlight=False)
    print(token)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never the tokens themselves)."""
    from bot.db.tokens import list_tokens

    zone = _settings().timezone
    _, sessions = _database()
    table = Table("id", "user", "role", "created", "last used", "revoked")
    with sessions() as session:
        for row in list_tokens(session):
            table.add_row(str(row.id), row.user_id, row.role, _when(row.created_at, zone),
                          _when(row.last_used_at, zone), _when(row.revoked_at, zone))
    _print_listing(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="the id shown by `draftbot token list`")]) -> None:
    """Revoke a token by id."""
    from bot.services.access import revoke_token
    from bot.wiring import system_clock

    _, sessions = _database()
    with sessions() as session:
        if not revoke_token(session, token_id, actor=operator(), surface="cli", now=system_clock()):
            _fail(DraftbotError(f"no live token with id {token_id}"))
        session.commit()
    out.print(f"token {token_id} revoked", highlight=False)


@account_app.command("create")
def account_create(
    user: Annotated[str, typer.Option(help="the person's WeCom userid")],
    role: Annotated[str, typer.Option(help="admin (the whole console), supervisor (their team's 概览 and 操作记录) or staff")] = "admin",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from the first line of stdin")] = False,
    team: Team = None,
) -> None:
    """Create a console account, or set a new role and password for an existing one (ends its sessions)."""
    import sys

    from bot.services.access import save_account
    from bot.wiring import system_clock

    members = _team(team)

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码（输入时不显示）", hide_input=True, confirmation_prompt="再输入一次密码")
    _, sessions = _database()
    with sessions() as session:
        try:
            created = save_account(session, user_id=user, role=role, password=password, team=members, actor=operator(),
                                   surface="cli", now=system_clock())
        except ValueError as exc:
            _fail(DraftbotError(str(exc)))
        session.commit()
    out.print(f"account {user.strip()} ({role}) {'created' if created else 'updated'}", highlight=False)


@account_app.command("list")
def account_list() -> None:
    """List console accounts."""
    from bot.db.accounts import list_accounts

    zone = _settings().timezone
    _, sessions = _database()
    table = Table("user", "role", "created", "disabled")
    with sessions() as session:
        for row in list_accounts(session):
            table.add_row(row.user_id, row.role, _when(row.created_at, zone), _when(row.disabled_at, zone))
    _print_listing(table)


@account_app.command("disable")
def account_disable(user: Annotated[str, typer.Argument(help="the userid")]) -> None:
    """Disable an account and sign it out everywhere."""
    from bot.services.access import disable_account
    from bot.wiring import system_clock

    _, sessions = _database()
    with sessions() as session:
        if not disable_account(session, user, actor=operator(), surface="cli", now=system_clock()):
            _fail(DraftbotError(f"no live account {user!r}"))
        session.commit()
    out.print(f"account {user} disabled", highlight=False)


@team_app.command("show")
def team_show(supervisor: Annotated[Optional[str], typer.Argument(help="one supervisor's userid; every team when left out")] = None) -> None:
    """Show supervisors' teams."""
    from bot.services.access import team_of, teams

    _, sessions = _database()
    with sessions() as session:
        found = {supervisor: sorted(team_of(session, supervisor))} if supervisor else teams(session)
    table = Table("supervisor", "team")
    for lead, members in found.items():
        table.add_row(lead, ", ".join(members) or "-")
    _print_listing(table)


@team_app.command("set")
def team_set(
    supervisor: Annotated[str, typer.Argument(help="the supervisor's userid")],
    team: Annotated[str, typer.Argument(help="comma-separated staff userids (an empty string empties the team)")],
) -> None:
    """Replace a supervisor's team (audited)."""
    from bot.services.access import set_team
    from bot.wiring import system_clock

    members = _team(team) or []
    _, sessions = _database()
    with sessions() as session:
        try:
            saved = set_team(session, supervisor, members, actor=operator(), role="admin", surface="cli", now=system_clock())
        except DraftbotError as exc:
            _fail(exc)
        session.commit()
    out.print(f"team of {supervisor.strip()}: {', '.join(saved) or '(empty)'}", highlight=False)
