import shutil
from pathlib import Path

import pytest

from bot.persona.lint import lint
from bot.persona.render import Renderer
from bot.persona.styles import load_personas

DATA = Path(__file__).resolve().parents[1] / "data" / "persona_styles"
from bot.nlu.intents import load_intents

INTENTS = load_intents(DATA.parent / "intents")


@pytest.fixture
def styles(tmp_path: Path) -> Path:
    target = tmp_path / "persona_styles"
    shutil.copytree(DATA, target)
    return target


def problems(directory: Path) -> list[str]:
    book = load_personas(directory)
    return [str(p) for p in lint(book, Renderer(book), INTENTS) if p.severity == "error"]


def set_greeting(styles: Path, persona: str, body: str) -> None:
    (styles / persona / "templates" / "greeting.j2").write_text(
        '{% extends "base.j2" %}{% block v1 %}' + body + "{% endblock %}{% block v2 %}好的{% endblock %}", encoding="utf-8"
    )


def test_the_test_data_is_clean(styles: Path) -> None:
    assert problems(styles) == []


def test_a_you_formal_persona_saying_ni_is_an_error(styles: Path) -> None:
    set_greeting(styles, "_default", "你好呀")
    assert any("人设 _default 称呼客户为“您”，但话术里出现了“你”。" in p and "greeting v1" in p for p in problems(styles))


def test_emoji_in_a_persona_without_emoji_is_an_error(styles: Path) -> None:
    set_greeting(styles, "_default", "您好 😀")
    assert any("人设 _default 不用表情，但话术里有 😀" in p for p in problems(styles))


def test_a_draft_over_max_chars_is_an_error(styles: Path) -> None:
    set_greeting(styles, "lucky", "哈" * 130)
    assert any("超过了人设 lucky 的字数上限 120" in p for p in problems(styles))


def test_a_template_that_does_not_render_is_an_error_naming_it(styles: Path) -> None:
    set_greeting(styles, "lucky", "{{ missing_thing }}")
    assert any("lucky/greeting" in p and "missing_thing" in p for p in problems(styles))


def test_an_entity_used_without_a_fallback_wording_is_an_error(styles: Path) -> None:
    set_greeting(styles, "lucky", "订单 {{ order_no }} 查到啦")
    assert any("用到了 order_no，但客户没提到 order_no 时没有备用说法" in p for p in problems(styles))


def test_an_entity_with_a_fallback_wording_is_fine(styles: Path) -> None:
    set_greeting(styles, "lucky", "{% if order_no is defined %}订单 {{ order_no }} 查到啦{% else %}把订单号发我～{% endif %}")
    assert problems(styles) == []


def set_template(styles: Path, persona: str, intent: str, body: str) -> None:
    (styles / persona / "templates" / f"{intent}.j2").write_text(
        '{% extends "base.j2" %}{% block v1 %}' + body + "{% endblock %}{% block v2 %}" + body + "{% endblock %}", encoding="utf-8"
    )


def test_selling_in_a_complaint_reply_is_an_error(styles: Path) -> None:
    set_template(styles, "lucky", "complaint", "对不起！今天内回电，顺便领张优惠券吧")
    assert any("这类回复（complaint）不能推销" in p and "优惠券" in p for p in problems(styles))


def test_a_complaint_reply_without_an_apology_is_an_error(styles: Path) -> None:
    set_template(styles, "lucky", "complaint", "收到，今天内回电")
    assert any("这类回复（complaint）必须先道歉" in p for p in problems(styles))


def test_a_complaint_reply_without_a_next_step_is_a_warning(styles: Path) -> None:
    set_template(styles, "lucky", "complaint", "真的对不起")
    book = load_personas(styles)
    warnings = [str(p) for p in lint(book, Renderer(book), INTENTS) if p.severity == "warning"]
    assert any("最好给出具体的下一步和时间" in w for w in warnings)


def test_an_intent_with_few_examples_is_a_warning() -> None:
    book = load_personas(DATA)
    warnings = [str(p) for p in lint(book, Renderer(book), INTENTS) if p.severity == "warning"]
    assert any("greeting.yml: examples: 只有 8 条例句" in w for w in warnings)
