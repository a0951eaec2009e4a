"""The admin console on a phone (390 x 844): a compact menu, tables that keep their numbers in view, an editor that fits."""

from __future__ import annotations

import pytest

from tests.e2e.browser import PHONE, SCREENSHOTS, no_horizontal_scroll
from tests.e2e.server import ServerProcess
from tests.e2e.test_admin_browser import GREETING, browser, demo_draft, env, problems, server, shot, signed_in_page

pytestmark = pytest.mark.browser
PAGES = ("/admin", "/admin/intents", "/admin/intents/greeting", "/admin/personas", GREETING,
         "/admin/evaluate", "/admin/inbox", "/admin/versions", "/admin/audit")


def test_main_pages_and_the_template_editor_fit_a_phone(browser, server: ServerProcess, problems: list[str]) -> None:
    for customer, text in (("phone-1", "我的快递到哪了"), ("phone-2", "你好"), ("phone-3", "你们服务太差了")):
        demo_draft(server, text, customer)  # the dashboard has rows and charts to show
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page = signed_in_page(context, server, problems)
        misfits: list[str] = []
        for path in PAGES:
            page.goto(server.url + path)
            name = "phone-" + (path.removeprefix("/admin").strip("/").replace("/", "-") or "dashboard")
            shot(page, name)
            page.screenshot(path=str(SCREENSHOTS / f"admin-{name}-top.png"))  # what a phone shows first
            if not no_horizontal_scroll(page) or page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]:
                misfits.append(f"{path} scrolls sideways at 390 px")
            menu = page.locator("header.topbar").bounding_box()
            if menu["height"] > 110:
                misfits.append(f"{path}: the menu takes {menu['height']:.0f} px of 844")
            for index, table in enumerate(page.locator(".table-wrap").all()):
                table.screenshot(path=str(SCREENSHOTS / f"admin-{name}-table-{index}.png"))
                scroll = table.evaluate("t => t.scrollWidth - t.clientWidth")
                if scroll > 1:
                    misfits.append(f"{path}: a table scrolls sideways by {scroll} px")
        page.goto(server.url + GREETING)
        box = page.get_by_test_id("template-source").bounding_box()
        if box["x"] < 0 or box["x"] + box["width"] > PHONE["width"]:
            misfits.append(f"the template editor spans {box}")
        assert not misfits, "\n".join(misfits)
    finally:
        context.close()
    assert problems == []
