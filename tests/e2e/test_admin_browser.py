"""The admin console in a real headless Chromium against a real draftbot process.

One server for the module, so the tests run in order and build on each other's versions: sign in,
teach an example and publish it, change a template and publish it, roll back, a broken template.
Every test saves screenshots of the pages it visits into tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx2 as httpx  # the test extra installs httpx2 (pyproject), which starlette 1.x uses too
import pytest

from bot.db.accounts import save_account
from bot.db.session import make_engine, make_sessions
from tests.conftest import DATA
from tests.e2e.browser import LAPTOP, SCREENSHOTS, TABLET, TIMEOUT_MS, chromium, need_chromium, no_horizontal_scroll, watch
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.browser
PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("admin-browser")
    return {
        "DRAFTBOT_DATABASE_URL": f"sqlite:///{tmp}/draftbot.db",
        "DRAFTBOT_INTENTS_DIR": str(DATA / "intents"),
        "DRAFTBOT_PERSONAS_DIR": str(DATA / "persona_styles"),
        "DRAFTBOT_WORKER_POLL_SECONDS": "0.05",
        "DRAFTBOT_CONFIG_POLL_SECONDS": "0.2",
        # the small test intents are too few to calibrate a 95% threshold: a fixed one keeps the flows about the console
        "DRAFTBOT_FALLBACK_THRESHOLD": "0.6",
        "DRAFTBOT_DEMO": "true",
        "TMP": str(tmp),
    }


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[ServerProcess]:
    need_chromium()
    with ServerProcess(env, Path(env["TMP"]) / "server.log") as process:
        engine = make_engine(env["DRAFTBOT_DATABASE_URL"])
        try:
            with make_sessions(engine)() as session:  # as `draftbot account create` would, without its start-up time
                now = datetime.now(timezone.utc)
                save_account(session, user_id="lin", role="admin", password=PASSWORD, now=now)
                save_account(session, user_id="wang", role="staff", password=PASSWORD, now=now)
                session.commit()
        finally:
            engine.dispose()
        yield process


@pytest.fixture(scope="module")
def browser(server: ServerProcess) -> Iterator[object]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def problems() -> list[str]:
    return []


@pytest.fixture
def context(browser, server: ServerProcess, problems: list[str]):
    """A laptop-sized browser context; any script error, failed request or external request fails the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS * 3)  # evaluating and publishing train classifiers
    yield context
    context.close()
    assert problems == []


def open_page(context, server: ServerProcess, problems: list[str], allowed: tuple[int, ...] = ()):
    page = context.new_page()
    watch(page, server.url, problems, lambda r: r.status >= 400 and r.status not in allowed)
    return page


def sign_in(page, server: ServerProcess, user: str = "lin", path: str = "/admin") -> None:
    page.goto(server.url + path)
    page.get_by_label("账号").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def nav(page, name: str):
    """A link of the console's main navigation."""
    return page.get_by_role("navigation", name="主导航").get_by_role("link", name=name, exact=True)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"admin-{name}.png"), full_page=True)


def demo_draft(server: ServerProcess, text: str, customer: str) -> dict:
    """A customer message through the demo channel; waits for its draft and returns it."""
    response = httpx.post(f"{server.url}/demo/messages", json={"text": text, "customer_id": customer}, timeout=10)
    response.raise_for_status()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        drafts = httpx.get(f"{server.url}/demo/conversation", params={"customer_id": customer}, timeout=5).json()["drafts"]
        if drafts:
            return drafts[0]  # newest first
        time.sleep(0.1)
    raise AssertionError(f"no draft for {text!r} within 15 s")


def eventually_draft(server: ServerProcess, text: str, customer: str, wanted, seconds: float = 10) -> dict:
    """A draft for `text` that satisfies `wanted`, asking again as a new customer until the deadline.

    The worker runs in its own process and follows the active version on its own poll, a moment
    after the web process that /healthz answers from.
    """
    deadline = time.monotonic() + seconds
    for attempt in range(1000):
        draft = demo_draft(server, text, f"{customer}-{attempt}")
        if wanted(draft) or time.monotonic() > deadline:
            return draft
        time.sleep(0.3)
    raise AssertionError("unreachable")


def active_version(server: ServerProcess) -> int:
    return httpx.get(f"{server.url}/healthz", timeout=5).json()["config_version"]


def wait_for_version(server: ServerProcess, number: int) -> None:
    deadline = time.monotonic() + 10
    while active_version(server) != number:
        assert time.monotonic() < deadline, f"the service did not switch to version {number}"
        time.sleep(0.1)


def test_sign_in_admins_only(context, server: ServerProcess, problems: list[str]) -> None:
    from playwright.sync_api import expect

    page = open_page(context, server, problems, allowed=(401, 403))
    page.goto(server.url + "/admin/intents")
    expect(page).to_have_url(server.url + "/admin/login?next=/admin/intents")
    shot(page, "login")

    page.get_by_label("账号").fill("lin")
    page.get_by_label("密码").fill("wrong password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("login-error")).to_have_text("账号或密码不正确。")
    expect(page.get_by_label("账号")).to_have_value("lin")

    sign_in(page, server, "wang", "/admin/intents")
    expect(page.get_by_test_id("login-error")).to_contain_text("员工账号")

    sign_in(page, server, "lin", "/admin/intents")
    expect(page).to_have_url(server.url + "/admin/intents")
    expect(nav(page, "意图")).to_have_attribute("aria-current", "page")

    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(server.url + "/admin/login")
    page.goto(server.url + "/admin/intents")
    expect(page.get_by_role("button", name="登录")).to_be_visible()


def signed_in_page(context, server: ServerProcess, problems: list[str], allowed: tuple[int, ...] = ()):
    page = open_page(context, server, problems, allowed)
    sign_in(page, server)
    return page


def evaluate_and_publish(page, server: ServerProcess, note: str) -> int:
    """Evaluate the draft, then publish it with a note; returns the new version once the service uses it."""
    from playwright.sync_api import expect

    nav(page, "训练评估").click()
    page.get_by_test_id("evaluate-button").click()
    expect(page.get_by_test_id("accuracy")).to_be_visible()
    for chart in ("confusion-chart", "coverage-chart"):  # inline SVG, drawn by the server with the page
        svg = page.get_by_test_id(chart)
        svg.scroll_into_view_if_needed()
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 150, (chart, box)
    expect(page.get_by_test_id("confusion-chart").locator("text.cm-row").first).to_be_visible()
    before = active_version(server)
    nav(page, "发布与版本").click()
    page.get_by_test_id("note").fill(note)
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("notice")).to_contain_text(f"已发布版本 {before + 1}")
    wait_for_version(server, before + 1)
    return before + 1


def test_new_intent_with_examples_evaluated_and_published_reaches_new_messages(
    context, server: ServerProcess, problems: list[str],
) -> None:
    from playwright.sync_api import expect

    assert demo_draft(server, "能帮我开发票吗", "before-invoice")["intent"] != "payment_invoice"
    page = signed_in_page(context, server, problems, allowed=(409,))  # the duplicate example below is refused with 409
    shot(page, "dashboard")
    nav(page, "意图").click()
    shot(page, "intents")
    form = page.get_by_test_id("new-intent-form")
    form.get_by_label("意图名（英文）").fill("payment_invoice")
    form.get_by_label("说明（中文）").fill("客户要开发票或询问付款方式")
    form.get_by_label("例句（可选，一行一句）").fill("我要开发票\n发票怎么开\n可以开增值税发票吗")
    form.get_by_role("button", name="创建意图").click()
    expect(page.get_by_test_id("notice")).to_contain_text("已为每个人设复制兜底话术")
    expect(page.get_by_test_id("intent-warning")).to_be_visible()  # 3 examples: fewer than needed to publish

    add = page.get_by_test_id("add-examples-form")
    add.get_by_label("新例句").fill("帮我把发票寄过来\n付款能用信用卡吗\n发票抬头写公司名")
    add.get_by_role("button", name="添加").click()
    expect(page.get_by_test_id("example-count")).to_contain_text("6")
    add.get_by_label("新例句").fill("我的订单到哪了")  # already an order_status example
    add.get_by_role("button", name="添加").click()
    expect(add.get_by_test_id("field-error")).to_contain_text("order_status")
    expect(add.get_by_label("新例句")).to_have_value("我的订单到哪了")
    shot(page, "intent")

    version = evaluate_and_publish(page, server, "新增意图：开发票和付款")
    shot(page, "versions")
    draft = eventually_draft(server, "能帮我开发票吗", "after-invoice", lambda d: d["intent"] == "payment_invoice")
    assert draft["intent"] == "payment_invoice", draft
    nav(page, "训练评估").click()
    expect(page.get_by_test_id("diff")).to_contain_text("payment_invoice")
    shot(page, "evaluate")
    assert version >= 2


GREETING = "/admin/personas/_default/templates/greeting"
NEW_GREETING = """{% extends "base.j2" %}
{% block v1 %}您好，欢迎光临小店，今天想了解点什么？{% endblock %}
{% block v2 %}您好，欢迎光临小店，有什么可以帮您？{% endblock %}
"""


def test_template_edited_previewed_and_published_shapes_the_next_draft(context, server: ServerProcess, problems: list[str]) -> None:
    from playwright.sync_api import expect

    assert "欢迎光临小店" not in demo_draft(server, "你好", "before-greeting")["text"]
    page = signed_in_page(context, server, problems)
    nav(page, "人设话术").click()
    shot(page, "personas")
    page.goto(server.url + GREETING)
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("您好")
    page.get_by_test_id("template-source").fill(NEW_GREETING)
    expect(page.get_by_test_id("preview-draft").first).to_contain_text("欢迎光临小店")  # live, before saving
    expect(page.get_by_test_id("preview-message").first).to_contain_text("你好")  # the latest real message of the intent
    shot(page, "template")
    page.get_by_test_id("save-template").click()
    expect(page.get_by_test_id("notice")).to_be_visible()
    expect(page.get_by_test_id("draftbar")).to_contain_text("尚未发布")
    assert "欢迎光临小店" not in demo_draft(server, "你好", "still-old-greeting")["text"]  # the draft is not live

    evaluate_and_publish(page, server, "问候语更热情")
    draft = eventually_draft(server, "你好", "after-greeting", lambda d: "欢迎光临小店" in d["text"])
    assert "欢迎光临小店" in draft["text"], draft


def test_rollback_brings_the_old_behaviour_back(context, server: ServerProcess, problems: list[str]) -> None:
    from playwright.sync_api import expect

    assert demo_draft(server, "你好", "before-rollback")["text"].count("欢迎光临小店") == 1
    page = signed_in_page(context, server, problems)
    nav(page, "发布与版本").click()
    page.once("dialog", lambda dialog: dialog.accept())  # 回滚到版本 1？
    page.locator("tr", has=page.get_by_text("shipped files")).get_by_test_id("rollback").click()
    expect(page.get_by_test_id("notice")).to_contain_text("版本 1 重新生效")
    wait_for_version(server, 1)
    draft = eventually_draft(server, "你好", "after-rollback", lambda d: "欢迎光临小店" not in d["text"])
    assert "欢迎光临小店" not in draft["text"], draft
    assert demo_draft(server, "能帮我开发票吗", "after-rollback-invoice")["intent"] != "payment_invoice"
    nav(page, "操作记录").click()
    audit = page.locator("main")
    expect(audit).to_contain_text("回滚")
    expect(audit).to_contain_text("问候语更热情")
    shot(page, "audit")


def test_a_broken_template_shows_its_error_and_is_not_saved(context, server: ServerProcess, problems: list[str]) -> None:
    from playwright.sync_api import expect

    page = signed_in_page(context, server, problems, allowed=(422,))
    page.goto(server.url + GREETING)
    source = page.get_by_test_id("template-source")
    broken = '{% extends "base.j2" %}\n{% block v1 %}您好 {{ 1 // 0 }}{% endblock %}\n{% block v2 %}您好{% if %}{% endblock %}\n'
    source.fill(broken)
    expect(page.get_by_test_id("preview-error").first).to_be_visible()
    shot(page, "template-error")
    page.get_by_test_id("save-template").click()
    expect(page.get_by_test_id("save-refused")).to_be_visible()
    expect(page.get_by_test_id("template-source")).to_have_value(broken)
    nav(page, "发布与版本").click()
    expect(page.get_by_test_id("draftbar")).not_to_contain_text("尚未发布")


def test_main_pages_fit_a_tablet(browser, server: ServerProcess, problems: list[str]) -> None:
    context = browser.new_context(viewport=TABLET, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page = signed_in_page(context, server, problems)
        for path in ("/admin", "/admin/intents", "/admin/intents/greeting", "/admin/personas", GREETING,
                     "/admin/evaluate", "/admin/inbox", "/admin/versions", "/admin/audit"):
            page.goto(server.url + path)
            assert no_horizontal_scroll(page), path
            shot(page, "tablet-" + (path.removeprefix("/admin").strip("/").replace("/", "-") or "dashboard"))
    finally:
        context.close()
    assert problems == []
