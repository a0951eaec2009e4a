"""The sidebar's JS-SDK configuration (wx.agentConfig): the signature over the app's jsapi_ticket."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Request

from bot.api.deps import RuntimeDep
from bot.api.sidebar.auth import SidebarUserDep, base_urls
from bot.config import Settings
from bot.errors import WeComError
from bot.wecom.client import WeComClient

router = APIRouter(tags=["sidebar"])

JS_API_LIST = ("getCurExternalContact", "getCurExternalChat", "sendChatMessage")


def jsapi_signature(*, ticket: str, noncestr: str, timestamp: int, url: str) -> str:
    """WeCom's JS-SDK signature: sha1 of "jsapi_ticket=…&noncestr=…&timestamp=…&url=…" (url without its #fragment)."""
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(plain.encode("utf-8")).hexdigest()


class AgentTicket:
    """The app's agent_config jsapi_ticket, cached until shortly before it expires (WeCom limits how often it may be fetched)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ticket: str | None = None
        self._until = 0.0

    def get(self, client: WeComClient) -> str:
        with self._lock:
            if self._ticket and time.monotonic() < self._until:
                return self._ticket
            answer = client.get("ticket/get", {"type": "agent_config"})
            ticket = answer.get("ticket")
            if not ticket or not isinstance(ticket, str):
                raise WeComError(None, "WeCom answered ticket/get without a ticket")
            expires_in = int(answer.get("expires_in") or 7200)
            self._ticket, self._until = ticket, time.monotonic() + max(60, expires_in - 300)
            return ticket


def _agent_ticket(request: Request) -> AgentTicket:
    cache = getattr(request.app.state, "sidebar_agent_ticket", None)
    if cache is None:
        cache = request.app.state.sidebar_agent_ticket = AgentTicket()
    return cache


def _is_sidebar_url(url: str, request: Request, settings: Settings) -> bool:
    page = urlsplit(url)
    for base in base_urls(request, settings):
        expected = urlsplit(base + "/sidebar")
        if (page.scheme, page.netloc.lower(), page.path) == (expected.scheme, expected.netloc.lower(), expected.path):
            return True
    return False


@router.get("/sidebar/api/jsapi-config", tags=["sidebar"])
def sidebar_jsapi_config(
    request: Request, runtime: RuntimeDep, user: SidebarUserDep,
    url: str = Query(min_length=1, max_length=2048, description="the page's URL (location.href without #…)"),
) -> dict:
    """What wx.agentConfig needs for this page: corpid, agentid, timestamp, nonceStr, signature."""
    settings = runtime.settings
    if not settings.wecom_agent_id:
        raise HTTPException(503, "没有配置 DRAFTBOT_WECOM_AGENT_ID：企业微信 JS-SDK 需要应用的 AgentId")
    client = runtime.app_client
    assert client is not None, "SidebarUserDep answers 503 without the WeCom API"
    url = url.split("#", 1)[0]
    if not _is_sidebar_url(url, request, settings):
        raise HTTPException(400, "url 必须是本服务的 /sidebar 页面")
    try:
        ticket = _agent_ticket(request).get(client)
    except WeComError as exc:
        raise HTTPException(502, f"没能从企业微信取得 JS-SDK 票据：{exc}") from None
    timestamp = int(time.time())
    nonce = secrets.token_urlsafe(12)
    return {
        "corpid": settings.wecom_corp_id,
        "agentid": settings.wecom_agent_id,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": jsapi_signature(ticket=ticket, noncestr=nonce, timestamp=timestamp, url=url),
        "jsApiList": list(JS_API_LIST),
    }
