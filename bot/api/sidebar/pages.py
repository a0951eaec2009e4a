"""The sidebar's pages: WeCom OAuth sign-in, the page itself, and its script and style.

`/sidebar` without a session redirects to WeCom's web OAuth (`snsapi_base`) with a random `state`
kept in a short-lived signed cookie; `/sidebar/auth` checks the state, turns the code into a userid
with `auth/getuserinfo` and sets the signed session cookie. The page loads WeCom's JS-SDK
(`SDK_SCRIPTS`) unless `?sdk=0` is given: that is for tests, which provide a stand-in `wx`, and for
looking at the page in a plain browser (it then says it needs WeCom).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response

from bot.api.deps import RuntimeDep
from bot.api.sidebar.auth import (
    NOT_CONFIGURED,
    SESSION_COOKIE,
    SESSION_SECONDS,
    STATE_COOKIE,
    STATE_SECONDS,
    base_urls,
    cookie_path,
    cookie_signer,
    is_secure,
    set_cookie,
    timestamp,
)
from bot.errors import WeComError
from bot.timefmt import zone_label
from bot.web import STATIC, templates

log = logging.getLogger(__name__)
router = APIRouter(tags=["sidebar"])

OAUTH_AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
SDK_SCRIPTS = (
    "https://res.wx.qq.com/open/js/jweixin-1.2.0.js",
    "https://open.work.weixin.qq.com/wwopen/js/jwxwork-1.0.0.js",
)
ASSETS = {  # the page's script and style, and what it shares with the demo page (common.*)
    "common.js": "text/javascript; charset=utf-8", "common.css": "text/css; charset=utf-8",
    "sidebar.js": "text/javascript; charset=utf-8", "sidebar.css": "text/css; charset=utf-8",
}


def oauth_url(*, corp_id: str, redirect_uri: str, state: str, agent_id: str = "") -> str:
    """WeCom's web OAuth URL (snsapi_base: the userid only, no consent screen)."""
    params = {"appid": corp_id, "redirect_uri": redirect_uri, "response_type": "code", "scope": "snsapi_base", "state": state}
    if agent_id:
        params["agentid"] = agent_id  # recommended by WeCom for apps opened from the chat toolbar
    return f"{OAUTH_AUTHORIZE}?{urlencode(params, quote_via=quote)}#wechat_redirect"


def _problem(request: Request, status: int, title: str, detail: str, *, retry: bool = True) -> HTMLResponse:
    """A short Chinese error page (never a stack trace)."""
    return templates.TemplateResponse(
        request, "sidebar.html",
        {"problem": {"title": title, "detail": detail, "retry": retry}, "assets": _assets(request),
         "home": cookie_path(request)},
        status_code=status,
    )


def _assets(request: Request) -> dict[str, str]:
    root = request.scope.get("root_path", "").rstrip("/")
    urls = {}
    for name in ASSETS:
        try:
            version = int((STATIC / name).stat().st_mtime)
        except OSError:
            version = 0
        urls[name] = f"{root}/sidebar/assets/{name}?v={version}"
    return urls


def _next_path(request: Request) -> str:
    """Where to come back to after signing in: this page with its query (e.g. ?sdk=0)."""
    query = request.url.query
    return cookie_path(request) + (f"?{query}" if query else "")


@router.get("/sidebar", response_class=HTMLResponse, include_in_schema=False)
def sidebar_page(request: Request, runtime: RuntimeDep, sdk: str | None = Query(None, max_length=8)) -> Response:
    """The page; without a session, a detour through WeCom's OAuth first."""
    settings = runtime.settings
    if not settings.api_configured or runtime.app_client is None:
        return PlainTextResponse(NOT_CONFIGURED, status_code=503)
    signer = cookie_signer(runtime)
    session = signer.loads("session", request.cookies.get(SESSION_COOKIE), now=timestamp(runtime))
    if session is None:
        state = secrets.token_urlsafe(16)
        redirect_uri = base_urls(request, settings)[0] + "/sidebar/auth"
        redirect = RedirectResponse(
            oauth_url(corp_id=settings.wecom_corp_id, redirect_uri=redirect_uri, state=state, agent_id=settings.wecom_agent_id),
            status_code=302,
        )
        cookie = signer.dumps("state", {"state": state, "next": _next_path(request)}, now=timestamp(runtime), max_age=STATE_SECONDS)
        set_cookie(redirect, request, settings, STATE_COOKIE, cookie, STATE_SECONDS)
        return redirect
    response = templates.TemplateResponse(
        request, "sidebar.html",
        {
            "problem": None,
            "user": session["uid"],
            "csrf": signer.mac("csrf", session["sid"]),
            "sdk": (sdk or "1").lower() not in ("0", "off", "false", "no"),
            "sdk_scripts": SDK_SCRIPTS,
            "assets": _assets(request),
            "timezone": settings.timezone,  # times on the page are the brand's (DRAFTBOT_TIMEZONE), not the browser's
            "zone_label": zone_label(settings.timezone, runtime.clock()),
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/sidebar/auth", response_class=HTMLResponse, include_in_schema=False)
def sidebar_auth(
    request: Request, runtime: RuntimeDep,
    code: str = Query("", max_length=512), state: str = Query("", max_length=128),
) -> Response:
    """WeCom's OAuth redirect: check the state, turn the code into a userid, start a session."""
    settings = runtime.settings
    if not settings.api_configured or runtime.app_client is None:
        return PlainTextResponse(NOT_CONFIGURED, status_code=503)
    signer = cookie_signer(runtime)
    remembered = signer.loads("state", request.cookies.get(STATE_COOKIE), now=timestamp(runtime))
    if remembered is None or not state or not hmac.compare_digest(str(remembered.get("state", "")).encode(), state.encode()):
        return _problem(request, 400, "登录没有完成",
                        "登录链接已失效或不是从本页发起的（可能超过了 10 分钟）。请关闭侧边栏后重新打开。")
    if not code:
        return _problem(request, 400, "登录没有完成", "企业微信没有返回登录凭证（code）。请关闭侧边栏后重新打开。")
    try:
        answer = runtime.app_client.get("auth/getuserinfo", {"code": code})
    except WeComError as exc:
        if exc.errcode is None or exc.errcode == -1:
            log.warning("sidebar sign-in: WeCom unreachable: %s", exc)
            return _problem(request, 502, "暂时连不上企业微信", "登录需要企业微信确认身份，但现在连不上企业微信服务器。请稍后重试。")
        log.info("sidebar sign-in refused by WeCom: %s", exc)
        return _problem(request, 401, "登录失败",
                        f"企业微信没有接受这次登录（错误码 {exc.errcode}：{exc.errmsg}）。登录凭证只能用一次且几分钟内有效，请重新打开侧边栏。")
    userid = answer.get("userid") or answer.get("UserId")
    if not userid or not isinstance(userid, str):
        return _problem(request, 403, "无法使用", "只有本企业的成员可以使用回复草稿侧边栏。", retry=False)
    response = RedirectResponse(str(remembered.get("next") or cookie_path(request)), status_code=303)
    value = signer.dumps("session", {"uid": userid, "sid": secrets.token_urlsafe(16)}, now=timestamp(runtime), max_age=SESSION_SECONDS)
    set_cookie(response, request, settings, SESSION_COOKIE, value, SESSION_SECONDS)
    response.delete_cookie(STATE_COOKIE, path=cookie_path(request), httponly=True, samesite="lax", secure=is_secure(request, settings))
    log.info("sidebar: %s signed in", userid)
    return response


@router.get("/sidebar/assets/{name}", include_in_schema=False)
def sidebar_asset(name: str) -> FileResponse:
    """The page's script and style (served here so the sidebar works without the demo's /static mount)."""
    if name not in ASSETS:
        raise HTTPException(404, f"no asset {name!r}")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


