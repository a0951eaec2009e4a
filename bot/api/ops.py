"""Operations: health, and Prometheus metrics (`metrics_router`, left out when DRAFTBOT_METRICS is off)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from bot.api.deps import RuntimeDep
from bot.services.archive import archive_health
from bot.services.configuration import active
from bot.db.queue import pending_count

router = APIRouter(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"description": "数据库没有应答", "content": {"application/json": {"schema": {"type": "object"}}}}})
def healthz(runtime: RuntimeDep) -> JSONResponse:
    """200 when the database answers; also says what is configured."""
    try:
        with runtime.sessions() as session:
            session.execute(text("SELECT 1"))
            pending = pending_count(session)
            version = active(session)
            archive = archive_health(session, now=runtime.clock()) if runtime.settings.archive_configured else None
    except Exception as exc:
        return JSONResponse({"status": "error", "database": f"{type(exc).__name__}"}, status_code=503)
    return JSONResponse(
        {
            "status": "ok",
            "database": runtime.engine.dialect.name,
            "intents": len(runtime.pipeline.intents),
            "personas": runtime.pipeline.book.names(),
            "wecom_callback": runtime.crypto is not None,
            "wecom_kf": runtime.kf_client is not None,
            "jobs_pending": pending,
            "config_version": version.number if version else None,
            "wecom_archive": archive is not None,
            **({"archive": archive, "problems": archive["problems"]} if archive is not None else {}),
        }
    )


@metrics_router.get("/metrics", response_class=Response,
                    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
def metrics(runtime: RuntimeDep) -> Response:
    """Counters and gauges in Prometheus' text format."""
    with runtime.sessions() as session:
        runtime.metrics.queue_depth.set(pending_count(session))
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
