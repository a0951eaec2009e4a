"""A fake of the WeCom (企业微信) HTTP API on loopback, for tests. Standard library only.

In-process use (pytest)::

    with FakeWeCom() as fake:                    # or fake.start() / fake.stop()
        client = WeComClient(corp_id="corp", secret="s", api_base=fake.base_url, timeout=2)
        fake.add_customer_message(open_kfid="kf1", external_userid="wm1", text="hi")
        fake.add_kf_customer("wm1", "小鱼")           # its nickname for kf/customer/batchget
        fake.add_external_contact("wo1", "王芳", follow_user=[{"userid": "zhangsan", "remark": "王姐", "tags": ["VIP"]}])
        ...
        fake.calls("kf/sync_msg"); fake.deliveries()

Out-of-process use::

    python tests/fake_wecom.py --port 8907       # --port 0 picks a free port
    # prints "fake wecom listening on http://127.0.0.1:8907/cgi-bin/" and serves until killed

and script it over HTTP (JSON bodies, JSON answers):

    POST /_fake/customer_message  {open_kfid, external_userid, text, msgtype="text", msgid?, origin=3, send_time?}
    POST /_fake/kf_customer       {external_userid, nickname, avatar="", gender=0, unionid=""}   for kf/customer/batchget
    POST /_fake/external_contact  {external_userid, name, follow_user=[{userid, remark="", tags=["VIP", ...]}]}
                                  for externalcontact/get (tags as names; the fake makes WeCom's tag objects)
    GET  /_fake/calls[?endpoint=kf/send_msg]   the recorded calls (list)
    GET  /_fake/deliveries                     the accepted kf/send_msg sends (list)
    POST /_fake/group_chat        {chat_id, owner, staff={userid: name}, customers=[external_userid], name=""}
                                  for externalcontact/groupchat/get
    POST /_fake/fail              {endpoint, times=1, mode="http500"|"errcode-1"|"hang", seconds=5}
    POST /_fake/expire_tokens     every issued access_token now answers 42001
    POST /_fake/oauth_code        {code, userid, reusable=false}
    POST /_fake/page_size         {page_size}
    POST /_fake/reset

Both front doors are thin wrappers over one `FakeState` guarded by a lock.

WeCom endpoints served under /cgi-bin/ (every call is recorded first: endpoint, method, query,
parsed JSON body, time, and the scripted failure if one was applied):

    GET  gettoken?corpid&corpsecret    {"access_token": "TOKEN-<n>", "expires_in": 7200};
                                       wrong secret 40001, missing corpsecret 41004, missing corpid 40013
    POST kf/sync_msg                   queued customer messages of open_kfid after the cursor, in pages of
                                       min(limit, page_size) with has_more and an opaque next_cursor;
                                       an old cursor returns the same messages again (as WeCom does)
    POST kf/send_msg                   {"msgid": ...}; a msgid already accepted: 95033 "msgid duplicated"
    POST kf/customer/batchget          {external_userid_list, need_enter_session_context}: customer_list of the
                                       scripted kf customers ({external_userid, nickname, avatar, gender, unionid}),
                                       invalid_external_userid for the rest; more than 100 ids: 40058
    GET  externalcontact/get?external_userid=
                                       {external_contact: {external_userid, name, type: 1, avatar, gender},
                                        follow_user: [{userid, remark, description, createtime,
                                        tags: [{group_name, tag_name, tag_id, type: 1}]}]} of a scripted contact;
                                       unknown: 84061 "not external contact"; missing external_userid: 40058
    POST externalcontact/groupchat/get {chat_id}: {group_chat: {chat_id, name, owner, member_list: [{userid, type, name}]}}
                                       of a scripted group; unknown: 40050
    POST message/send                  {"msgid": "m<n>", "response_code": "rc<n>"}; just recorded
    POST message/update_template_card  once per response_code
    GET  auth/getuserinfo?code=        {"userid": ...} for add_oauth_code codes, else 40029 "invalid code";
                                       like WeCom, a code works once unless registered reusable=True

Every endpoint but gettoken needs ?access_token= issued by gettoken: unknown 40014, expired 42001.
Unknown paths answer HTTP 404.

The fake's own conventions (not WeCom's documented behaviour):
    * message/update_template_card with a response_code already used answers
      {"errcode": 60140, "errmsg": "response_code already used"}; a missing one answers 40058.
    * kf/sync_msg with a cursor the fake did not issue (or for another open_kfid) answers
      {"errcode": 40058, "errmsg": "invalid cursor"}; the sync `token` is recorded, not checked.
    * kf/send_msg without msgid gets one generated ("fake-msg-<n>").

Scripted failures (fail_next / POST /_fake/fail) apply to the next `times` calls of `endpoint`
("*" matches any endpoint), before the access_token check:
    "http500"    HTTP 500 with a non-JSON body
    "errcode-1"  {"errcode": -1, "errmsg": "system busy"}
    "errcode<N>" {"errcode": N, "errmsg": "scripted error N"} for any other integer N ("errcode45009")
    "hang"       sleep `seconds`, then answer normally (stop() cuts the sleep short)
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import json
import re
import sys
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_PREFIX = "/cgi-bin/"
CONTROL_PREFIX = "/_fake/"
FAILURE_MODES = ("http500", "errcode-1", "hang")  # plus "errcode<N>" for any integer N, e.g. "errcode45009"

OK = {"errcode": 0, "errmsg": "ok"}


class _Answer:
    """What the handler writes back: an HTTP status and a JSON (or plain text) body."""

    def __init__(self, status: int = 200, body: Any = None, text: str | None = None) -> None:
        self.status = status
        self.body = body
        self.text = text


def _scripted_errcode(mode: str) -> int | None:
    """The N of a failure mode "errcode<N>" ("errcode-1" -> -1), else None."""
    match = re.fullmatch(r"errcode(-?\d+)", mode)
    return int(match.group(1)) if match else None


def _err(errcode: int, errmsg: str) -> _Answer:
    return _Answer(body={"errcode": errcode, "errmsg": errmsg})


class FakeState:
    """Everything the fake knows; every public method takes the lock."""

    def __init__(self, *, secrets: Iterable[str] | None = None, corp_id: str | None = None,
                 page_size: int = 1000) -> None:
        self._lock = threading.Lock()
        self.stopping = threading.Event()  # set by stop(): cuts "hang" sleeps short
        self._secrets = None if secrets is None else set(secrets)
        self._corp_id = corp_id
        self._default_page_size = page_size
        self._reset_locked()

    # -- scripting ---------------------------------------------------------------------------

    def _reset_locked(self) -> None:
        self._calls: list[dict] = []
        self._messages: list[dict] = []  # every queued kf message, in queue order
        self._deliveries: list[dict] = []
        self._sent_msgids: set[str] = set()
        self._tokens: set[str] = set()
        self._expired: set[str] = set()
        self._failures: list[dict] = []
        self._oauth: dict[str, tuple[str, bool]] = {}
        self._kf_customers: dict[str, dict] = {}
        self._contacts: dict[str, dict] = {}
        self._group_chats: dict[str, dict] = {}
        self._used_response_codes: set[str] = set()
        self._counter = 0
        self.page_size = self._default_page_size

    def reset(self) -> None:
        with self._lock:
            self._reset_locked()

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def set_page_size(self, page_size: int) -> None:
        if int(page_size) < 1:
            raise ValueError("page_size must be >= 1")
        with self._lock:
            self.page_size = int(page_size)

    def add_customer_message(self, open_kfid: str, external_userid: str, text: str = "", *,
                             msgtype: str = "text", msgid: str | None = None, origin: int = 3,
                             send_time: int | None = None) -> str:
        """Queue a message for kf/sync_msg; returns its msgid."""
        with self._lock:
            n = self._next()
            item: dict[str, Any] = {
                "msgid": msgid or f"fake-in-{n}",
                "open_kfid": open_kfid,
                "external_userid": external_userid,
                "send_time": int(send_time if send_time is not None else time.time()),
                "origin": int(origin),
                "msgtype": msgtype,
            }
            if msgtype == "text":
                item["text"] = {"content": text}
            elif msgtype == "event":
                item["event"] = {"event_type": text or "enter_session", "open_kfid": open_kfid,
                                 "external_userid": external_userid}
            else:
                item[msgtype] = {"media_id": "MEDIA"}
            self._messages.append(item)
            return item["msgid"]

    def add_kf_customer(self, external_userid: str, nickname: str, *, avatar: str = "", gender: int = 0,
                        unionid: str = "") -> None:
        """Script a 微信客服 customer for kf/customer/batchget (again: replaces them)."""
        with self._lock:
            self._kf_customers[external_userid] = {"external_userid": external_userid, "nickname": nickname,
                                                   "avatar": avatar, "gender": int(gender), "unionid": unionid}

    def add_external_contact(self, external_userid: str, name: str, *, follow_user: Iterable[dict] = ()) -> None:
        """Script a customer for externalcontact/get; `follow_user` items: {userid, remark="", tags=[tag names]}."""
        followers = []
        for n, follower in enumerate(follow_user):
            tags = [{"group_name": "客户标签", "tag_name": str(tag), "tag_id": f"et{n}-{i}", "type": 1}
                    for i, tag in enumerate(follower.get("tags") or [])]
            followers.append({"userid": str(follower["userid"]), "remark": str(follower.get("remark", "")),
                              "description": "", "createtime": int(time.time()), "tags": tags})
        with self._lock:
            self._contacts[external_userid] = {
                "external_contact": {"external_userid": external_userid, "name": name, "type": 1, "avatar": "",
                                     "gender": 0},
                "follow_user": followers,
            }

    def add_group_chat(self, chat_id: str, owner: str, *, staff: dict[str, str] | None = None,
                       customers: Iterable[str] = (), name: str = "") -> None:
        """Script a customer group for externalcontact/groupchat/get: `staff` userid -> name (type 1), `customers` (type 2)."""
        members = [{"userid": userid, "type": 1, "name": member_name, "join_time": 0, "join_scene": 1}
                   for userid, member_name in (staff or {owner: owner}).items()]
        members += [{"userid": userid, "type": 2, "name": "", "join_time": 0, "join_scene": 1} for userid in customers]
        with self._lock:
            self._group_chats[chat_id] = {"chat_id": chat_id, "name": name, "owner": owner, "create_time": 0,
                                          "member_list": members, "admin_list": []}

    def fail_next(self, endpoint: str, times: int = 1, mode: str = "http500", seconds: float = 5.0) -> None:
        if mode not in FAILURE_MODES and _scripted_errcode(mode) is None:
            raise ValueError(f"mode must be one of {FAILURE_MODES}, not {mode!r}")
        with self._lock:
            self._failures.append({"endpoint": endpoint.strip("/"), "left": int(times),
                                   "mode": mode, "seconds": float(seconds)})

    def expire_tokens(self) -> None:
        with self._lock:
            self._expired |= self._tokens
            self._tokens = set()

    def add_oauth_code(self, code: str, userid: str, reusable: bool = False) -> None:
        with self._lock:
            self._oauth[code] = (userid, bool(reusable))

    def calls(self, endpoint: str | None = None) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls
                    if endpoint is None or c["endpoint"] == endpoint.strip("/")]

    def deliveries(self) -> list[dict]:
        with self._lock:
            return [dict(d) for d in self._deliveries]

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return sorted(self._tokens)

    # -- serving -----------------------------------------------------------------------------

    def _take_failure(self, endpoint: str) -> dict | None:
        for failure in self._failures:
            if failure["endpoint"] in (endpoint, "*"):
                failure["left"] -= 1
                if failure["left"] <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def handle_api(self, method: str, endpoint: str, query: dict[str, str], body: Any) -> _Answer:
        """Answer one /cgi-bin/ call; sleeps (outside the lock) for a scripted hang."""
        with self._lock:
            failure = self._take_failure(endpoint)
            self._calls.append({
                "endpoint": endpoint, "method": method, "query": dict(query),
                "body": copy.deepcopy(body), "time": time.time(),
                "failure": failure["mode"] if failure else None,
            })
        if failure is not None:
            if failure["mode"] == "http500":
                return _Answer(status=500, text="fake wecom: scripted HTTP 500")
            if failure["mode"] == "errcode-1":
                return _err(-1, "system busy")
            errcode = _scripted_errcode(failure["mode"])
            if errcode is not None:
                return _err(errcode, f"scripted error {errcode}")
            self.stopping.wait(failure["seconds"])  # "hang", then answer normally
        route = _ROUTES.get((method, endpoint))
        if route is None:
            return _Answer(status=404, text=f"fake wecom: no endpoint {method} {endpoint}")
        with self._lock:
            if endpoint != "gettoken":
                token = query.get("access_token", "")
                if token in self._expired:
                    return _err(42001, "access_token expired")
                if token not in self._tokens:
                    return _err(40014, "invalid access_token")
            if method == "POST" and not isinstance(body, dict):
                return _err(47001, "data format error")
            return route(self, query, body)

    # The endpoint handlers below run with the lock held.

    def _gettoken(self, query: dict[str, str], body: Any) -> _Answer:
        corpid, secret = query.get("corpid", ""), query.get("corpsecret", "")
        if not corpid or (self._corp_id is not None and corpid != self._corp_id):
            return _err(40013, "invalid corpid")
        if not secret:
            return _err(41004, "corpsecret missing")
        if self._secrets is not None and secret not in self._secrets:
            return _err(40001, "invalid credential")
        token = f"TOKEN-{self._next()}"
        self._tokens.add(token)
        return _Answer(body={**OK, "access_token": token, "expires_in": 7200})

    @staticmethod
    def _encode_cursor(open_kfid: str, position: int) -> str:
        raw = json.dumps([open_kfid, position]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(cursor: str) -> tuple[str, int] | None:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            open_kfid, position = json.loads(raw)
            return str(open_kfid), int(position)
        except (binascii.Error, ValueError, TypeError):
            return None

    def _sync_msg(self, query: dict[str, str], body: dict) -> _Answer:
        open_kfid = str(body.get("open_kfid") or "")
        if not open_kfid:
            return _err(40058, "open_kfid missing")
        position = 0
        cursor = body.get("cursor")
        if cursor:
            decoded = self._decode_cursor(str(cursor))
            if decoded is None or decoded[0] != open_kfid:
                return _err(40058, "invalid cursor")
            position = decoded[1]
        try:
            limit = int(body.get("limit") or 1000)
        except (TypeError, ValueError):
            return _err(40058, "invalid limit")
        size = max(1, min(limit, self.page_size))
        mine = [m for m in self._messages if m["open_kfid"] == open_kfid]
        page = mine[position:position + size]
        end = position + len(page)
        return _Answer(body={
            **OK,
            "next_cursor": self._encode_cursor(open_kfid, end),
            "has_more": 1 if end < len(mine) else 0,
            "msg_list": copy.deepcopy(page),
        })

    def _send_msg(self, query: dict[str, str], body: dict) -> _Answer:
        touser, open_kfid, msgtype = body.get("touser"), body.get("open_kfid"), body.get("msgtype")
        if not touser or not open_kfid or not msgtype:
            return _err(40058, "touser, open_kfid and msgtype are required")
        msgid = str(body.get("msgid") or f"fake-msg-{self._next()}")
        if msgid in self._sent_msgids:
            return _err(95033, "msgid duplicated")
        self._sent_msgids.add(msgid)
        content = (body.get("text") or {}).get("content") if msgtype == "text" else None
        self._deliveries.append({"touser": touser, "open_kfid": open_kfid, "msgid": msgid,
                                 "msgtype": msgtype, "content": content})
        return _Answer(body={**OK, "msgid": msgid})

    def _customer_batchget(self, query: dict[str, str], body: dict) -> _Answer:
        ids = body.get("external_userid_list")
        if not isinstance(ids, list) or not ids:
            return _err(40058, "external_userid_list missing")
        if len(ids) > 100:
            return _err(40058, "external_userid_list has more than 100 ids")
        known = [copy.deepcopy(self._kf_customers[i]) for i in ids if i in self._kf_customers]
        return _Answer(body={**OK, "customer_list": known,
                             "invalid_external_userid": [i for i in ids if i not in self._kf_customers]})

    def _external_contact(self, query: dict[str, str], body: Any) -> _Answer:
        userid = query.get("external_userid", "")
        if not userid:
            return _err(40058, "external_userid missing")
        contact = self._contacts.get(userid)
        if contact is None:
            return _err(84061, "not external contact")
        return _Answer(body={**OK, **copy.deepcopy(contact)})

    def _group_chat(self, query: dict[str, str], body: dict) -> _Answer:
        group = self._group_chats.get(str(body.get("chat_id") or ""))
        if group is None:
            return _err(40050, "chatid不存在")
        return _Answer(body={**OK, "group_chat": copy.deepcopy(group)})

    def _message_send(self, query: dict[str, str], body: dict) -> _Answer:
        n = self._next()
        return _Answer(body={**OK, "invaliduser": "", "msgid": f"m{n}", "response_code": f"rc{n}"})

    def _update_template_card(self, query: dict[str, str], body: dict) -> _Answer:
        code = body.get("response_code")
        if not code:
            return _err(40058, "response_code missing")
        if code in self._used_response_codes:
            return _err(60140, "response_code already used")
        self._used_response_codes.add(code)
        return _Answer(body={**OK, "invaliduser": []})

    def _getuserinfo(self, query: dict[str, str], body: Any) -> _Answer:
        found = self._oauth.get(query.get("code", ""))
        if found is None:
            return _err(40029, "invalid code")
        userid, reusable = found
        if not reusable:
            del self._oauth[query["code"]]
        return _Answer(body={**OK, "userid": userid, "user_ticket": f"ticket-{userid}", "expires_in": 1800})

    def handle_control(self, method: str, action: str, query: dict[str, str], body: Any) -> _Answer:
        """The /_fake/ control API; thin over the public methods."""
        body = body if isinstance(body, dict) else {}
        try:
            if (method, action) == ("GET", "calls"):
                return _Answer(body=self.calls(query.get("endpoint")))
            if (method, action) == ("GET", "deliveries"):
                return _Answer(body=self.deliveries())
            if (method, action) == ("POST", "customer_message"):
                msgid = self.add_customer_message(
                    body["open_kfid"], body["external_userid"], body.get("text", ""),
                    msgtype=body.get("msgtype", "text"), msgid=body.get("msgid"),
                    origin=int(body.get("origin", 3)), send_time=body.get("send_time"))
                return _Answer(body={"ok": True, "msgid": msgid})
            if (method, action) == ("POST", "fail"):
                self.fail_next(body["endpoint"], int(body.get("times", 1)), body.get("mode", "http500"),
                               float(body.get("seconds", 5.0)))
            elif (method, action) == ("POST", "kf_customer"):
                self.add_kf_customer(body["external_userid"], body["nickname"], avatar=body.get("avatar", ""),
                                     gender=int(body.get("gender", 0)), unionid=body.get("unionid", ""))
            elif (method, action) == ("POST", "external_contact"):
                self.add_external_contact(body["external_userid"], body["name"], follow_user=body.get("follow_user") or [])
            elif (method, action) == ("POST", "group_chat"):
                self.add_group_chat(body["chat_id"], body["owner"], staff=body.get("staff"),
                                    customers=body.get("customers") or [], name=body.get("name", ""))
            elif (method, action) == ("POST", "expire_tokens"):
                self.expire_tokens()
            elif (method, action) == ("POST", "oauth_code"):
                self.add_oauth_code(body["code"], body["userid"], bool(body.get("reusable", False)))
            elif (method, action) == ("POST", "page_size"):
                self.set_page_size(int(body["page_size"]))
            elif (method, action) == ("POST", "reset"):
                self.reset()
            else:
                return _Answer(status=404, text=f"fake wecom: no control action {method} {action}")
        except (KeyError, ValueError, TypeError) as exc:
            return _Answer(status=400, body={"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return _Answer(body={"ok": True})


_ROUTES = {
    ("GET", "gettoken"): FakeState._gettoken,
    ("POST", "kf/sync_msg"): FakeState._sync_msg,
    ("POST", "kf/send_msg"): FakeState._send_msg,
    ("POST", "kf/customer/batchget"): FakeState._customer_batchget,
    ("GET", "externalcontact/get"): FakeState._external_contact,
    ("POST", "externalcontact/groupchat/get"): FakeState._group_chat,
    ("POST", "message/send"): FakeState._message_send,
    ("POST", "message/update_template_card"): FakeState._update_template_card,
    ("GET", "auth/getuserinfo"): FakeState._getuserinfo,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at stop()
    timeout = 10  # a client that connects and sends nothing cannot block stop() for long
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # silence request logging
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                body = raw.decode("utf-8", "replace")
        state = self.server.state
        if parts.path.startswith(API_PREFIX):
            answer = state.handle_api(method, parts.path[len(API_PREFIX):].strip("/"), query, body)
        elif parts.path.startswith(CONTROL_PREFIX):
            answer = state.handle_control(method, parts.path[len(CONTROL_PREFIX):].strip("/"), query, body)
        else:
            answer = _Answer(status=404, text="fake wecom: not found")
        self._write(answer)

    def _write(self, answer: _Answer) -> None:
        if answer.text is not None:
            data, ctype = answer.text.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            data, ctype = json.dumps(answer.body, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. timed out during a scripted hang)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads: no thread outlives stop()

    def __init__(self, address: tuple[str, int], state: FakeState) -> None:
        self.state = state
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a client that went away is not the fake's problem
        super().handle_error(request, client_address)


class FakeWeCom:
    """The fake served from a daemon thread on 127.0.0.1; a thin wrapper over `FakeState`."""

    def __init__(self, *, port: int = 0, secrets: Iterable[str] | None = None,
                 corp_id: str | None = None, page_size: int = 1000) -> None:
        self.state = FakeState(secrets=secrets, corp_id=corp_id, page_size=page_size)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "FakeWeCom":
        if self._server is not None:
            raise RuntimeError("FakeWeCom already started")
        self.state.stopping.clear()
        self._server = _Server(("127.0.0.1", self._port), self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-wecom-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.state.stopping.set()  # end scripted hangs now
        self._server.shutdown()
        self._server.server_close()  # closes the socket and joins handler threads
        assert self._thread is not None
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> "FakeWeCom":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeWeCom not started")
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}{API_PREFIX}"

    # -- scripting and inspection (delegates to the state) -----------------------------------

    @property
    def page_size(self) -> int:
        return self.state.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self.state.set_page_size(value)

    def add_customer_message(self, open_kfid: str, external_userid: str, text: str = "", **kwargs: Any) -> str:
        return self.state.add_customer_message(open_kfid, external_userid, text, **kwargs)

    def add_kf_customer(self, external_userid: str, nickname: str, **kwargs: Any) -> None:
        self.state.add_kf_customer(external_userid, nickname, **kwargs)

    def add_external_contact(self, external_userid: str, name: str, **kwargs: Any) -> None:
        self.state.add_external_contact(external_userid, name, **kwargs)

    def add_group_chat(self, chat_id: str, owner: str, **kwargs: Any) -> None:
        self.state.add_group_chat(chat_id, owner, **kwargs)

    def fail_next(self, endpoint: str, times: int = 1, mode: str = "http500", seconds: float = 5.0) -> None:
        self.state.fail_next(endpoint, times, mode, seconds)

    def expire_tokens(self) -> None:
        self.state.expire_tokens()

    def add_oauth_code(self, code: str, userid: str, reusable: bool = False) -> None:
        self.state.add_oauth_code(code, userid, reusable)

    def calls(self, endpoint: str | None = None) -> list[dict]:
        return self.state.calls(endpoint)

    def deliveries(self) -> list[dict]:
        return self.state.deliveries()

    def issued_tokens(self) -> list[str]:
        return self.state.issued_tokens()

    def reset(self) -> None:
        self.state.reset()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake WeCom API on 127.0.0.1 until killed.")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: a free one)")
    parser.add_argument("--secret", action="append", help="accepted corpsecret (repeatable; default: any)")
    parser.add_argument("--corp-id", default=None, help="accepted corpid (default: any)")
    parser.add_argument("--page-size", type=int, default=1000, help="kf/sync_msg page size")
    args = parser.parse_args(argv)
    fake = FakeWeCom(port=args.port, secrets=args.secret, corp_id=args.corp_id, page_size=args.page_size)
    fake.start()
    print(f"fake wecom listening on {fake.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
