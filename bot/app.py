"""The application factory: create_app(settings) builds the runtime, mounts the routes, runs the worker.

The worker is a thread of this process, or with DRAFTBOT_WORKER=process (what `draftbot serve` uses)
a child process that lives exactly as long as the app (see bot/worker_process.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.api import callback, customers, demo, drafts, ops
from bot.api import admin, sidebar
from bot.config import Settings, get_settings
from bot.runtime import Clock, Runtime, system_clock

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "web" / "static"


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """Build a draftbot app: data loaded, classifier trained, database migrated; the worker runs while it serves.

    DRAFTBOT_WORKER=auto means a thread here; `draftbot serve` turns auto into a process.
    """
    settings = settings or get_settings()
    runtime = Runtime.build(settings, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.worker.start(sole_instance=runtime.engine.dialect.name == "sqlite")
        log.info("draftbot ready: %d intents, personas %s", len(runtime.pipeline.intents), ", ".join(runtime.pipeline.book.names()))
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(title="draftbot", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    callback.add_routes(app)  # first: the route WeCom calls at high rates
    app.include_router(drafts.router)
    app.include_router(customers.router)
    app.include_router(ops.router)
    app.include_router(sidebar.router)
    admin.install(app)
    app.mount("/admin/static", StaticFiles(directory=STATIC), name="admin-static")
    if settings.demo:
        app.include_router(demo.router)
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
