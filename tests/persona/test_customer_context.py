"""Templates and the customer: `customer.name` (remark before nickname), `customer.tags`, `customer.id`; the linter's name rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.drafts.pipeline import Inbound, Pipeline
from bot.nlu.classifier import IntentClassifier
from bot.nlu.intents import load_intents
from bot.persona.lint import lint
from bot.persona.render import Renderer
from bot.persona.styles import load_personas

DATA = Path(__file__).resolve().parents[1] / "data"
INTENTS = load_intents(DATA / "intents")
CLASSIFIER = IntentClassifier.train(INTENTS)


@pytest.fixture
def styles(tmp_path: Path) -> Path:
    target = tmp_path / "persona_styles"
    shutil.copytree(DATA / "persona_styles", target)
    return target


def set_greeting(styles: Path, v1: str, v2: str = "好的") -> None:
    (styles / "_default" / "templates" / "greeting.j2").write_text(
        '{% extends "base.j2" %}{% block v1 %}' + v1 + "{% endblock %}{% block v2 %}" + v2 + "{% endblock %}", encoding="utf-8")


def name_problems(styles: Path) -> list[str]:
    book = load_personas(styles)
    return [str(p) for p in lint(book, Renderer(book), INTENTS) if p.rule == "name"]


def pipeline(styles: Path) -> Pipeline:
    book = load_personas(styles)
    return Pipeline(classifier=CLASSIFIER, intents=INTENTS, book=book, renderer=Renderer(book), default_persona="_default")


def test_templates_read_the_customers_name_tags_and_id_through_the_pipeline(styles: Path) -> None:
    set_greeting(styles, '{% if customer.name %}{{ customer.name }}好{% else %}您好{% endif %}'
                         '{% if "VIP" in customer.tags %}，VIP 专线为您服务{% endif %}（{{ customer.id }}）', "好的")
    greet = Inbound(msg_id="m1", channel="kf", customer_id="wmA", text="你好", customer_name="王姐", customer_tags=("VIP",))
    plan = pipeline(styles).plan(greet, previous=("_default/templates/greeting.j2", "v2"))
    assert plan.intent == "greeting" and plan.variation == "v1"
    assert "王姐好，VIP 专线为您服务（wmA）" in plan.text
    anonymous = Inbound(msg_id="m1", channel="kf", customer_id="wmB", text="你好")
    plan = pipeline(styles).plan(anonymous, previous=("_default/templates/greeting.j2", "v2"))
    assert "您好（wmB）" in plan.text


def test_the_linter_finds_a_template_that_needs_a_name_and_has_no_wording_without_it(styles: Path) -> None:
    set_greeting(styles, "{{ customer.name }}您好")
    [problem] = name_problems(styles)
    assert "greeting v1" in problem and "不知道名字时没有备用说法" in problem
    set_greeting(styles, "好的", "亲爱的{{ customer_name }}")
    assert any("greeting v2" in p for p in name_problems(styles))
    set_greeting(styles, "{% if customer.name %}{{ customer.name }}您好{% else %}您好{% endif %}")
    assert name_problems(styles) == []


def test_a_persona_whose_voice_does_not_address_customers_by_name_leaves_the_greeting_out(styles: Path) -> None:
    greet = Inbound(msg_id="m1", channel="kf", customer_id="wmA", text="你好", customer_name="王姐")
    assert pipeline(styles).plan(greet, persona="_default").text.startswith("王姐，")
    persona = styles / "_default" / "persona.yml"
    persona.write_text(persona.read_text(encoding="utf-8") + "address_by_name: false\n", encoding="utf-8")
    assert not pipeline(styles).plan(greet, persona="_default").text.startswith("王姐")
