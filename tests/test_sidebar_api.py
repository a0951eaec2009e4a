"""The chat sidebar's server side (bot/api/sidebar/) in-process, with the fake WeCom API on loopback.

WeCom OAuth sign-in, the session and CSRF checks, who sees and decides which draft, recording an
insert as approved and sent with exactly the inserted text, refusals, and the JS-SDK signature.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.api.sidebar import SDK_SCRIPTS, jsapi_signature
from bot.app import create_app
from bot.db.models import Draft, Job, Message
from bot.errors import WeComError
from bot.wecom.client import WeComClient
from tests import fake_wecom
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import CORP_ID, FakeClock
from tests.fake_wecom import FakeWeCom

AGENT_TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_agent"
CUSTOMER = "wmXYZcustomer01"
_codes = itertools.count(1)


@contextmanager
def agent_ticket_endpoint(ticket: str = AGENT_TICKET) -> Iterator[str]:
    """tests/fake_wecom.py has no `ticket/get`: serve WeCom's agent_config jsapi_ticket while this lasts."""

    def ticket_get(state: fake_wecom.FakeState, query: dict[str, str], body: object) -> fake_wecom._Answer:
        if query.get("type") != "agent_config":
            return fake_wecom._err(40058, "type must be agent_config")
        return fake_wecom._Answer(body={**fake_wecom.OK, "ticket": ticket, "expires_in": 7200})

    fake_wecom._ROUTES[("GET", "ticket/get")] = ticket_get
    try:
        yield ticket
    finally:
        fake_wecom._ROUTES.pop(("GET", "ticket/get"), None)


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server, agent_ticket_endpoint():
        yield server


@pytest.fixture
def make_client(database_url: str, fake: FakeWeCom, clock: FakeClock) -> Iterator[Callable[..., TestClient]]:
    """Build apps whose WeCom API is the fake; each is closed at the end of the test."""
    with ExitStack() as stack:

        def make(base_url: str = "http://testserver", **overrides: object) -> TestClient:
            settings = make_settings(database_url, wecom_api_base=fake.base_url, **overrides)
            client = stack.enter_context(TestClient(create_app(settings, clock=clock), base_url=base_url))
            runtime(client).worker.stop()
            return client

        yield make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def sign_in(client: TestClient, fake: FakeWeCom, userid: str, *, query: str = "") -> str:
    """Go through the OAuth detour as WeCom would; returns the page's CSRF token."""
    client.cookies.clear()
    start = client.get("/sidebar" + query, follow_redirects=False)
    assert start.status_code == 302, start.text
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    code = f"code-{userid}-{next(_codes)}"
    fake.add_oauth_code(code, userid)
    done = client.get("/sidebar/auth", params={"code": code, "state": state}, follow_redirects=False)
    assert done.status_code == 303, done.text
    page = client.get(done.headers["location"])
    assert page.status_code == 200, page.text
    return re.search(r'data-csrf="([^"]+)"', page.text).group(1)


def archive_draft(client: TestClient, *, msg_id: str, text: str = "我的快递到哪了", staff_id: str | None = "zhangsan",
                  customer_id: str = CUSTOMER, channel: str = "archive", **extra: str) -> int:
    """A customer message from the chat archive (POST /api/messages) and the id of its draft."""
    admin = bearer(client, "boss", "admin")
    body = {"channel": channel, "customer_id": customer_id, "text": text, "msg_id": msg_id, "customer_name": "王女士", **extra}
    if staff_id:
        body["staff_id"] = staff_id
    response = client.post("/api/messages", json=body, headers=admin)
    assert response.status_code == 202, response.text
    run_jobs(client)
    return client.get("/api/drafts", params={"limit": 1}, headers=admin).json()[0]["id"]


def api_draft(client: TestClient, draft_id: int) -> dict:
    return client.get(f"/api/drafts/{draft_id}", headers=bearer(client, "boss", "admin")).json()


def cookie_headers(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        found[header.split("=", 1)[0]] = header
    return found


# ---------------------------------------------------------------------------------------------
# sign-in


def test_without_wecom_credentials_the_sidebar_is_503_with_one_line(make_client: Callable[..., TestClient]) -> None:
    client = make_client(wecom_secret="")
    response = client.get("/sidebar", follow_redirects=False)
    assert response.status_code == 503
    assert response.text.strip().count("\n") == 0
    assert "DRAFTBOT_WECOM_SECRET" in response.text
    assert client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).status_code == 503


def test_sign_in_through_wecom_oauth(client: TestClient, fake: FakeWeCom) -> None:
    start = client.get("/sidebar", params={"sdk": "0"}, follow_redirects=False)
    assert start.status_code == 302
    target = urlsplit(start.headers["location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "open.weixin.qq.com", "/connect/oauth2/authorize")
    assert target.fragment == "wechat_redirect"
    query = parse_qs(target.query)
    assert query["appid"] == [CORP_ID]
    assert query["redirect_uri"] == ["http://testserver/sidebar/auth"]
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Fsidebar%2Fauth" in target.query  # url-encoded
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["snsapi_base"]
    state = query["state"][0]
    assert len(state) >= 16
    state_cookie = cookie_headers(start)["draftbot_sidebar_state"]
    assert "HttpOnly" in state_cookie and "SameSite=lax" in state_cookie and "Path=/sidebar" in state_cookie
    assert "Secure" not in state_cookie  # plain http here

    fake.add_oauth_code("CODE-1", "zhangsan")
    done = client.get("/sidebar/auth", params={"code": "CODE-1", "state": state}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/sidebar?sdk=0"  # back where the detour started
    session_cookie = cookie_headers(done)["draftbot_sidebar"]
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Secure" not in session_cookie
    assert [c["query"]["code"] for c in fake.calls("auth/getuserinfo")] == ["CODE-1"]

    page = client.get("/sidebar")
    assert page.status_code == 200
    assert 'data-user="zhangsan"' in page.text
    assert re.search(r'data-csrf="[\w-]{20,}"', page.text)
    assert all(src in page.text for src in SDK_SCRIPTS)  # WeCom's JS-SDK by default
    assert page.headers["cache-control"] == "no-store"
    assert not any(src in client.get("/sidebar?sdk=0").text for src in SDK_SCRIPTS)


def test_the_page_carries_the_brands_time_zone_and_its_name(make_client: Callable[..., TestClient], fake: FakeWeCom) -> None:
    """The script formats times on the brand's clock (DRAFTBOT_TIMEZONE) and names it, never the browser's."""
    beijing = make_client()
    sign_in(beijing, fake, "zhangsan")
    page = beijing.get("/sidebar").text
    assert 'data-timezone="Asia/Shanghai"' in page and 'data-zone-label="北京时间"' in page
    tokyo = make_client(timezone="Asia/Tokyo")
    sign_in(tokyo, fake, "zhangsan")
    page = tokyo.get("/sidebar").text
    assert 'data-timezone="Asia/Tokyo"' in page and 'data-zone-label="UTC+9"' in page


def test_over_https_cookies_are_secure_and_public_url_is_the_redirect(make_client: Callable[..., TestClient]) -> None:
    client = make_client(base_url="https://draftbot.example.com", public_url="https://bot.brand.example/")
    start = client.get("/sidebar", follow_redirects=False)
    redirect_uri = parse_qs(urlsplit(start.headers["location"]).query)["redirect_uri"]
    assert redirect_uri == ["https://bot.brand.example/sidebar/auth"]
    assert "Secure" in cookie_headers(start)["draftbot_sidebar_state"]


def test_a_bad_or_used_code_is_a_clear_401_page(client: TestClient, fake: FakeWeCom) -> None:
    start = client.get("/sidebar", follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    response = client.get("/sidebar/auth", params={"code": "nope", "state": state}, follow_redirects=False)
    assert response.status_code == 401
    assert "登录失败" in response.text and "40029" in response.text and "重新打开侧边栏" in response.text
    assert "Traceback" not in response.text
    assert "draftbot_sidebar" not in cookie_headers(response)

    fake.add_oauth_code("ONCE", "zhangsan")
    assert client.get("/sidebar/auth", params={"code": "ONCE", "state": state}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    start = client.get("/sidebar", follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    again = client.get("/sidebar/auth", params={"code": "ONCE", "state": state}, follow_redirects=False)
    assert again.status_code == 401  # a code works once


def test_the_state_must_come_from_our_own_redirect(client: TestClient, fake: FakeWeCom) -> None:
    fake.add_oauth_code("CODE", "zhangsan", reusable=True)
    no_cookie = client.get("/sidebar/auth", params={"code": "CODE", "state": "guessed"}, follow_redirects=False)
    assert no_cookie.status_code == 400
    assert "重新打开" in no_cookie.text
    client.get("/sidebar", follow_redirects=False)
    wrong = client.get("/sidebar/auth", params={"code": "CODE", "state": "guessed"}, follow_redirects=False)
    assert wrong.status_code == 400
    assert fake.calls("auth/getuserinfo") == []  # the code was never even tried


def test_a_wecom_outage_at_sign_in_is_a_502_page(client: TestClient, fake: FakeWeCom) -> None:
    start = client.get("/sidebar", follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    fake.fail_next("auth/getuserinfo", mode="http500")
    response = client.get("/sidebar/auth", params={"code": "C", "state": state}, follow_redirects=False)
    assert response.status_code == 502
    assert "连不上企业微信" in response.text


def test_forged_or_expired_sessions_are_refused(client: TestClient, fake: FakeWeCom, clock: FakeClock) -> None:
    sign_in(client, fake, "zhangsan")
    good = client.cookies.get("draftbot_sidebar")
    assert client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).status_code == 200

    body, mac = good.split(".")
    forged = body.replace(body[5], "A" if body[5] != "A" else "B", 1) + "." + mac
    client.cookies.clear()
    client.cookies.set("draftbot_sidebar", forged, domain="testserver.local", path="/sidebar")
    assert client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).status_code == 401
    assert client.get("/sidebar", follow_redirects=False).status_code == 302  # back to WeCom's sign-in

    client.cookies.clear()
    client.cookies.set("draftbot_sidebar", good, domain="testserver.local", path="/sidebar")
    assert client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).status_code == 200
    clock.advance(hours=13)
    response = client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER})
    assert response.status_code == 401
    assert response.json()["detail"] == "没有登录或登录已过期：请关闭侧边栏后重新打开"


def test_posts_need_the_pages_csrf_token(client: TestClient, fake: FakeWeCom) -> None:
    draft_id = archive_draft(client, msg_id="m1")
    csrf = sign_in(client, fake, "zhangsan")
    url = f"/sidebar/api/drafts/{draft_id}/reject"
    assert client.post(url, json={}).status_code == 403
    refused = client.post(url, json={}, headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "页面已过期：请关闭侧边栏后重新打开"
    other_session = sign_in(client, fake, "zhangsan")  # the same person, a new session: a new token
    assert other_session != csrf
    assert client.post(url, json={}, headers={"X-CSRF-Token": csrf}).status_code == 403
    assert api_draft(client, draft_id)["status"] == "pending"
    done = client.post(url, json={"reason": "客户已电话沟通"}, headers={"X-CSRF-Token": other_session})
    assert done.status_code == 200
    assert done.json()["status"] == "rejected" and done.json()["rejected_by"] == "zhangsan"


# ---------------------------------------------------------------------------------------------
# drafts


def test_staff_see_and_act_only_on_their_own_or_unassigned_drafts(client: TestClient, fake: FakeWeCom) -> None:
    zhangs = archive_draft(client, msg_id="m1", staff_id="zhangsan")
    unassigned = archive_draft(client, msg_id="m2", staff_id=None, customer_id="wmOTHER")
    lis = archive_draft(client, msg_id="m3", staff_id="lisi", customer_id="wmTHIRD")

    csrf = sign_in(client, fake, "lisi")
    headers = {"X-CSRF-Token": csrf}
    assert client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).json() == []
    for action in ("check", "sent"):
        response = client.post(f"/sidebar/api/drafts/{zhangs}/{action}", json={"text": "好的"}, headers=headers)
        assert response.status_code == 404, action
        assert response.json()["detail"] == f"找不到草稿 {zhangs}（可能不归你处理）"
    assert client.post(f"/sidebar/api/drafts/{zhangs}/reject", json={}, headers=headers).status_code == 404
    assert api_draft(client, zhangs)["status"] == "pending"
    assert [d["id"] for d in client.get("/sidebar/api/drafts", params={"customer_id": "wmOTHER"}).json()] == [unassigned]
    assert [d["id"] for d in client.get("/sidebar/api/drafts", params={"customer_id": "wmTHIRD"}).json()] == [lis]

    sign_in(client, fake, "zhangsan")
    listed = client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).json()
    assert [d["id"] for d in listed] == [zhangs]
    assert listed[0]["intent"] == "order_status" and listed[0]["persona"] and listed[0]["text"]
    assert listed[0]["checks"] == []
    assert [d["id"] for d in client.get("/sidebar/api/drafts", params={"customer_id": "wmOTHER"}).json()] == [unassigned]
    assert client.get("/sidebar/api/drafts", params={"customer_id": "wmTHIRD"}).json() == []  # lisi's chat


def test_an_admin_too_sees_only_their_own_chats_drafts(make_client: Callable[..., TestClient], fake: FakeWeCom) -> None:
    client = make_client(admins="boss")
    archive_draft(client, msg_id="m1", staff_id="zhangsan")
    sign_in(client, fake, "boss")
    assert client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).json() == []


def test_kf_drafts_for_the_same_person_are_never_inserted(client: TestClient, fake: FakeWeCom) -> None:
    kf = archive_draft(client, msg_id="k1", channel="kf", staff_id=None, open_kfid="wkLUCKY")
    csrf = sign_in(client, fake, "zhangsan")
    assert client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).json() == []
    response = client.post(f"/sidebar/api/drafts/{kf}/sent", json={"text": "好的"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 409
    assert response.json()["detail"] == f"草稿 {kf} 不是你单聊里的消息（渠道 kf）：请到原渠道回复"
    assert api_draft(client, kf)["status"] == "pending"


def test_an_insert_is_recorded_approved_and_sent_with_exactly_the_text(client: TestClient, fake: FakeWeCom) -> None:
    draft_id = archive_draft(client, msg_id="m1")
    csrf = sign_in(client, fake, "zhangsan")
    headers = {"X-CSRF-Token": csrf}
    edited = "王女士您好，包裹已到小区驿站，取件码 8-2-1034。"

    check = client.post(f"/sidebar/api/drafts/{draft_id}/check", json={"text": f"  {edited}\n"}, headers=headers)
    assert check.status_code == 200
    assert check.json() == {"draft_id": draft_id, "text": edited}  # what the page inserts, and what is recorded
    assert api_draft(client, draft_id)["status"] == "pending"  # a dry run

    sent = client.post(f"/sidebar/api/drafts/{draft_id}/sent", json={"text": edited}, headers=headers)
    assert sent.status_code == 200, sent.text
    out = api_draft(client, draft_id)
    assert out["status"] == "sent"
    assert out["final_text"] == edited
    assert out["approved_by"] == "zhangsan"
    assert out["approved_at"] and out["sent_at"]
    assert sent.json()["final_text"] == edited

    rt = runtime(client)
    with rt.sessions() as session:
        replies = list(session.scalars(select(Message).where(Message.direction == "out")))
        assert [(m.channel, m.customer_id, m.staff_id, m.text, m.draft_id) for m in replies] == [
            ("archive", CUSTOMER, "zhangsan", edited, draft_id)
        ]
        assert session.scalars(select(Job).where(Job.kind == "send")).all() == []  # draftbot sends nothing itself
    run_jobs(client)
    assert fake.deliveries() == []
    assert client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).json() == []
    metrics = client.get("/metrics").text
    assert 'draftbot_decisions_total{decision="edited"} 1.0' in metrics
    assert 'draftbot_sends_total{result="sent"} 1.0' in metrics

    # The same record again (a retried request) changes nothing; another text is refused.
    again = client.post(f"/sidebar/api/drafts/{draft_id}/sent", json={"text": edited}, headers=headers)
    assert again.status_code == 200
    other = client.post(f"/sidebar/api/drafts/{draft_id}/sent", json={"text": "别的内容"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["detail"] == f"草稿 {draft_id} 已发送，不能再批准"
    with rt.sessions() as session:
        assert len(session.scalars(select(Message).where(Message.direction == "out")).all()) == 1


def test_a_draft_approved_elsewhere_is_inserted_with_its_approved_text(client: TestClient, fake: FakeWeCom) -> None:
    draft_id = archive_draft(client, msg_id="m1")
    approved = client.post(f"/api/drafts/{draft_id}/approve", json={"text": "您好，已为您查询，明天送达。"},
                           headers=bearer(client, "zhangsan"))
    assert approved.status_code == 200
    run_jobs(client)
    assert api_draft(client, draft_id)["status"] == "approved"  # archive replies wait for the sidebar

    csrf = sign_in(client, fake, "zhangsan")
    headers = {"X-CSRF-Token": csrf}
    listed = client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).json()
    assert [(d["id"], d["status"], d["final_text"]) for d in listed] == [(draft_id, "approved", "您好，已为您查询，明天送达。")]
    changed = client.post(f"/sidebar/api/drafts/{draft_id}/check", json={"text": "改一下"}, headers=headers)
    assert changed.status_code == 409
    assert changed.json()["detail"] == f"草稿 {draft_id} 已按另一段文字批准，不能再改"
    assert client.post(f"/sidebar/api/drafts/{draft_id}/sent", json={"text": "您好，已为您查询，明天送达。"}, headers=headers).status_code == 200
    assert api_draft(client, draft_id)["status"] == "sent"


def test_rejected_and_superseded_drafts_answer_409_with_the_reason(client: TestClient, fake: FakeWeCom) -> None:
    first = archive_draft(client, msg_id="m1")
    second = archive_draft(client, msg_id="m2", text="另外能开发票吗")
    assert api_draft(client, first)["status"] == "superseded"
    csrf = sign_in(client, fake, "zhangsan")
    headers = {"X-CSRF-Token": csrf}
    for action in ("check", "sent"):
        response = client.post(f"/sidebar/api/drafts/{first}/{action}", json={"text": "好的"}, headers=headers)
        assert response.status_code == 409
        assert response.json()["detail"] == f"草稿 {first} 已被客户的新消息取代，不能再批准"

    assert client.post(f"/sidebar/api/drafts/{second}/reject", json={}, headers=headers).status_code == 200
    response = client.post(f"/sidebar/api/drafts/{second}/sent", json={"text": "好的"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["detail"] == f"草稿 {second} 已选择不发，不能再批准"
    assert api_draft(client, second)["status"] == "rejected"


def test_sensitive_words_are_refused_before_and_after_the_insert(make_client: Callable[..., TestClient], fake: FakeWeCom, tmp_path: Path) -> None:
    words = tmp_path / "sensitive.txt"
    words.write_text("保本\n", encoding="utf-8")
    client = make_client(sensitive_words_file=words)
    draft_id = archive_draft(client, msg_id="m1")
    csrf = sign_in(client, fake, "zhangsan")
    headers = {"X-CSRF-Token": csrf}
    text = "这款理财保本，放心买。"
    for action in ("check", "sent"):
        response = client.post(f"/sidebar/api/drafts/{draft_id}/{action}", json={"text": text}, headers=headers)
        assert response.status_code == 409
        assert response.json()["detail"] == "含敏感词（保本），请修改后再发送"
    out = api_draft(client, draft_id)
    assert out["status"] == "pending" and out["final_text"] is None


def test_dont_disturb_stops_an_insert_before_it_happens(client: TestClient, fake: FakeWeCom) -> None:
    draft_id = archive_draft(client, msg_id="m1")
    rt = runtime(client)
    with rt.sessions() as session:  # an unsolicited promotion
        draft = session.get(Draft, draft_id)
        draft.marketing, draft.solicited = True, False
        session.commit()
    opted = client.post(f"/api/customers/archive/{CUSTOMER}/opt-out", json={"reason": "别再发了"}, headers=bearer(client, "zhangsan"))
    assert opted.status_code == 201
    csrf = sign_in(client, fake, "zhangsan")
    listed = client.get("/sidebar/api/drafts", params={"customer_id": CUSTOMER}).json()
    assert [c["code"] for c in listed[0]["checks"]] == ["dont_disturb"]
    response = client.post(f"/sidebar/api/drafts/{draft_id}/check", json={"text": listed[0]["text"]}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 409
    assert response.json()["detail"].endswith("退订营销消息")


def test_blank_text_is_422(client: TestClient, fake: FakeWeCom) -> None:
    draft_id = archive_draft(client, msg_id="m1")
    csrf = sign_in(client, fake, "zhangsan")
    response = client.post(f"/sidebar/api/drafts/{draft_id}/sent", json={"text": "   "}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 422
    assert api_draft(client, draft_id)["status"] == "pending"


def test_the_page_assets_are_served_without_the_demo(make_client: Callable[..., TestClient]) -> None:
    client = make_client(demo=False)
    script = client.get("/sidebar/assets/sidebar.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "sendChatMessage" in script.text
    assert client.get("/sidebar/assets/sidebar.css").status_code == 200
    shared = client.get("/sidebar/assets/common.js")  # what the sidebar shares with the demo page
    assert shared.status_code == 200 and "window.draftbot" in shared.text
    assert client.get("/sidebar/assets/common.css").status_code == 200
    assert client.get("/sidebar/assets/demo.js").status_code == 404


# ---------------------------------------------------------------------------------------------
# JS-SDK


def test_jsapi_signature_matches_the_documented_example() -> None:
    # The example of WeChat's JS-SDK documentation (WeCom signs the same way).
    assert jsapi_signature(
        ticket="sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
        noncestr="Wm3WZYTPz0wzccnW", timestamp=1414587457, url="http://mp.weixin.qq.com?params=value",
    ) == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def test_jsapi_config_signs_this_page_with_the_agent_ticket(client: TestClient, fake: FakeWeCom) -> None:
    url = "http://testserver/sidebar?sdk=0"
    assert client.get("/sidebar/api/jsapi-config", params={"url": url}).status_code == 401
    sign_in(client, fake, "zhangsan")
    config = client.get("/sidebar/api/jsapi-config", params={"url": url + "#top"}).json()
    assert config["corpid"] == CORP_ID and config["agentid"] == "1000002"
    assert config["jsApiList"] == ["getCurExternalContact", "getCurExternalChat", "sendChatMessage"]
    plain = f"jsapi_ticket={AGENT_TICKET}&noncestr={config['nonceStr']}&timestamp={config['timestamp']}&url={url}"
    assert config["signature"] == hashlib.sha1(plain.encode()).hexdigest()
    client.get("/sidebar/api/jsapi-config", params={"url": url})
    assert [c["query"]["type"] for c in fake.calls("ticket/get")] == ["agent_config"]  # cached

    elsewhere = client.get("/sidebar/api/jsapi-config", params={"url": "https://evil.example/sidebar"})
    assert elsewhere.status_code == 400


def test_jsapi_config_without_an_agent_id_is_503(make_client: Callable[..., TestClient], fake: FakeWeCom) -> None:
    client = make_client(wecom_agent_id="")
    sign_in(client, fake, "zhangsan")
    response = client.get("/sidebar/api/jsapi-config", params={"url": "http://testserver/sidebar"})
    assert response.status_code == 503
    assert "DRAFTBOT_WECOM_AGENT_ID" in response.json()["detail"]


def test_wecom_client_get_refetches_an_expired_token_once(fake: FakeWeCom) -> None:
    client = WeComClient(corp_id=CORP_ID, secret="s", api_base=fake.base_url, timeout=2)
    try:
        fake.add_oauth_code("A", "zhangsan")
        fake.add_oauth_code("B", "lisi")
        assert client.get("auth/getuserinfo", {"code": "A"})["userid"] == "zhangsan"
        fake.expire_tokens()
        assert client.get("auth/getuserinfo", {"code": "B"})["userid"] == "lisi"
        assert len(fake.calls("gettoken")) == 2
        with pytest.raises(WeComError) as caught:
            client.get("auth/getuserinfo", {"code": "A"})  # used already
        assert caught.value.errcode == 40029
    finally:
        client.close()
