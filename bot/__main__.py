"""`python -m bot` runs the draftbot command."""

from bot.cli import app

app()
