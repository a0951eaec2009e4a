"""Security headers on every response: a Content-Security-Policy per kind of page, nosniff and a referrer policy.

Every page of draftbot loads its scripts and styles from its own origin, with no inline code, so the
policy allows 'self' only. Two places differ:

* the chat sidebar (`/sidebar...`) loads WeCom's JS-SDK and runs inside WeCom's client, so it may load
  those scripts and be framed by WeCom's web client (`frame-ancestors`), never by another site;
* the API docs (`/docs`, `/redoc`) are FastAPI's Swagger UI and ReDoc pages, which load from a CDN and
  start with an inline script.

A header a route sets itself is kept.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api.sidebar.pages import SDK_SCRIPTS

WECOM_FRAMES = "https://work.weixin.qq.com https://*.work.weixin.qq.com"
WECOM_ORIGINS = " ".join(sorted({f"{urlsplit(src).scheme}://{urlsplit(src).netloc}" for src in SDK_SCRIPTS}))
DOCS_CDN = "https://cdn.jsdelivr.net"

DEFAULT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SIDEBAR_POLICY = (
    f"default-src 'self'; script-src 'self' {WECOM_ORIGINS}; style-src 'self'; "
    f"img-src 'self' data: https://*.qq.com https://*.qpic.cn; connect-src 'self' https://*.qq.com; "
    f"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self' {WECOM_FRAMES}"
)
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; style-src 'self' 'unsafe-inline' {DOCS_CDN} "
    f"https://fonts.googleapis.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    f"font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    f"base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def policy_for(path: str) -> tuple[str, str]:
    """The Content-Security-Policy and Referrer-Policy for a request path."""
    if path == "/sidebar" or path.startswith("/sidebar/"):
        return SIDEBAR_POLICY, "strict-origin-when-cross-origin"
    if path in DOCS_PATHS or path.startswith("/docs/"):
        return DOCS_POLICY, "same-origin"
    return DEFAULT_POLICY, "same-origin"


class SecurityHeadersMiddleware:
    """ASGI middleware adding Content-Security-Policy, X-Content-Type-Options and Referrer-Policy to responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp, referrer = policy_for(scope["path"])
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", referrer.encode()),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
