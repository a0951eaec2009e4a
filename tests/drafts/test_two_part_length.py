"""A reply to two questions stays within the persona's length limit: the softer part goes before the facts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.drafts.pipeline import Inbound, Pipeline
from bot.wiring import load_pipeline
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "你们晚上几点关门？还有这个杯子多少钱"  # a fact the brand wrote down, and a price nobody wrote down


def pipeline_with_limit(folder: Path, max_chars: int | None) -> Pipeline:
    """The shipped configuration, the default persona's `max_chars` set to `max_chars` (None: as shipped)."""
    personas = folder / f"persona_styles_{max_chars or 'shipped'}"
    if not personas.exists():
        shutil.copytree(ROOT / "persona_styles", personas)
    if max_chars is not None:
        path = personas / "_default" / "persona.yml"
        path.write_text(re.sub(r"(?m)^max_chars: \d+$", f"max_chars: {max_chars}", path.read_text(encoding="utf-8")),
                        encoding="utf-8")
    return load_pipeline(make_settings("sqlite://", intents_dir=ROOT / "intents", personas_dir=personas))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("length")


@pytest.fixture(scope="module")
def shipped(folder: Path) -> Pipeline:
    return pipeline_with_limit(folder, None)


def plan(pipeline: Pipeline, text: str = MESSAGE):
    return pipeline.plan(Inbound(msg_id="m1", channel="demo", customer_id="c", text=text), persona="_default")


def test_within_the_limit_both_parts_are_answered(shipped: Pipeline) -> None:
    both = plan(shipped)
    assert both.intents == ["store_info", "price_inquiry"]
    assert both.answer_id == "opening_hours" and "10:00-22:00" in both.text


def test_over_the_limit_the_part_without_a_fact_goes_first(shipped: Pipeline, folder: Path) -> None:
    both, alone = plan(shipped), plan(shipped, "你们晚上几点关门？")
    assert len(alone.text) < len(both.text)
    limit = len(both.text) - 1  # one character too short for both parts
    shortened = plan(pipeline_with_limit(folder, limit))
    assert len(shortened.text) <= limit
    assert shortened.intents == ["store_info"]  # the price (only a holding line) went
    assert "10:00-22:00" in shortened.text and shortened.answer_id == "opening_hours"  # the fact stayed whole


@pytest.mark.parametrize("persona", ["_default", "advisor", "enthusiast", "deals_officer", "knowledge_expert"])
def test_a_reply_to_two_questions_opens_once(shipped: Pipeline, persona: str) -> None:
    drafted = shipped.plan(Inbound(msg_id="m2", channel="demo", customer_id="c",
                                   text="我的快递到哪了？订单 12345678\n另外能开发票吗"), persona=persona)
    assert drafted.intents == ["order_status", "payment_invoice"]
    first, second = drafted.text.split("\n")[:2]
    assert not re.match(r"(您好|你好|好的|好嘞|好呀|收到|哈喽|嗨)", second), drafted.text  # "收到！…\n收到！…" reads twice
    assert drafted.answer_id in ("track_order", "e_invoice") and "电子发票" in drafted.text
