"""A deadline for request bodies: a client that sends its headers and then dribbles (or withholds) the body
gets 408 and its connection is closed, instead of holding a worker and a connection for as long as it likes.

The deadline counts from the moment the request reaches the app and covers the whole body, so sending one
byte a second does not keep a request alive. Once the body is complete, `receive` is passed through as it
is (waiting for a disconnect is not a slow upload). A response sent before the body was read (a refusal
that did not need it) closes the connection, so the unread rest cannot keep it open either.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.errors import DraftbotError

REASON = "请求体在 {seconds:g} 秒内没有传完，连接已关闭；请重新发送"


def _has_body(scope: Scope) -> bool:
    """True when the request announces a body (a Content-Length above 0, or chunked)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


class BodyTimedOut(DraftbotError, HTTPException):
    """The request body did not arrive in time (raised from `receive`, answered 408 with Connection: close)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, REASON.format(seconds=seconds), headers={"Connection": "close"})


class BodyTimeoutMiddleware:
    """ASGI middleware: every `http.request` message must arrive before the request's body deadline."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = not _has_body(scope)
        started = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimedOut(self.seconds) from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                if not body_done and all(name.lower() != b"connection" for name, _ in headers):
                    # answered before the body was read: the unread rest must not hold the connection
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except BodyTimedOut as exc:  # raised where no exception handler answered it
            if started:
                raise
            response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
            await response(scope, receive, send)
