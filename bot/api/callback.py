"""The WeCom callback: URL check (GET) and encrypted messages and events (POST), acknowledged at once."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from bot.api.deps import RuntimeDep
from bot.services.callbacks import Unstorable
from bot.wiring import Runtime
from bot.wecom.callback import MAX_BODY_BYTES, CallbackRefused

log = logging.getLogger(__name__)

NOT_CONFIGURED = (
    "WeCom callback is not configured: set DRAFTBOT_WECOM_CORP_ID, DRAFTBOT_WECOM_TOKEN and "
    "DRAFTBOT_WECOM_AES_KEY\n"
)


def _refuse(runtime: Runtime, refused: CallbackRefused, request: Request) -> PlainTextResponse:
    runtime.metrics.callbacks.labels(f"refused_{refused.status}").inc()
    log.warning("callback refused %s from %s: %s", refused.status, request.client.host if request.client else "?", refused.reason)
    return PlainTextResponse(refused.reason + "\n", status_code=refused.status)


def add_routes(app: FastAPI) -> None:
    """Add GET and POST /wecom/callback to the app itself, ahead of the other routes.

    Not through `include_router`: FastAPI matches the routes of an included router through extra
    layers that cost about a tenth of acknowledging a callback, and WeCom is the one caller that
    comes at high rates.
    """
    app.add_api_route("/wecom/callback", verify_url, methods=["GET"], response_class=PlainTextResponse)
    app.add_api_route("/wecom/callback", receive, methods=["POST"])


def verify_url(request: Request, runtime: RuntimeDep) -> Response:
    """WeCom's URL check: answer the decrypted echostr as the whole body."""
    if runtime.crypto is None:
        return PlainTextResponse(NOT_CONFIGURED, status_code=503)
    params = request.query_params
    try:
        echo = runtime.crypto.verify_url(
            msg_signature=params.get("msg_signature", ""), timestamp=params.get("timestamp", ""),
            nonce=params.get("nonce", ""), echostr=params.get("echostr", ""),
        )
    except CallbackRefused as refused:
        return _refuse(runtime, refused, request)
    runtime.metrics.callbacks.labels("url_verified").inc()
    return Response(content=echo.encode(), media_type="text/plain")


async def receive(request: Request) -> Response:
    """Verify, decrypt and durably store a callback, then answer 200 with an empty body.

    The runtime is read from the app state rather than through `RuntimeDep`: FastAPI runs a plain
    `def` dependency in its thread pool, a hand-off per request that cost this hot path more than
    the decryption. The store wakes the worker once per committed batch.
    """
    runtime: Runtime = request.app.state.runtime
    if runtime.crypto is None or runtime.callbacks is None:  # a serving runtime always has a callback store
        return PlainTextResponse(NOT_CONFIGURED, status_code=503)
    try:
        body = await _read_capped(request)
        params = request.query_params
        event = runtime.crypto.open(
            body=body, msg_signature=params.get("msg_signature", ""), timestamp=params.get("timestamp", ""),
            nonce=params.get("nonce", ""), now=runtime.clock().timestamp(),
        )
    except CallbackRefused as refused:
        return _refuse(runtime, refused, request)
    if event.kind == "unknown" or not event.dedupe_key:
        runtime.metrics.callbacks.labels("ignored").inc()
        log.info("callback of unknown type %s ignored", event.name)
        return Response(status_code=200)
    payload = {"kind": event.kind, "name": event.name, "fields": event.fields}
    try:
        added = await runtime.callbacks.store(event.dedupe_key, payload)
    except Unstorable as exc:
        return _refuse(runtime, CallbackRefused(400, f"callback cannot be stored: {exc}"), request)
    except Exception:
        log.exception("storing a callback failed")
        return _refuse(runtime, CallbackRefused(503, "callback not stored: the database is unavailable, retry later"), request)
    runtime.metrics.callbacks.labels("accepted" if added else "duplicate").inc()
    log.debug("callback %s %s %s", event.kind, event.name, "stored" if added else "is a retry: already stored")
    return Response(status_code=200)


async def _read_capped(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise CallbackRefused(413, f"body over {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise CallbackRefused(413, f"body over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
