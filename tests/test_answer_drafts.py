"""Drafts that answer: the draft says the brand fact the customer asked for, in every persona's voice, and records it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.drafts.pipeline import Inbound, Pipeline
from bot.wiring import load_pipeline
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import FakeClock

ROOT = Path(__file__).resolve().parents[1]
LOCKERS = "门店入口右侧有免费寄存柜，可存放 24 小时，贵重物品请随身携带。"
EXTRA = (
    "  - id: lockers\n"
    "    questions: [\"有寄存柜吗\", \"包可以寄存吗\", \"东西能存在店里吗\"]\n"
    f"    answer: \"{LOCKERS}\"\n"
)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped intents with one answer of the test's own added to store_info."""
    intents = tmp_path_factory.mktemp("data") / "intents"
    shutil.copytree(ROOT / "intents", intents)
    path = intents / "store_info.yml"
    path.write_text(path.read_text(encoding="utf-8") + EXTRA, encoding="utf-8")
    return intents


@pytest.fixture(scope="module")
def pipeline(shipped: Path) -> Pipeline:
    return load_pipeline(make_settings("sqlite://", intents_dir=shipped, personas_dir=ROOT / "persona_styles"))


def plan(pipeline: Pipeline, text: str, persona: str | None = None):
    return pipeline.plan(Inbound(msg_id="m1", channel="demo", customer_id="c", text=text), persona=persona)


def test_an_answer_added_to_the_intents_reaches_the_draft_asked_in_new_words(pipeline: Pipeline) -> None:
    drafted = plan(pipeline, "我的包能放店里吗")
    assert drafted.intent == "store_info"
    assert drafted.answer_id == "lockers"
    assert LOCKERS in drafted.text


def test_a_doubted_intent_counts_when_one_of_its_answers_vouches_for_it(pipeline: Pipeline) -> None:
    text = "沙发框架的保修是几年啊"
    guess = pipeline.classifier.predict(text)
    assert not guess.accepted and guess.best == "after_sales"  # alone, the classifier is not sure enough
    drafted = plan(pipeline, text)
    assert (drafted.intent, drafted.answer_id) == ("after_sales", "warranty_furniture")
    assert "家具主体结构保修 5 年" in drafted.text
    assert not any(flag["code"] == "low_confidence" for flag in drafted.flags)


def test_a_doubted_message_no_answer_vouches_for_stays_a_fallback(pipeline: Pipeline) -> None:
    drafted = plan(pipeline, "嗯嗯那个就是上次说的")
    assert drafted.intent == "fallback"
    assert drafted.answer_id is None


def test_every_persona_says_the_fact_whole_in_its_own_voice(pipeline: Pipeline) -> None:
    fact = "门店营业时间是每天 10:00-22:00，周五、周六延长到 22:30。"
    texts = {name: plan(pipeline, "你们晚上开到几点呀", persona=name).text for name in pipeline.book.names()}
    for name, text in texts.items():
        assert fact in text, name  # numbers, dates and conditions unchanged
        persona = pipeline.book[name]
        wrong = {"您": "你", "你": "您"}.get(persona.address)
        assert not (wrong and wrong in text.replace(fact, "")), (name, text)
        if persona.sign_off:
            assert text.endswith(persona.sign_off)
    assert len(set(texts.values())) == len(texts)  # each persona words it its own way


def test_without_a_confident_match_the_draft_keeps_its_usual_wording(pipeline: Pipeline) -> None:
    drafted = plan(pipeline, "有没有无障碍通道", persona="advisor")
    assert drafted.intent == "store_info"
    assert drafted.answer_id is None
    assert "营业时间是每天" not in drafted.text


def test_the_draft_json_names_the_answer_it_used(shipped: Path, tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/d.db", intents_dir=shipped, personas_dir=ROOT / "persona_styles")
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        runtime(client).worker.stop()
        admin = bearer(client, "root", "admin")
        for msg_id, text in (("a1", "退货运费是我出还是你们出"), ("a2", "我要投诉你们的服务")):
            body = {"channel": "demo", "customer_id": f"c-{msg_id}", "text": text, "msg_id": msg_id}
            assert client.post("/api/messages", json=body, headers=admin).status_code == 202
        run_jobs(client)
        drafts = {d["message_text"]: d for d in client.get("/api/drafts", headers=admin).json()}
    answered = drafts["退货运费是我出还是你们出"]
    assert answered["answer_id"] == "return_shipping"
    assert re.search("质量问题退换的运费由栖木承担", answered["text"])
    assert drafts["我要投诉你们的服务"]["answer_id"] is None
