"""The admin console (/admin): server-rendered pages where admins tune intents and persona styles."""

from __future__ import annotations

from fastapi import FastAPI

from bot.api.admin import answers, audit, auth, customers, evaluate, insights, intents, personas, versions


def install(app: FastAPI) -> None:
    auth.install_handlers(app)
    for module in (auth, insights, intents, answers, personas, evaluate, versions, audit, customers):
        app.include_router(module.router)
