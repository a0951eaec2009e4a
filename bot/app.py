"""The application factory: create_app(settings) builds the runtime, mounts the routes, runs the worker.

The worker is a thread of this process, or with DRAFTBOT_WORKER=process (what `draftbot serve` uses)
a child process that lives exactly as long as the app (see bot/worker/process.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.api import audit, callback, customers, demo, demo_orders, drafts, ops
from bot.api import admin, errors, sidebar
from bot.api.body_timeout import BodyTimeoutMiddleware
from bot.api.errors import error_responses
from bot.api.nul_guard import NulGuardMiddleware
from bot.api.security_headers import SecurityHeadersMiddleware
from bot.config import Settings, get_settings
from bot.wiring import Clock, Runtime, system_clock

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

    docs = settings.docs  # off: /docs, /redoc and /openapi.json are 404
    app = FastAPI(title="draftbot", version="0.1.0", lifespan=lifespan, docs_url="/docs" if docs else None,
                  redoc_url="/redoc" if docs else None, openapi_url="/openapi.json" if docs else None,
                  dependencies=[Depends(errors.check_path_integers)])
    app.state.runtime = runtime
    errors.install(app)
    callback.add_routes(app)  # first: the route WeCom calls at high rates
    callback_refusals(app)
    app.include_router(drafts.router, responses=error_responses(401, 403, 404, 408, 409, 422))
    app.include_router(customers.router, responses=error_responses(401, 404, 408, 422))
    app.include_router(audit.router, responses=error_responses(401, 403, 408, 422))
    app.include_router(ops.router)
    if settings.metrics:  # off: /metrics is 404
        app.include_router(ops.metrics_router)
    app.include_router(sidebar.router, responses=error_responses(400, 401, 403, 404, 408, 409, 422, 502, 503))
    admin.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")  # the console's and the demo's files
    if settings.demo_enabled:
        app.include_router(demo.router, responses=error_responses(404, 408, 409, 422))
        app.include_router(demo_orders.router, responses=error_responses(404, 422))
    app.add_middleware(BodyTimeoutMiddleware, seconds=settings.body_timeout_seconds)
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.trusted_proxies:  # else X-Forwarded-For is never believed: the peer's address is the client's
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app


def callback_refusals(app: FastAPI) -> None:
    """Document the callback's plain-text refusals in the OpenAPI schema."""
    text = {"text/plain": {"schema": {"type": "string"}}}
    statuses = {"GET": (400, 403, 503), "POST": (400, 403, 408, 413, 503)}
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path == "/wecom/callback" and route.methods:
            for status in statuses[next(iter(route.methods))]:
                route.responses[status] = {"description": errors.MEANINGS[status], "content": text}
