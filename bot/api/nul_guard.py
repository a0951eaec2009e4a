"""Refuse a request whose path or query holds U+0000: no database text column can store it, so no route should see it."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

REASON = "请求的地址里有空字符（U+0000），无法处理"


class NulGuardMiddleware:
    """ASGI middleware: 400 with a Chinese reason for `%00` (or a raw NUL) in the path or the query string."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            body = json.dumps({"detail": REASON}, ensure_ascii=False).encode()
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    raw = (scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")) + b"?" + scope.get("query_string", b"")
    return b"\x00" in raw or b"%00" in raw.lower() or "\x00" in scope.get("path", "")
