"""Signing in to the sidebar: signed cookies, the session and its CSRF token, and the user dependencies.

Cookies are signed with HMAC-SHA256 under a key derived from the app secret (so sessions survive
restarts and work on every instance); without a secret the key is random per process, but then the
sidebar answers 503 anyway. POSTs also need the `X-CSRF-Token` header, a MAC of the session id that
the page gets when it is rendered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response

from bot.api.deps import RuntimeDep
from bot.config import Settings
from bot.wiring import Runtime

SESSION_COOKIE = "draftbot_sidebar"
STATE_COOKIE = "draftbot_sidebar_state"
SESSION_SECONDS = 12 * 3600
STATE_SECONDS = 600
CSRF_HEADER = "X-CSRF-Token"
NOT_CONFIGURED = (
    "聊天工具栏不可用：没有配置企业微信 API（需要 DRAFTBOT_WECOM_CORP_ID 和 DRAFTBOT_WECOM_SECRET）。\n"
)
_PROCESS_KEY = secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSigner:
    """Expiring values as `base64url(JSON).base64url(HMAC-SHA256(purpose|body))`; a purpose cannot stand in for another."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def for_settings(cls, settings: Settings) -> "CookieSigner":
        """Derived from the app secret (stable across restarts and instances), else random for this process."""
        if not settings.wecom_secret:
            return cls(_PROCESS_KEY)
        label = f"draftbot sidebar cookies v1|{settings.wecom_corp_id}".encode()
        return cls(hmac.new(settings.wecom_secret.encode(), label, hashlib.sha256).digest())

    def mac(self, purpose: str, value: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}|{value}".encode(), hashlib.sha256).digest())

    def dumps(self, purpose: str, data: dict, *, now: float, max_age: int) -> str:
        body = _b64(json.dumps({**data, "exp": int(now) + max_age}, separators=(",", ":")).encode())
        return f"{body}.{self.mac(purpose, body)}"

    def loads(self, purpose: str, value: str | None, *, now: float) -> dict | None:
        """The data, or None when the value is missing, forged, for another purpose or expired."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac.encode(), self.mac(purpose, body).encode()):
            return None
        try:
            data = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] <= now:
            return None
        return data


def cookie_signer(runtime: Runtime) -> CookieSigner:
    """The cookie signer for this service's settings."""
    return CookieSigner.for_settings(runtime.settings)


def timestamp(runtime: Runtime) -> float:
    """Now on the service's clock, in seconds (cookie expiry)."""
    return runtime.clock().timestamp()


def cookie_path(request: Request) -> str:
    """/sidebar under the app's root path: the sidebar's cookies go nowhere else."""
    return f"{request.scope.get('root_path', '').rstrip('/')}/sidebar"


def is_secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.public_url.startswith("https://")


def set_cookie(response: Response, request: Request, settings: Settings, name: str, value: str, max_age: int) -> None:
    """A signed cookie for the sidebar only: HttpOnly, SameSite=Lax, Secure over https."""
    response.set_cookie(
        name, value, max_age=max_age, path=cookie_path(request), httponly=True, samesite="lax",
        secure=is_secure(request, settings),
    )


def base_urls(request: Request, settings: Settings) -> list[str]:
    """Where the service is reached: the configured public URL first, then what this request used."""
    here = str(request.base_url).rstrip("/")
    public = settings.public_url.rstrip("/")
    return [public, here] if public and public != here else [here]


@dataclass(frozen=True)
class SidebarUser:
    """The staff member signed in to the sidebar, and their session (the CSRF token is a MAC of it)."""

    user_id: str
    session_id: str


def get_sidebar_user(request: Request, runtime: RuntimeDep) -> SidebarUser:
    """The signed-in user from the session cookie; 401 without a valid session."""
    if not runtime.settings.api_configured or runtime.app_client is None:
        raise HTTPException(503, NOT_CONFIGURED.strip())
    data = cookie_signer(runtime).loads("session", request.cookies.get(SESSION_COOKIE), now=timestamp(runtime))
    if data is None or not isinstance(data.get("uid"), str) or not isinstance(data.get("sid"), str):
        raise HTTPException(401, "没有登录或登录已过期：请关闭侧边栏后重新打开")
    return SidebarUser(user_id=data["uid"], session_id=data["sid"])


SidebarUserDep = Annotated[SidebarUser, Depends(get_sidebar_user)]


def get_sidebar_writer(request: Request, runtime: RuntimeDep, user: SidebarUserDep) -> SidebarUser:
    """The signed-in user, for a POST that carries the page's CSRF token."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), cookie_signer(runtime).mac("csrf", user.session_id).encode()):
        raise HTTPException(403, "页面已过期：请关闭侧边栏后重新打开")
    return user


SidebarWriterDep = Annotated[SidebarUser, Depends(get_sidebar_writer)]

