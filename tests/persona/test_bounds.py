"""Every render and every lint of a template is bounded in time and memory; normal templates are untouched."""

from __future__ import annotations

import resource
import shutil
import time
from pathlib import Path

import pytest

from bot.errors import RenderError
from bot.nlu.intents import Intent
from bot.persona.bounds import BoundsExceeded, Limits
from bot.persona.lint import lint
from bot.persona.render import Renderer
from bot.persona.styles import load_personas

DATA = Path(__file__).resolve().parents[1] / "data" / "persona_styles"
INTENTS = [Intent("greeting", "", False, ("你好",) * 20)]

# (template body, the kind of bound it hits); each would take minutes or gigabytes without the bounds.
HOSTILE = [
    ("{% if '慢' in message %}{{ 'x' * 10**8 }}{% endif %}好", "memory"),
    ("{{ ('x' * 10**9)|length }}", "memory"),
    ("{% for i in range(10**10) %}x{% endfor %}", "range"),
    ("{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}", "timeout"),
    ("{{ 10 ** (10 ** 9) }}", "memory"),
    ("{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}", "memory"),
    ("{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}", "memory"),
    ("{{ 'x'|center(10**9) }}", "memory"),
    ("{{ '%999999999d'|format(1) }}", "memory"),
    ("{{ '%999999999d' % 1 }}", "memory"),
    ("{{ '{:>999999999}'.format(1) }}", "memory"),
    ("{{ '{:{w}}'.format(1, w=10**9) }}", "memory"),
    ("{{ ('ab' * 5000).replace('', 'x' * 5000)|length }}", "memory"),
    ("{{ (range(10000)|list|join('x' * 9999))|length }}", "memory"),
    ("{% for i in range(3)|batch(10**9, 'x') %}{% endfor %}", "memory"),
    ("{% for i in range(9999) %}{{ 'y' * 9999 }}{% endfor %}", "output"),
    ("{% macro m(n) %}{% if n < 8 %}{% for i in range(10) %}{{ m(n + 1) }}{% endfor %}{% endif %}{% endmacro %}{{ m(0) }}", "timeout"),
]


@pytest.fixture
def styles(tmp_path: Path) -> Path:
    target = tmp_path / "persona_styles"
    shutil.copytree(DATA, target)
    return target


def set_greeting(styles: Path, body: str) -> None:
    (styles / "lucky" / "templates" / "greeting.j2").write_text(
        '{% extends "base.j2" %}{% block v1 %}' + body + "{% endblock %}{% block v2 %}好的{% endblock %}", encoding="utf-8"
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(("body", "kind"), HOSTILE)
def test_a_hostile_template_stops_quickly_with_a_chinese_reason(styles: Path, body: str, kind: str) -> None:
    set_greeting(styles, body)
    renderer = Renderer(load_personas(styles))
    before, started = peak_rss_mb(), time.monotonic()
    with pytest.raises(BoundsExceeded) as refused:
        renderer.render(persona="lucky", intent="greeting", context={"message": "太慢了"}, only="v1")
    assert time.monotonic() - started < 2 * Limits().seconds + 0.5
    assert peak_rss_mb() - before < 50  # the 10^8 string alone would be 100 MB
    assert refused.value.kind == kind and refused.value.message.startswith("lucky/greeting v1: ")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)  # the reason is in Chinese
    assert isinstance(refused.value, RenderError)
    # the other variation of the same template, and the next render, are not affected
    assert renderer.render(persona="lucky", intent="greeting", context={"message": "太慢了"}, only="v2").text.startswith("好的")


def test_the_bounds_leave_normal_templates_alone(styles: Path) -> None:
    set_greeting(styles, "{% for p in ['美式', '拿铁'] %}{{ loop.index }}.{{ p ~ '咖啡' }} {% endfor %}{{ '%d 元' % (12 * 3) }}"
                         "{{ '、'.join(message.split(',')) }}{{ '{:>4}'.format(7) }}{{ range(3)|list|sum }}")
    text = Renderer(load_personas(styles)).render(persona="lucky", intent="greeting", context={"message": "甲,乙"}, only="v1").text
    assert text == "1.美式咖啡 2.拿铁咖啡 36 元甲、乙   73\n—— Lucky"


def test_a_template_is_not_evaluated_while_it_compiles(styles: Path) -> None:
    set_greeting(styles, "{% if false %}{{ 'x' * 10**9 }}{{ 'y'|center(10**9) }}{% endif %}好")
    before, started = peak_rss_mb(), time.monotonic()
    renderer = Renderer(load_personas(styles))
    assert renderer.variations("lucky", "greeting") == ["v1", "v2"]
    assert renderer.render(persona="lucky", intent="greeting", context={}, only="v1").text == "好\n—— Lucky"
    assert time.monotonic() - started < 1 and peak_rss_mb() - before < 50


def test_a_huge_template_file_is_refused(styles: Path) -> None:
    set_greeting(styles, "好" * (Limits().template_chars + 1))
    with pytest.raises(BoundsExceeded, match="话术文件 greeting.j2 太长") as refused:
        Renderer(load_personas(styles)).render(persona="lucky", intent="greeting", context={})
    assert refused.value.kind == "template"


def test_lint_reports_a_hostile_template_as_an_error_naming_its_file_and_stays_bounded(styles: Path) -> None:
    set_greeting(styles, "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}")
    book = load_personas(styles)
    started = time.monotonic()
    errors = [p for p in lint(book, Renderer(book), INTENTS) if p.severity == "error"]
    assert time.monotonic() - started < 2
    [bounded] = [p for p in errors if p.rule == "bounds"]
    assert (bounded.path, bounded.item) == ("lucky/templates/greeting.j2", "greeting v1")
    assert "无法渲染" in bounded.message and "已停止" in bounded.message


def test_lint_stops_after_its_own_time_budget_and_says_so(styles: Path) -> None:
    set_greeting(styles, "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}")
    book = load_personas(styles)
    started = time.monotonic()
    problems = lint(book, Renderer(book), INTENTS, seconds=0.01)
    assert time.monotonic() - started < 1
    assert any(p.severity == "error" and p.message.startswith("检查超时") for p in problems)
