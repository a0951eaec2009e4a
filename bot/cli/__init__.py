"""The draftbot command: serve, worker, check, eval, draft, token, account, db, config. Thin over the same parts the app uses.

    common     the Typer apps, consoles, settings, the database, failures
    serving    serve, worker
    drafting   check, draft, eval
    access     db, token, account
    versions   config export / import / list / rollback
    customers  customer export / delete (personal data)
"""

from bot.cli import access, drafting, serving, versions  # each registers its commands
from bot.cli import customers  # registers `draftbot customer`
from bot.cli.common import app

__all__ = ["app"]
