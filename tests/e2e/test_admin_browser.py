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
def context(browser, server: ServerProcess, problems: list[str]):  # noqa: ANN001, ANN201
    """A laptop-sized browser context; any script error, failed request or external request fails the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS * 3)  # evaluating and publishing train classifiers
    yield context
    context.close()
    assert problems == []


def open_page(context, server: ServerProcess, problems: list[str], allowed: tuple[int, ...] = ()):  # noqa: ANN001, ANN201
    page = context.new_page()
    watch(page, server.url, problems, lambda r: r.status >= 400 and r.status not in allowed)
    return page


def sign_in(page, server: ServerProcess, user: str = "lin", path: str = "/admin") -> None:  # noqa: ANN001
    page.goto(server.url + path)
    page.get_by_label("账号").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def shot(page, name: str) -> None:  # noqa: ANN001
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
            return drafts[-1]
        time.sleep(0.1)
    raise AssertionError(f"no draft for {text!r} within 15 s")


def active_version(server: ServerProcess) -> int:
    return httpx.get(f"{server.url}/healthz", timeout=5).json()["config_version"]


def wait_for_version(server: ServerProcess, number: int) -> None:
    deadline = time.monotonic() + 10
    while active_version(server) != number:
        assert time.monotonic() < deadline, f"the service did not switch to version {number}"
        time.sleep(0.1)


def test_sign_in_admins_only(context, server: ServerProcess, problems: list[str]) -> None:  # noqa: ANN001
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
    expect(page.get_by_role("link", name="意图")).to_have_attribute("aria-current", "page")

    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(server.url + "/admin/login")
    page.goto(server.url + "/admin/intents")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
