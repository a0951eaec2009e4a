"""The demo page in a real headless Chromium against a real draftbot process."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2 as httpx  # the test extra installs httpx2 (pyproject), which starlette 1.x uses too
import pytest

from tests.conftest import DATA
from tests.e2e.browser import LAPTOP, PHONE, SCREENSHOTS, TIMEOUT_MS, chromium, need_chromium, no_horizontal_scroll, watch
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    need_chromium()
    tmp = tmp_path_factory.mktemp("demo-browser")
    env = {
        "DRAFTBOT_DATABASE_URL": f"sqlite:///{tmp}/draftbot.db",
        "DRAFTBOT_INTENTS_DIR": str(DATA / "intents"),
        "DRAFTBOT_PERSONAS_DIR": str(DATA / "persona_styles"),
        "DRAFTBOT_WORKER_POLL_SECONDS": "0.05",
        "DRAFTBOT_DEMO": "true",
    }
    with ServerProcess(env, tmp / "server.log") as process:
        yield process


@pytest.fixture(scope="module")
def browser(server: ServerProcess) -> Iterator[object]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, server: ServerProcess):
    """A fresh page (own storage, so its own demo conversation) that fails the test on any script error."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    problems: list[str] = []
    watch(page, server.url, problems, bad_response)  # offline: nothing but our own server may be asked for anything
    yield page
    context.close()
    assert problems == []


def bad_response(response) -> bool:
    """Any failed request fails the test, except the 409 one test provokes on purpose."""
    return response.status >= 400 and not (response.status == 409 and response.url.endswith("/approve"))


def customer_id(page) -> str:
    return page.evaluate("localStorage.getItem('draftbot-demo-customer-id')")


def conversation(server: ServerProcess, cid: str) -> dict:
    response = httpx.get(f"{server.url}/demo/conversation", params={"customer_id": cid}, timeout=5)
    response.raise_for_status()
    return response.json()


def set_hidden(page, hidden: bool) -> None:
    """Pretend the tab was hidden (or shown again), as when the user switches tabs."""
    page.evaluate(
        "hidden => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


def test_customer_asks_staff_edits_and_sends_then_rejects(page, server: ServerProcess) -> None:
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(exist_ok=True)
    page.goto(server.url + "/")
    expect(page.get_by_text("这是演示：在「客户」一栏扮演客户发消息，在「员工审核」一栏扮演员工审核草稿")).to_be_visible()
    chat = page.get_by_test_id("chat-message")
    cards = page.get_by_test_id("draft-card")
    replies = page.locator('[data-testid="chat-message"][data-direction="out"]')

    # The customer asks where the parcel is (Enter sends).
    page.get_by_test_id("customer-name").fill("小王")
    page.get_by_test_id("customer-input").fill("我的快递到哪了")
    page.get_by_test_id("customer-input").press("Enter")
    expect(chat).to_have_count(1)
    expect(chat.first).to_have_text("我的快递到哪了")
    expect(page.get_by_test_id("customer-input")).to_have_value("")

    # A draft appears for the staff member: intent, confidence, persona, editable text.
    card = cards.filter(has_text="我的快递到哪了")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("draft-intent")).to_have_text("订单进度")  # the Chinese name, the id beside it in small text
    expect(card.get_by_test_id("draft-intent-id")).to_have_text("order_status")
    expect(card.get_by_test_id("draft-intent")).to_have_attribute("title", "order_status")
    expect(card).to_contain_text(re.compile(r"\d+%"))
    expect(card.get_by_test_id("draft-status")).to_have_text("待审核")
    draft_text = card.get_by_test_id("draft-text")
    expect(draft_text).not_to_have_value("")
    original = draft_text.input_value()
    page.screenshot(path=str(SCREENSHOTS / "demo-laptop-pending.png"))

    # Staff edit the draft and send it: the customer gets exactly the edited text.
    edited = "小王您好，您的包裹已到小区驿站，取件码 8-2-1034，今天可以去取。"
    assert edited != original
    draft_text.fill(edited)
    card.get_by_test_id("approve").click()
    expect(replies).to_have_count(1)
    expect(replies.first).to_have_text(edited)
    done = cards.filter(has_text="我的快递到哪了")
    expect(done.get_by_test_id("draft-status")).to_have_text("已修改发送")
    expect(done.get_by_test_id("draft-text")).to_have_count(0)  # decided: no longer editable

    # A second message that the staff member decides not to answer.
    page.get_by_test_id("customer-input").fill("你们服务太差了")
    page.get_by_test_id("customer-send").click()
    second = cards.filter(has_text="你们服务太差了")
    expect(second.get_by_test_id("draft-status")).to_have_text("待审核")
    expect(second.get_by_test_id("draft-intent")).to_have_text("投诉")
    second.get_by_test_id("reject").click()
    expect(second.get_by_test_id("draft-status")).to_have_text("未发送")
    page.wait_for_timeout(1500)  # the worker polls every 50 ms and the page every 800 ms: plenty of time to leak
    expect(replies).to_have_count(1)
    expect(chat).to_have_count(3)
    expect(replies.first).to_have_text(edited)

    # The server agrees: one reply, exactly the edited text; the rejected draft sent nothing.
    data = conversation(server, customer_id(page))
    assert [(m["direction"], m["text"]) for m in data["messages"]] == [
        ("in", "我的快递到哪了"), ("out", edited), ("in", "你们服务太差了"),
    ]
    assert [d["status"] for d in data["drafts"]] == ["rejected", "sent"]

    # Screenshots: a laptop and a phone, with one draft waiting so the card is visible.
    page.get_by_test_id("customer-input").fill("最近有什么优惠吗")
    page.get_by_test_id("customer-send").click()
    promo = cards.filter(has_text="最近有什么优惠吗")
    expect(promo.get_by_test_id("draft-flag").first).to_be_visible()
    expect(promo.get_by_test_id("draft-flag").first).to_contain_text("营销")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "demo-laptop.png"))
    expect(page.get_by_test_id("jump-review")).to_be_hidden()  # side by side: the review pane is in view
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    assert no_horizontal_scroll(page), "the page scrolls sideways at 390 px"
    page.screenshot(path=str(SCREENSHOTS / "demo-phone.png"), full_page=True)
    # Stacked, the review pane is below the chat: a pill says a draft waits and jumps to it.
    jump = page.get_by_test_id("jump-review")
    expect(jump).to_be_visible()
    expect(jump).to_contain_text("1 条草稿待审核")
    page.screenshot(path=str(SCREENSHOTS / "demo-phone-top.png"))
    jump.click()
    expect(promo.get_by_test_id("approve")).to_be_in_viewport()
    expect(jump).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "demo-phone-review.png"))


def test_text_is_shown_as_text_and_new_conversation_starts_clean(page, server: ServerProcess) -> None:
    from playwright.sync_api import expect

    page.goto(server.url + "/")
    first_id = customer_id(page)
    markup = '<img src=x onerror="window.__pwned=1"><b>你好</b>'
    page.get_by_test_id("customer-input").fill(markup)
    page.get_by_test_id("customer-send").click()
    chat = page.get_by_test_id("chat-message")
    expect(chat.first).to_have_text(markup)
    card = page.get_by_test_id("draft-card").first
    expect(card.get_by_test_id("draft-message")).to_have_text(markup)
    assert page.locator("#chat img, #chat b, #drafts img, #drafts b").count() == 0
    assert page.evaluate("window.__pwned") is None

    # A blank edit is refused in the page, before any request.
    card.get_by_test_id("draft-text").fill("   ")
    card.get_by_test_id("approve").click()
    expect(card).to_contain_text("回复内容不能为空")
    expect(card.get_by_test_id("draft-status")).to_have_text("待审核")

    # A hidden tab stops polling.
    polls: list[str] = []
    page.on("request", lambda req: polls.append(req.url) if "/demo/conversation" in req.url else None)
    set_hidden(page, True)
    page.wait_for_timeout(1000)  # let a poll that was already under way finish
    polls.clear()
    page.wait_for_timeout(2000)
    assert polls == []

    # A refused request shows the server's reason: reject the draft behind the (paused) page's back, then send it.
    draft_id = conversation(server, first_id)["drafts"][0]["id"]
    httpx.post(f"{server.url}/demo/drafts/{draft_id}/reject", json={}, timeout=5).raise_for_status()
    card.get_by_test_id("draft-text").fill("好的")
    card.get_by_test_id("approve").click()
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("409")
    expect(error).to_contain_text("已选择不发，不能再批准")
    expect(card).to_contain_text("没有发送")
    set_hidden(page, False)  # visible again: polling resumes and shows the truth
    expect(page.get_by_test_id("draft-status").first).to_have_text("未发送")
    assert polls

    # 新对话: a fresh customer id, an empty chat and no drafts.
    page.get_by_test_id("new-conversation").click()
    expect(chat).to_have_count(0)
    expect(page.get_by_test_id("draft-card")).to_have_count(0)
    assert customer_id(page) != first_id
    page.get_by_test_id("customer-input").fill("你好")
    page.get_by_test_id("customer-input").press("Enter")
    expect(chat).to_have_count(1)
    expect(page.get_by_test_id("draft-card")).to_have_count(1)
    assert [m["text"] for m in conversation(server, customer_id(page))["messages"]] == ["你好"]


def test_a_second_message_before_a_decision_replaces_the_draft_and_says_so(page, server: ServerProcess) -> None:
    from playwright.sync_api import expect

    page.goto(server.url + "/")
    for text in ("你好", "我的快递到哪了"):
        page.get_by_test_id("customer-input").fill(text)
        page.get_by_test_id("customer-send").click()
        expect(page.get_by_test_id("draft-message").first).to_contain_text(text)
    cards = page.get_by_test_id("draft-card")
    expect(cards).to_have_count(2)
    expect(cards.nth(0).get_by_test_id("draft-intent")).to_have_text("订单进度")
    expect(cards.nth(1).get_by_test_id("draft-status")).to_have_text("客户又发了消息，已由新草稿取代")


def test_a_visitor_compares_personas_on_a_phone_in_another_time_zone(browser, server: ServerProcess) -> None:
    """Stacked panes say no left or right; the picker drafts in each persona; times are the brand's, named."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from playwright.sync_api import expect

    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="America/New_York")
    page = context.new_page()
    problems: list[str] = []
    watch(page, server.url, problems, bad_response)
    page.goto(server.url + "/")
    explain = page.get_by_test_id("explain")
    expect(explain).to_contain_text("「客户」一栏")
    assert "左" not in explain.inner_text() and "右" not in explain.inner_text()
    picker = page.get_by_test_id("persona-picker")
    assert picker.locator("option").all_inner_texts() == ["客服", "福利官 Lucky"]
    expect(picker).to_have_value("_default")
    expect(page.get_by_text("时间均为北京时间")).to_be_attached()

    seen = {}
    for value, label in (("lucky", "福利官 Lucky"), ("_default", "客服")):
        page.get_by_test_id("new-conversation").click()
        picker.select_option(value)
        page.get_by_test_id("customer-input").fill("我的快递到哪了")
        page.get_by_test_id("customer-send").click()
        card = page.get_by_test_id("draft-card").filter(has_text="我的快递到哪了")
        expect(card.get_by_test_id("draft-persona")).to_have_text(label)
        expect(card.get_by_test_id("draft-text")).not_to_have_value("")
        seen[value] = card.get_by_test_id("draft-text").input_value()
        [draft] = conversation(server, customer_id(page))["drafts"]
        assert draft["persona"] == value
        created = datetime.fromisoformat(draft["created_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
        expect(card.locator(".card-time")).to_have_text(created.strftime("%H:%M:%S"))
        expect(card.locator(".card-time")).to_have_attribute("title", re.compile(r"（北京时间）$"))
        assert no_horizontal_scroll(page), "the page scrolls sideways at 390 px"
    assert "Lucky" in seen["lucky"] and seen["lucky"] != seen["_default"]
    page.reload()
    expect(picker).to_have_value("_default")  # the last pick is remembered
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "demo-phone-persona.png"), full_page=True)
    context.close()
    assert problems == []


def test_a_message_asking_two_things_gets_one_draft_naming_both(page, server: ServerProcess) -> None:
    from playwright.sync_api import expect

    page.goto(server.url + "/")
    page.get_by_test_id("customer-name").fill("阿青")
    page.get_by_test_id("customer-input").fill("我的快递到哪了？另外最近有什么优惠活动吗")
    page.get_by_test_id("customer-send").click()
    card = page.get_by_test_id("draft-card").filter(has_text="我的快递到哪了")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("draft-intent")).to_have_text("订单进度 + 优惠活动")  # both, the primary first
    expect(card.get_by_test_id("draft-text")).to_have_value(re.compile(r"^阿青"))  # the name the customer gave
    [draft] = conversation(server, customer_id(page))["drafts"]
    assert draft["intents"] == ["order_status", "promotion_inquiry"] and draft["marketing"] is True
