"""The draftbot command: serve, worker, check, eval, draft, token, account, team, db, config, audit. Thin over the same parts the app uses.

    common     the Typer apps, consoles, settings, the database, failures
    serving    serve, worker
    drafting   check, draft, eval
    access     db, token, account, team
    audit      audit (list, --json), audit verify
    versions   config export / import / list / rollback
    customers  customer export / delete (personal data)
"""

from bot.cli import access, audit, drafting, serving, versions  # each registers its commands
from bot.cli import customers  # registers `draftbot customer`
from bot.cli.common import app

__all__ = ["app"]
