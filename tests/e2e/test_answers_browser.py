"""The demo page on the shipped data: a factual question gets a draft that says the brand's answer and names it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import LAPTOP, TIMEOUT_MS, chromium, need_chromium, watch
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    need_chromium()
    tmp = tmp_path_factory.mktemp("answers-browser")
    env = {
        "DRAFTBOT_DATABASE_URL": f"sqlite:///{tmp}/draftbot.db",
        "DRAFTBOT_INTENTS_DIR": str(ROOT / "intents"),
        "DRAFTBOT_PERSONAS_DIR": str(ROOT / "persona_styles"),
        "DRAFTBOT_WORKER_POLL_SECONDS": "0.05",
        "DRAFTBOT_DEMO": "true",
    }
    with ServerProcess(env, tmp / "server.log") as process:
        yield process


def test_a_factual_question_gets_the_answer_and_the_card_names_it(server: ServerProcess) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with chromium() as browser:
        context = browser.new_context(viewport=LAPTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = context.new_page()
        problems: list[str] = []
        watch(page, server.url, problems, lambda response: response.status >= 400)
        page.goto(server.url + "/")
        cards = page.get_by_test_id("draft-card")
        page.get_by_test_id("customer-input").fill("退货的快递费要我自己出吗")
        page.get_by_test_id("customer-input").press("Enter")
        card = cards.filter(has_text="退货的快递费要我自己出吗")
        expect(card.get_by_test_id("draft-answer")).to_be_visible()
        expect(card.get_by_test_id("draft-answer")).to_contain_text("return_shipping")
        expect(card.get_by_test_id("draft-text")).to_have_value(re.compile("质量问题退换的运费由栖木承担；无理由退货的寄回运费由顾客承担"))
        page.get_by_test_id("customer-input").fill("我要投诉")
        page.get_by_test_id("customer-input").press("Enter")
        other = cards.filter(has_text="我要投诉")
        expect(other.get_by_test_id("draft-text")).not_to_have_value("")
        expect(other.get_by_test_id("draft-answer")).to_be_hidden()
        context.close()
        assert problems == []
