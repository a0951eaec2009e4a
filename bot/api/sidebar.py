"""The chat sidebar (聊天工具栏): drafts for the customer of the open 1:1 chat, inserted by the staff member.

Staff's own one-to-one chats (channel "archive") reach draftbot through `POST /api/messages`; WeCom
pushes nothing for them and draftbot cannot send into them. The staff member opens this page from
the chat's toolbar; it finds the customer (JS-SDK `getCurExternalContact`), lists their drafts and
inserts the chosen text into the chat with `sendChatMessage`, which WeCom runs in the staff
member's own client.

Sign-in: WeCom web OAuth (`snsapi_base`): `/sidebar` without a session redirects to WeCom with a
random `state` kept in a short-lived signed cookie; `/sidebar/auth` checks the state, turns the code
into a userid with `auth/getuserinfo` and sets a signed session cookie (HttpOnly, SameSite=Lax,
Secure over https). Cookies are signed with HMAC-SHA256 under a key derived from the app secret
(so sessions survive restarts and work on every instance); without a secret the key is random per
process, but then the sidebar answers 503 anyway. POSTs also need the `X-CSRF-Token` header, a MAC
of the session id that the page gets when it is rendered.

When is the reply approved, and when is it recorded? (the order that keeps "nothing unapproved
reaches a customer")

* draftbot does not send archive replies: `sendChatMessage` runs in the staff member's own WeCom
  client, which draftbot can neither perform nor stop. The staff member's own tap on 插入, with the
  text in front of them, IS the human approval of that exact text.
* So the page records the approval only after `sendChatMessage` reports `sendChatMessage:ok`:
  `POST /sidebar/api/drafts/{id}/sent` with exactly the inserted text calls `bot.outbox.approve`
  (the same rules as the staff API: who may decide, legal transitions, sensitive words; refusals
  are 409 with the API's reason) and marks the draft sent (status, sent_at, an outgoing Message)
  in one transaction. Recording first would leave "approved" or "sent" records for texts the staff
  member then cancelled, that failed, or that never left a phone that went to sleep; recording
  after success means every recorded send is one WeCom confirmed.
* Because inserting is sending, the checks that merely delay or block a kf reply in the outbox
  must stop an insert before it happens: the page first asks `POST .../check` with the exact text,
  a dry run of the approval (same 403/404/409/422 answers) that also refuses when a
  don't-disturb check (opt-out, caps, quiet hours for promotions) or a sensitive word applies. It
  answers the text exactly as it will be recorded, and that is the text the page inserts. Only
  then does the page call `sendChatMessage`.
* If recording fails after a successful insert (the customer wrote again and the draft was
  superseded in between, the network dropped, the session expired), the message is already in the
  chat: the page says so plainly, never offers to insert it again, offers to retry the record, and
  the server logs a warning naming the draft and the staff member. A repeated record of the same
  insert is answered 200 without change.

The sidebar is the signed-in person's own chat, so everyone (admins included) is treated with the
staff rule: drafts assigned to them or to nobody, channel "archive" only (a kf draft for the same
external user goes out through the kf account and must never be inserted here as well).

The page loads WeCom's JS-SDK (`SDK_SCRIPTS`) unless `?sdk=0` is given: that is for tests, which
provide a stand-in `wx`, and for looking at the page in a plain browser (it then says it needs
WeCom).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import Session

from bot.api.deps import RuntimeDep, SessionDep
from bot.api.schemas import DraftOut, RejectIn
from bot.config import Settings
from bot.db.models import Draft, Message
from bot.drafts.lifecycle import OPEN, Status, check_may_decide, may_see, plan_approval
from bot.errors import NotAllowed, TransitionError, WeComError
from bot.outbox import announce, approve, reject
from bot.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["sidebar"])
WEB = Path(__file__).resolve().parent.parent / "web"
templates = Jinja2Templates(directory=str(WEB / "templates"))

OAUTH_AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
SDK_SCRIPTS = (
    "https://res.wx.qq.com/open/js/jweixin-1.2.0.js",
    "https://open.work.weixin.qq.com/wwopen/js/jwxwork-1.0.0.js",
)
JS_API_LIST = ("getCurExternalContact", "sendChatMessage")
SESSION_COOKIE = "draftbot_sidebar"
STATE_COOKIE = "draftbot_sidebar_state"
SESSION_SECONDS = 12 * 3600
STATE_SECONDS = 600
CSRF_HEADER = "X-CSRF-Token"
CHANNEL = "archive"
ROLE = "staff"  # see the module docstring: the sidebar is the person's own chat
SHOWN = (*OPEN, Status.APPROVED)  # approved archive drafts wait for someone to insert them
ASSETS = {"sidebar.js": "text/javascript; charset=utf-8", "sidebar.css": "text/css; charset=utf-8"}
NOT_CONFIGURED = (
    "聊天工具栏不可用：没有配置企业微信 API（需要 DRAFTBOT_WECOM_CORP_ID 和 DRAFTBOT_WECOM_SECRET）。\n"
)
_PROCESS_KEY = secrets.token_bytes(32)


# ---------------------------------------------------------------------------------------------
# signed cookies


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


def _signer(runtime: Runtime) -> CookieSigner:
    return CookieSigner.for_settings(runtime.settings)


def _now(runtime: Runtime) -> float:
    return runtime.clock().timestamp()


def _cookie_path(request: Request) -> str:
    return f"{request.scope.get('root_path', '').rstrip('/')}/sidebar"


def _secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.public_url.startswith("https://")


def _set_cookie(response: Response, request: Request, settings: Settings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=_cookie_path(request), httponly=True, samesite="lax",
        secure=_secure(request, settings),
    )


# ---------------------------------------------------------------------------------------------
# pages: sign-in and the sidebar itself


def _base_urls(request: Request, settings: Settings) -> list[str]:
    """Where the service is reached: the configured public URL first, then what this request used."""
    here = str(request.base_url).rstrip("/")
    public = settings.public_url.rstrip("/")
    return [public, here] if public and public != here else [here]


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
         "home": _cookie_path(request)},
        status_code=status,
    )


def _assets(request: Request) -> dict[str, str]:
    root = request.scope.get("root_path", "").rstrip("/")
    urls = {}
    for name in ASSETS:
        try:
            version = int((WEB / "static" / name).stat().st_mtime)
        except OSError:
            version = 0
        urls[name] = f"{root}/sidebar/assets/{name}?v={version}"
    return urls


def _next_path(request: Request) -> str:
    """Where to come back to after signing in: this page with its query (e.g. ?sdk=0)."""
    query = request.url.query
    return _cookie_path(request) + (f"?{query}" if query else "")


@router.get("/sidebar", response_class=HTMLResponse, include_in_schema=False)
def sidebar_page(request: Request, runtime: RuntimeDep, sdk: str | None = Query(None, max_length=8)) -> Response:
    """The page; without a session, a detour through WeCom's OAuth first."""
    settings = runtime.settings
    if not settings.api_configured or runtime.app_client is None:
        return PlainTextResponse(NOT_CONFIGURED, status_code=503)
    signer = _signer(runtime)
    session = signer.loads("session", request.cookies.get(SESSION_COOKIE), now=_now(runtime))
    if session is None:
        state = secrets.token_urlsafe(16)
        redirect_uri = _base_urls(request, settings)[0] + "/sidebar/auth"
        response = RedirectResponse(
            oauth_url(corp_id=settings.wecom_corp_id, redirect_uri=redirect_uri, state=state, agent_id=settings.wecom_agent_id),
            status_code=302,
        )
        cookie = signer.dumps("state", {"state": state, "next": _next_path(request)}, now=_now(runtime), max_age=STATE_SECONDS)
        _set_cookie(response, request, settings, STATE_COOKIE, cookie, STATE_SECONDS)
        return response
    response = templates.TemplateResponse(
        request, "sidebar.html",
        {
            "problem": None,
            "user": session["uid"],
            "csrf": signer.mac("csrf", session["sid"]),
            "sdk": (sdk or "1").lower() not in ("0", "off", "false", "no"),
            "sdk_scripts": SDK_SCRIPTS,
            "assets": _assets(request),
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
    signer = _signer(runtime)
    remembered = signer.loads("state", request.cookies.get(STATE_COOKIE), now=_now(runtime))
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
    response = RedirectResponse(str(remembered.get("next") or _cookie_path(request)), status_code=303)
    value = signer.dumps("session", {"uid": userid, "sid": secrets.token_urlsafe(16)}, now=_now(runtime), max_age=SESSION_SECONDS)
    _set_cookie(response, request, settings, SESSION_COOKIE, value, SESSION_SECONDS)
    response.delete_cookie(STATE_COOKIE, path=_cookie_path(request), httponly=True, samesite="lax", secure=_secure(request, settings))
    log.info("sidebar: %s signed in", userid)
    return response


@router.get("/sidebar/assets/{name}", include_in_schema=False)
def sidebar_asset(name: str) -> FileResponse:
    """The page's script and style (served here so the sidebar works without the demo's /static mount)."""
    if name not in ASSETS:
        raise HTTPException(404, f"no asset {name!r}")
    return FileResponse(WEB / "static" / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


# ---------------------------------------------------------------------------------------------
# the JSON API the page uses


@dataclass(frozen=True)
class SidebarUser:
    user_id: str
    session_id: str


def get_sidebar_user(request: Request, runtime: RuntimeDep) -> SidebarUser:
    if not runtime.settings.api_configured or runtime.app_client is None:
        raise HTTPException(503, NOT_CONFIGURED.strip())
    data = _signer(runtime).loads("session", request.cookies.get(SESSION_COOKIE), now=_now(runtime))
    if data is None or not isinstance(data.get("uid"), str) or not isinstance(data.get("sid"), str):
        raise HTTPException(401, "not signed in to the sidebar, or the session expired: reopen the sidebar")
    return SidebarUser(user_id=data["uid"], session_id=data["sid"])


SidebarUserDep = Annotated[SidebarUser, Depends(get_sidebar_user)]


def get_sidebar_writer(request: Request, runtime: RuntimeDep, user: SidebarUserDep) -> SidebarUser:
    """The signed-in user, for a POST that carries the page's CSRF token."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), _signer(runtime).mac("csrf", user.session_id).encode()):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header: reload the sidebar")
    return user


SidebarWriterDep = Annotated[SidebarUser, Depends(get_sidebar_writer)]


class InsertIn(BaseModel):
    text: str = Field(min_length=1, max_length=2048, description="exactly the text inserted into the chat")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is empty")
        return value


def _checks(runtime: Runtime, session: Session, draft: Draft) -> list[dict]:
    return runtime.outbox.checks(session, draft, now=runtime.clock()) if draft.status in SHOWN else []


def _out(runtime: Runtime, session: Session, draft: Draft) -> DraftOut:
    return DraftOut.of(draft, _checks(runtime, session, draft))


def _load(session: Session, draft_id: int, user: SidebarUser) -> Draft:
    draft = session.get(Draft, draft_id, with_for_update=True)
    if draft is None or not may_see(draft, user=user.user_id, role=ROLE):
        raise HTTPException(404, f"no draft {draft_id}")
    if draft.channel != CHANNEL:
        raise HTTPException(409, f"draft {draft_id} is for channel {draft.channel}, not a staff member's own chat: answer it there")
    return draft


@router.get("/sidebar/api/drafts", response_model=list[DraftOut], tags=["sidebar"])
def sidebar_drafts(
    session: SessionDep, runtime: RuntimeDep, user: SidebarUserDep,
    customer_id: str = Query(min_length=1, max_length=128, description="the external userid of the open chat"),
) -> list[DraftOut]:
    """The customer's drafts waiting for this staff member (assigned to them or to nobody), newest first."""
    query = (
        select(Draft)
        .where(Draft.channel == CHANNEL, Draft.customer_id == customer_id,
               Draft.status.in_([s.value for s in SHOWN]),
               or_(Draft.assignee.is_(None), Draft.assignee == user.user_id))
        .order_by(Draft.id.desc())
        .limit(20)
    )
    return [_out(runtime, session, d) for d in session.scalars(query)]


def _as_if_sent(draft: Draft, text: str) -> Draft:
    """A detached copy of the draft carrying `text`, to run the checks on what would really go out."""
    copy = Draft(**{attr.key: getattr(draft, attr.key) for attr in inspect(Draft).column_attrs})
    copy.final_text = text
    return copy


def _refusal(exc: Exception) -> HTTPException:
    if isinstance(exc, NotAllowed):
        return HTTPException(403, str(exc))
    if isinstance(exc, TransitionError):
        return HTTPException(409, str(exc))
    return HTTPException(422, str(exc))


@router.post("/sidebar/api/drafts/{draft_id}/check", tags=["sidebar"])
def sidebar_check(draft_id: int, body: InsertIn, session: SessionDep, runtime: RuntimeDep, user: SidebarWriterDep) -> dict:
    """Before inserting: may this exact text go into the chat now? A dry run of the approval; changes nothing."""
    draft = _load(session, draft_id, user)
    try:
        check_may_decide(draft, user=user.user_id, role=ROLE)
        final_text = plan_approval(draft, body.text).final_text
    except (TransitionError, ValueError) as exc:
        raise _refusal(exc) from None
    words = runtime.outbox.sensitive.found(final_text)
    if words:
        raise HTTPException(409, f"the text contains sensitive words ({', '.join(words)}): edit it before approving")
    found = runtime.outbox.checks(session, _as_if_sent(draft, final_text), now=runtime.clock())
    if found:
        raise HTTPException(409, "; ".join(str(c.get("reason")) for c in found))
    return {"draft_id": draft.id, "text": final_text}


@router.post("/sidebar/api/drafts/{draft_id}/sent", response_model=DraftOut, tags=["sidebar"])
def sidebar_sent(draft_id: int, body: InsertIn, session: SessionDep, runtime: RuntimeDep, user: SidebarWriterDep) -> DraftOut:
    """The staff member inserted `text` into the chat (sendChatMessage said ok): record it approved and sent by them."""
    draft = _load(session, draft_id, user)
    now = runtime.clock()
    key = f"sidebar:{draft.id}"
    if draft.status == Status.SENT:
        earlier = session.scalar(select(Message).where(Message.channel == CHANNEL, Message.msg_id == key))
        if earlier is not None and earlier.staff_id == user.user_id and earlier.text == body.text.strip():
            return DraftOut.of(draft)  # the same insert recorded again (a retried request): nothing changes
    try:
        changed = approve(session, draft, user=user.user_id, role=ROLE, text=body.text, now=now, sensitive=runtime.outbox.sensitive)
    except (TransitionError, ValueError) as exc:
        session.rollback()
        log.warning("draft %s: %s inserted a text into the chat that cannot be recorded: %s", draft_id, user.user_id, exc)
        raise _refusal(exc) from None
    draft.status = Status.SENT.value
    draft.sent_at = now
    draft.updated_at = now
    draft.send_errcode = draft.send_errmsg = None
    session.add(
        Message(
            channel=CHANNEL, msg_id=key, direction="out", customer_id=draft.customer_id,
            customer_name=draft.customer_name, open_kfid=draft.open_kfid, staff_id=user.user_id,
            text=draft.final_text, draft_id=draft.id, created_at=now,
        )
    )
    announce(session, draft, now=now)
    session.commit()
    if changed:
        runtime.metrics.decisions.labels("edited" if draft.final_text != draft.original_text else "approved").inc()
    runtime.metrics.sends.labels("sent").inc()
    log.info("draft %s inserted into the chat by %s from the sidebar", draft.id, user.user_id)
    return DraftOut.of(draft)


@router.post("/sidebar/api/drafts/{draft_id}/reject", response_model=DraftOut, tags=["sidebar"])
def sidebar_reject(
    draft_id: int, session: SessionDep, runtime: RuntimeDep, user: SidebarWriterDep, body: RejectIn | None = None,
) -> DraftOut:
    """不发: decide not to send the draft."""
    draft = _load(session, draft_id, user)
    try:
        changed = reject(session, draft, user=user.user_id, role=ROLE, reason=body.reason if body else None, now=runtime.clock())
    except TransitionError as exc:
        raise _refusal(exc) from None
    session.commit()
    if changed:
        runtime.metrics.decisions.labels("rejected").inc()
    return DraftOut.of(draft)


# ---------------------------------------------------------------------------------------------
# JS-SDK: wx.agentConfig


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

    def get(self, client) -> str:  # noqa: ANN001 (a WeComClient)
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
    for base in _base_urls(request, settings):
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
        raise HTTPException(503, "DRAFTBOT_WECOM_AGENT_ID is not set: the JS-SDK needs the app's AgentId")
    url = url.split("#", 1)[0]
    if not _is_sidebar_url(url, request, settings):
        raise HTTPException(400, "url must be this service's /sidebar page")
    try:
        ticket = _agent_ticket(request).get(runtime.app_client)
    except WeComError as exc:
        raise HTTPException(502, f"could not get the JS-SDK ticket from WeCom: {exc}") from None
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
