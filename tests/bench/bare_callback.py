"""The bare baseline for the callback benchmark: verify, decrypt and parse a WeCom callback, nothing else.

POST /wecom/callback does exactly what CallbackCrypto.open does (body cap, DTD check, replay window,
signature, AES decrypt, XML parse) with the test credentials, then answers 200 with an empty body.
No database, no metrics, no per-request logging, no worker thread.

Run it the way `draftbot serve` runs the real app (one worker; uvicorn's default "auto" loop and http,
i.e. uvloop + httptools when installed; access log off; log level info), from the repository root:

    python -m uvicorn tests.bench.bare_callback:app --host 127.0.0.1 --port 8765 --no-access-log --log-level info
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from bot.api.callback import _read_capped  # the real endpoint's body reading, so both read alike
from bot.wecom.callback import CallbackCrypto, CallbackRefused
from tests.factories import AES_KEY, CORP_ID, TOKEN

REPLAY_WINDOW = 600  # the default of DRAFTBOT_REPLAY_WINDOW_SECONDS

crypto = CallbackCrypto(token=TOKEN, aes_key=AES_KEY, corp_id=CORP_ID, replay_window=REPLAY_WINDOW)
app = FastAPI(title="bare callback")


@app.get("/healthz")
def healthz() -> Response:
    return Response(status_code=200)


@app.post("/wecom/callback")
async def receive(request: Request) -> Response:
    """Same shape as bot.api.callback.receive up to open(); then 200 empty."""
    try:
        body = await _read_capped(request)
        params = request.query_params
        crypto.open(
            body=body, msg_signature=params.get("msg_signature", ""), timestamp=params.get("timestamp", ""),
            nonce=params.get("nonce", ""), now=time.time(),
        )
    except CallbackRefused as refused:
        return PlainTextResponse(refused.reason + "\n", status_code=refused.status)
    return Response(status_code=200)
