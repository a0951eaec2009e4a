"""The chat sidebar in a real headless Chromium against a real draftbot process and the fake WeCom API.

WeCom's OAuth page is played by a Playwright route that answers like WeCom (a redirect back to
/sidebar/auth with a code registered in the fake); WeCom's JS-SDK is played by a stand-in `wx`
injected before the page runs, which records what sendChatMessage was asked to insert. The page is
opened with ?sdk=0 so it does not load the real SDK from WeCom's servers.

Needs Debian's Chromium at /usr/bin/chromium; screenshots go to tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx2 as httpx  # the test extra installs httpx2 (pyproject), which starlette 1.x uses too
import pytest

from bot.db.models import Draft
from bot.db.session import make_engine, make_sessions
from bot.db.tokens import create_token
from tests.conftest import DATA
from tests.e2e.server import ServerProcess
from tests.e2e.browser import PHONE, SCREENSHOTS, TIMEOUT_MS, chromium, need_chromium, watch
from tests.factories import CORP_ID
from tests.fake_wecom import FakeWeCom
from tests.test_sidebar_api import AGENT_TICKET, agent_ticket_endpoint

pytestmark = pytest.mark.browser

STAFF = "zhangsan"
OAUTH = "https://open.weixin.qq.com/connect/oauth2/authorize"
_codes = itertools.count(1)
_customers = itertools.count(1)

# WeCom's JS-SDK, played in the page: agentConfig succeeds (and is remembered), getCurExternalContact
# answers the customer set in window.__customer, sendChatMessage records its arguments and says ok
# (or what window.__sendAnswer says).
STAND_IN_WX = """
(() => {
  window.__sent = [];
  window.__agentConfig = null;
  window.__customer = %(customer)s;
  window.__sendAnswer = "sendChatMessage:ok";
  window.wx = {
    agentConfig(cfg) { window.__agentConfig = JSON.parse(JSON.stringify(cfg)); setTimeout(() => cfg.success({errMsg: "agentConfig:ok"}), 20); },
    invoke(name, args, callback) {
      if (name === "getCurExternalContact") {
        const id = window.__customer;
        setTimeout(() => callback(id ? {err_msg: "getCurExternalContact:ok", userId: id} : {err_msg: "getCurExternalContact:fail"}), 20);
      } else if (name === "sendChatMessage") {
        window.__sent.push(JSON.parse(JSON.stringify(args)));
        setTimeout(() => callback({err_msg: window.__sendAnswer}), 20);
      } else {
        setTimeout(() => callback({err_msg: name + ":fail not stubbed"}), 0);
      }
    },
  };
})();
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWeCom]:
    need_chromium()
    with FakeWeCom() as server, agent_ticket_endpoint():
        yield server


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, fake: FakeWeCom) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("sidebar-browser")
    words = tmp / "sensitive.txt"
    words.write_text("保本\n", encoding="utf-8")
    return {
        "DRAFTBOT_DATABASE_URL": f"sqlite:///{tmp}/draftbot.db",
        "DRAFTBOT_INTENTS_DIR": str(DATA / "intents"),
        "DRAFTBOT_PERSONAS_DIR": str(DATA / "persona_styles"),
        "DRAFTBOT_WECOM_CORP_ID": CORP_ID,
        "DRAFTBOT_WECOM_SECRET": "app-secret",
        "DRAFTBOT_WECOM_AGENT_ID": "1000002",
        "DRAFTBOT_WECOM_API_BASE": fake.base_url,
        "DRAFTBOT_WECOM_TIMEOUT_SECONDS": "2",
        "DRAFTBOT_SENSITIVE_WORDS_FILE": str(words),
        "DRAFTBOT_WORKER_POLL_SECONDS": "0.05",
        "DRAFTBOT_QUIET_HOURS": "",  # the same answers at any time of day
        "_LOG": str(tmp / "server.log"),
    }


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[ServerProcess]:
    with ServerProcess({k: v for k, v in env.items() if k.startswith("DRAFTBOT_")}, Path(env["_LOG"])) as process:
        yield process


def token(env: dict[str, str], user: str, role: str) -> dict[str, str]:
    """A staff API token, written straight into the server's database (the CLI would take seconds to start)."""
    engine = make_engine(env["DRAFTBOT_DATABASE_URL"])
    try:
        with make_sessions(engine)() as session:
            _, secret = create_token(session, user_id=user, role=role, now=datetime.now(timezone.utc))
            session.commit()
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def staff(env: dict[str, str], server: ServerProcess) -> dict[str, str]:
    return token(env, STAFF, "staff")


@pytest.fixture(scope="module")
def admin(env: dict[str, str], server: ServerProcess) -> dict[str, str]:
    return token(env, "boss", "admin")


@pytest.fixture(scope="module")
def browser(server: ServerProcess) -> Iterator[object]:
    with chromium() as browser:
        yield browser


class Sidebar:
    """A phone-sized browser context signed in through (emulated) WeCom OAuth, with or without the stand-in SDK."""

    def __init__(self, browser, server: ServerProcess, fake: FakeWeCom) -> None:
        self.browser, self.server, self.fake = browser, server, fake
        self.problems: list[str] = []
        self.allowed_failures: list[tuple[int, str]] = []  # (status, url ending) a test provokes on purpose
        self.contexts: list[object] = []

    def open(self, *, customer: str | None, sdk: bool = True, user: str = STAFF, good_code: bool = True,
             timezone_id: str = "Asia/Shanghai"):
        context = self.browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id=timezone_id,
                                           device_scale_factor=2, is_mobile=True, has_touch=True)
        self.contexts.append(context)
        if sdk:
            context.add_init_script(STAND_IN_WX % {"customer": json.dumps(customer)})
        page = context.new_page()
        watch(page, self.server.url, self.problems, self._bad)
        page.goto(self._wecom_oauth(context, user if good_code else None))
        return page

    def _wecom_oauth(self, context, user: str | None) -> str:
        """Open /sidebar as the page would, and play WeCom's OAuth page: the URL WeCom sends the browser back to.

        /sidebar answers a redirect to WeCom and sets the state cookie; the context's request API
        shares the browser's cookie jar, so the state cookie is there when the page visits
        /sidebar/auth. WeCom (snsapi_base, inside its client) goes straight back to redirect_uri
        with a fresh code, registered in the fake for `user` (None: a code WeCom will not accept).
        Playwright's routes do not see redirect targets, hence this instead of a route.
        """
        start = context.request.get(self.server.url + "/sidebar?sdk=0", max_redirects=0)
        assert start.status == 302, start.text()
        target = urlsplit(start.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == OAUTH and target.fragment == "wechat_redirect"
        query = parse_qs(target.query)
        assert query["appid"] == [CORP_ID] and query["scope"] == ["snsapi_base"]
        assert query["redirect_uri"] == [self.server.url + "/sidebar/auth"]
        assert any(c["name"] == "draftbot_sidebar_state" and c["httpOnly"] for c in context.cookies())
        code = f"e2e-code-{next(_codes)}"
        if user is not None:
            self.fake.add_oauth_code(code, user)
        return query["redirect_uri"][0] + "?" + urlencode({"code": code, "state": query["state"][0]})

    def _bad(self, response) -> bool:
        if response.status < 400:
            return False
        return not any(response.status == status and urlsplit(response.url).path.endswith(end) for status, end in self.allowed_failures)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def sidebar(browser, server: ServerProcess, fake: FakeWeCom) -> Iterator[Sidebar]:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    SCREENSHOTS.mkdir(exist_ok=True)
    helper = Sidebar(browser, server, fake)
    yield helper
    helper.close()
    assert helper.problems == []


def new_customer() -> str:
    return f"wmE2E{int(time.time())}c{next(_customers)}"


def customer_writes(server: ServerProcess, admin: dict[str, str], customer: str, text: str) -> dict:
    """A message of the staff member's own chat, as a trusted archive pipeline would feed it; returns its draft."""
    body = {"channel": "archive", "customer_id": customer, "text": text, "msg_id": f"{customer}-{time.time_ns()}",
            "staff_id": STAFF, "customer_name": "王女士", "verified_customer": True}
    response = httpx.post(f"{server.url}/api/messages", json=body, headers=admin, timeout=5)
    assert response.status_code == 202, response.text
    return wait_for(lambda: next(iter(httpx.get(f"{server.url}/api/drafts", params={"customer_id": customer}, headers=admin, timeout=5).json()), None))


def wait_for(condition: Callable[[], object], timeout: float = 15.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def draft(server: ServerProcess, admin: dict[str, str], draft_id: int) -> dict:
    return httpx.get(f"{server.url}/api/drafts/{draft_id}", headers=admin, timeout=5).json()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_staff_edit_a_draft_and_insert_it_into_the_chat(sidebar: Sidebar, server: ServerProcess, staff, admin) -> None:
    from playwright.sync_api import expect

    customer = new_customer()
    made = customer_writes(server, admin, customer, "我的快递到哪了")
    page = sidebar.open(customer=customer)

    card = page.get_by_test_id("draft-card")
    expect(card).to_have_count(1)
    expect(page.get_by_test_id("customer")).to_have_text("客户：王女士")
    expect(card.get_by_test_id("draft-message")).to_have_text("我的快递到哪了")
    expect(card.get_by_test_id("draft-intent")).to_have_text("订单进度")  # the Chinese name, the id beside it in small text
    expect(card.get_by_test_id("draft-intent-id")).to_have_text("order_status")
    expect(card.get_by_test_id("draft-persona")).to_have_text(made["persona"])
    expect(card.get_by_test_id("draft-status")).to_have_text("待回复")
    expect(card.get_by_test_id("draft-text")).to_have_value(made["text"])
    expect(page.get_by_test_id("me")).to_have_text(STAFF)
    assert no_horizontal_scroll(page), "the sidebar scrolls sideways at 390 px"
    page.screenshot(path=str(SCREENSHOTS / "sidebar-phone-draft.png"))

    # The JS-SDK was configured for this very page with a signature from the app's agent ticket.
    config = page.evaluate("window.__agentConfig")
    assert config["corpid"] == CORP_ID and config["agentid"] == "1000002"
    assert config["jsApiList"] == ["getCurExternalContact", "getCurExternalChat", "sendChatMessage"]
    plain = f"jsapi_ticket={AGENT_TICKET}&noncestr={config['nonceStr']}&timestamp={config['timestamp']}&url={page.url.split('#')[0]}"
    assert config["signature"] == hashlib.sha1(plain.encode()).hexdigest()

    edited = "王女士您好，您的包裹已到小区驿站，取件码 8-2-1034，今天就能取。"
    assert edited != made["text"]
    card.get_by_test_id("draft-text").fill(edited)
    expect(card).to_contain_text("已修改")
    card.get_by_test_id("insert").click()

    expect(card.get_by_test_id("draft-status")).to_have_text("已插入聊天")
    expect(card.get_by_test_id("sent-text")).to_have_text(edited)
    assert page.evaluate("window.__sent") == [{"msgtype": "text", "enterChat": True, "text": {"content": edited}}]
    out = draft(server, admin, made["id"])
    assert (out["status"], out["final_text"], out["approved_by"]) == ("sent", edited, STAFF)
    assert out["sent_at"]
    expect(page.get_by_test_id("notice")).to_contain_text("暂无待回复的草稿")
    page.screenshot(path=str(SCREENSHOTS / "sidebar-phone-sent.png"))

    # The customer writes again: after a refresh (the page also polls every few seconds) the new draft is on top.
    customer_writes(server, admin, customer, "能开发票吗")
    page.get_by_test_id("refresh").click()
    expect(card.first.get_by_test_id("draft-message")).to_have_text("能开发票吗")
    expect(card).to_have_count(2)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__sent") == [{"msgtype": "text", "enterChat": True, "text": {"content": edited}}]


def make_unsolicited_promotion(env: dict[str, str], draft_id: int) -> None:
    """Turn a draft into a promotion the customer did not ask for (the shipped test data has no such template)."""
    engine = make_engine(env["DRAFTBOT_DATABASE_URL"])
    try:
        with make_sessions(engine)() as session:
            row = session.get(Draft, draft_id)
            row.marketing, row.solicited = True, False
            session.commit()
    finally:
        engine.dispose()


def backdate(env: dict[str, str], draft_id: int, moment: datetime) -> None:
    """Give a draft an earlier creation time, as if it had waited since then."""
    engine = make_engine(env["DRAFTBOT_DATABASE_URL"])
    try:
        with make_sessions(engine)() as session:
            session.get(Draft, draft_id).created_at = moment
            session.commit()
    finally:
        engine.dispose()


def test_times_are_the_brands_beijing_time_and_say_so_whatever_the_browsers_zone(sidebar: Sidebar, server: ServerProcess, env, admin) -> None:
    from playwright.sync_api import expect

    today = customer_writes(server, admin, customer := new_customer(), "能开发票吗")
    page = sidebar.open(customer=customer, timezone_id="America/Los_Angeles")
    assert page.evaluate("new Date(Date.UTC(2025, 5, 30, 16, 30)).getHours()") == 9  # the browser really is in Los Angeles
    beijing = datetime.fromisoformat(today["created_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    shown = page.get_by_test_id("draft-card").locator(".card-time")
    expect(shown).to_have_text(f"{beijing:%H:%M}（北京时间）")
    expect(shown).to_have_attribute("title", f"{beijing.year}年{beijing.month}月{beijing.day}日 {beijing:%H:%M}（北京时间）")

    # 2025-06-30 09:30 in Los Angeles, where the browser is; 2025-07-01 00:30 in Beijing, the brand's zone.
    older = customer_writes(server, admin, customer := new_customer(), "我的快递到哪了")
    backdate(env, older["id"], datetime(2025, 6, 30, 16, 30, tzinfo=timezone.utc))
    page = sidebar.open(customer=customer, timezone_id="America/Los_Angeles")
    expect(page.get_by_test_id("draft-card").locator(".card-time")).to_have_text("2025年7月1日 00:30（北京时间）")
    assert no_horizontal_scroll(page), "the named time pushes the sidebar sideways at 390 px"


def test_policy_checks_are_shown_and_stop_the_insert_before_the_chat(sidebar: Sidebar, server: ServerProcess, env, staff, admin) -> None:
    from playwright.sync_api import expect

    customer = new_customer()
    made = customer_writes(server, admin, customer, "我的快递到哪了")
    make_unsolicited_promotion(env, made["id"])
    opted = httpx.post(f"{server.url}/api/customers/archive/{customer}/opt-out", json={"reason": "别再发了"}, headers=staff, timeout=5)
    assert opted.status_code == 201
    sidebar.allowed_failures.append((409, "/check"))
    page = sidebar.open(customer=customer)
    card = page.get_by_test_id("draft-card")
    checks = card.get_by_test_id("draft-checks")
    expect(checks).to_be_visible()
    expect(checks).to_contain_text("插入前请注意")
    opted_out = re.compile(r"客户已于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}（北京时间）退订营销消息")
    expect(checks.get_by_test_id("draft-check")).to_have_text(opted_out)
    page.screenshot(path=str(SCREENSHOTS / "sidebar-phone-checks.png"))

    card.get_by_test_id("insert").click()
    expect(card.get_by_test_id("card-error")).to_contain_text(opted_out)
    page.wait_for_timeout(200)
    assert page.evaluate("window.__sent") == []  # refused before WeCom was asked to insert anything
    assert draft(server, admin, made["id"])["status"] == "pending"

    # The customer asks for news again: the opt-out is lifted, the warning goes, the insert goes through.
    lifted = httpx.request("DELETE", f"{server.url}/api/customers/archive/{customer}/opt-out", json={}, headers=staff, timeout=5)
    assert lifted.status_code == 200
    page.get_by_test_id("refresh").click()
    expect(checks).to_be_hidden()
    card.get_by_test_id("insert").click()
    expect(card.get_by_test_id("draft-status")).to_have_text("已插入聊天")
    assert [m["text"]["content"] for m in page.evaluate("window.__sent")] == [made["text"]]


def test_a_refused_text_never_reaches_the_chat_and_a_failed_record_says_so(sidebar: Sidebar, server: ServerProcess, staff, admin) -> None:
    from playwright.sync_api import expect

    customer = new_customer()
    made = customer_writes(server, admin, customer, "我的快递到哪了")
    sidebar.allowed_failures += [(409, "/check"), (503, "/sent")]
    page = sidebar.open(customer=customer)
    card = page.get_by_test_id("draft-card")
    text = card.get_by_test_id("draft-text")
    expect(text).to_have_value(made["text"])

    # A sensitive word: the server refuses before sendChatMessage is ever called.
    text.fill("您好，这款理财保本，放心买。")
    card.get_by_test_id("insert").click()
    expect(card.get_by_test_id("card-error")).to_contain_text("没有插入")
    expect(card.get_by_test_id("card-error")).to_contain_text("含敏感词（保本），请修改后再发送")
    expect(card.get_by_test_id("insert")).to_be_enabled()
    assert page.evaluate("window.__sent") == []
    page.screenshot(path=str(SCREENSHOTS / "sidebar-phone-refused.png"))

    # Cancelled in WeCom: nothing sent, nothing recorded.
    text.fill("您好，包裹明天送到。")
    page.evaluate("window.__sendAnswer = 'sendChatMessage:cancel'")
    card.get_by_test_id("insert").click()
    expect(card.get_by_test_id("card-note")).to_have_text("已取消，没有发送。")
    assert draft(server, admin, made["id"])["status"] == "pending"

    # Inserted, but the record fails: the page says the message is in the chat and offers only a retry of the record.
    page.evaluate("window.__sendAnswer = 'sendChatMessage:ok'")
    page.route("**/sent", lambda route: route.fulfill(status=503, content_type="application/json", body='{"detail": "database unavailable"}'))
    card.get_by_test_id("insert").click()
    expect(card.get_by_test_id("card-error")).to_contain_text("消息已插入聊天，但没有记录成功")
    expect(card.get_by_test_id("insert")).to_be_hidden()
    expect(card.get_by_test_id("retry-record")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "sidebar-phone-unrecorded.png"))
    page.unroute("**/sent")
    card.get_by_test_id("retry-record").click()
    expect(card.get_by_test_id("draft-status")).to_have_text("已插入聊天")
    # sendChatMessage was asked twice (the cancelled insert, then the real one); the retry only recorded
    assert [m["text"]["content"] for m in page.evaluate("window.__sent")] == ["您好，包裹明天送到。"] * 2
    out = draft(server, admin, made["id"])
    assert (out["status"], out["final_text"], out["approved_by"]) == ("sent", "您好，包裹明天送到。", STAFF)


def test_not_in_wecom_no_customer_and_no_drafts_are_explained(sidebar: Sidebar) -> None:
    from playwright.sync_api import expect

    page = sidebar.open(customer=None, sdk=False)
    notice = page.get_by_test_id("notice")
    expect(notice).to_have_attribute("data-state", "no-sdk")
    expect(notice).to_contain_text("请在企业微信中打开")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "sidebar-phone-not-in-wecom.png"))

    page = sidebar.open(customer=None)
    expect(page.get_by_test_id("notice")).to_have_attribute("data-state", "no-customer")
    expect(page.get_by_test_id("notice")).to_contain_text("没有识别到当前客户")

    page = sidebar.open(customer=new_customer())
    expect(page.get_by_test_id("notice")).to_have_attribute("data-state", "empty")
    expect(page.get_by_test_id("notice")).to_contain_text("暂无待回复的草稿")
    page.screenshot(path=str(SCREENSHOTS / "sidebar-phone-empty.png"))


def test_a_bad_oauth_code_shows_a_chinese_error_page(sidebar: Sidebar) -> None:
    from playwright.sync_api import expect

    sidebar.allowed_failures.append((401, "/sidebar/auth"))
    page = sidebar.open(customer=None, good_code=False)
    problem = page.get_by_test_id("problem")
    expect(problem).to_contain_text("登录失败")
    expect(problem).to_contain_text("40029")
    expect(page.get_by_test_id("sign-in-again")).to_be_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "sidebar-phone-sign-in-error.png"))


def test_an_insert_whose_record_needs_a_new_sign_in_is_recorded_when_the_sidebar_reopens(sidebar: Sidebar, server: ServerProcess, staff, admin) -> None:
    from playwright.sync_api import expect

    customer = new_customer()
    made = customer_writes(server, admin, customer, "我的快递到哪了")
    sidebar.allowed_failures.append((401, "/sent"))
    page = sidebar.open(customer=customer)
    card = page.get_by_test_id("draft-card")
    expect(card.get_by_test_id("draft-text")).to_have_value(made["text"])
    page.route("**/sent", lambda route: route.fulfill(
        status=401, content_type="application/json",
        body='{"detail": "没有登录或登录已过期：请关闭侧边栏后重新打开"}'))
    card.get_by_test_id("insert").click()
    expect(card.get_by_test_id("card-error")).to_contain_text("请关闭并重新打开侧边栏，打开后会自动补记")
    expect(card.get_by_test_id("retry-record")).to_be_hidden()
    assert draft(server, admin, made["id"])["status"] == "pending"

    page.unroute("**/sent")
    page.reload()  # reopened: the insert is recorded first, so the draft is no longer waiting
    expect(page.get_by_test_id("notice")).to_have_attribute("data-state", "empty")
    out = draft(server, admin, made["id"])
    assert (out["status"], out["final_text"], out["approved_by"]) == ("sent", made["text"].strip(), STAFF)
    assert len(page.evaluate("window.__sent")) == 0  # the reloaded page's stand-in: nothing inserted again
