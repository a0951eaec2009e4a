import re
import shutil
from pathlib import Path

import pytest

from bot.errors import DataFileError, RenderError
from bot.persona.render import Renderer
from bot.persona.styles import load_personas

DATA = Path(__file__).resolve().parents[1] / "data" / "persona_styles"


@pytest.fixture
def styles(tmp_path: Path) -> Path:
    target = tmp_path / "persona_styles"
    shutil.copytree(DATA, target)
    return target


def renderer(directory: Path) -> Renderer:
    return Renderer(load_personas(directory))


def test_the_persona_template_is_used_with_its_sign_off(styles: Path) -> None:
    rendered = renderer(styles).render(persona="lucky", intent="greeting", context={"customer_name": "小王"}, only="v2")
    assert rendered.text == "小王，在呢在呢！今天想喝点啥？\n—— Lucky"
    assert rendered.template == "lucky/templates/greeting.j2"


def test_a_missing_persona_template_falls_back_to_default_then_to_fallback(styles: Path) -> None:
    (styles / "lucky" / "templates" / "order_status.j2").unlink()
    r = renderer(styles)
    assert r.render(persona="lucky", intent="order_status", context={}).template == "_default/templates/order_status.j2"
    assert r.render(persona="lucky", intent="no_such_intent", context={}).template == "lucky/templates/fallback.j2"
    (styles / "lucky" / "templates" / "fallback.j2").unlink()
    assert renderer(styles).render(persona="lucky", intent="no_such_intent", context={}).template == "_default/templates/fallback.j2"


def test_the_same_customer_never_gets_the_same_variation_twice_in_a_row(styles: Path) -> None:
    r = renderer(styles)
    previous = None
    for n in range(20):
        rendered = r.render(persona="_default", intent="greeting", context={}, previous=previous, seed=f"msg{n}")
        assert previous is None or rendered.variation != previous[1]
        previous = (rendered.template, rendered.variation)


def test_an_undefined_variable_fails_instead_of_rendering_a_blank(styles: Path) -> None:
    (styles / "lucky" / "templates" / "greeting.j2").write_text(
        '{% extends "base.j2" %}{% block v1 %}订单 {{ order_no }} 已发货{% endblock %}', encoding="utf-8"
    )
    with pytest.raises(RenderError, match="order_no"):
        renderer(styles).render(persona="lucky", intent="greeting", context={})


def test_the_sandbox_refuses_unsafe_attribute_access(styles: Path) -> None:
    (styles / "lucky" / "templates" / "greeting.j2").write_text(
        '{% extends "base.j2" %}{% block v1 %}{{ persona.__class__.__mro__ }}{% endblock %}', encoding="utf-8"
    )
    with pytest.raises(RenderError, match="unsafe"):
        renderer(styles).render(persona="lucky", intent="greeting", context={})


def test_a_template_syntax_error_names_the_template(styles: Path) -> None:
    (styles / "lucky" / "templates" / "greeting.j2").write_text("{% block v1 %}oops{% endblok %}", encoding="utf-8")
    with pytest.raises(RenderError, match="lucky/greeting"):
        renderer(styles).render(persona="lucky", intent="greeting", context={})


def test_a_persona_bound_to_a_taken_kf_account_is_refused(styles: Path) -> None:
    shutil.copytree(styles / "lucky", styles / "lucky2")
    text = (styles / "lucky2" / "persona.yml").read_text(encoding="utf-8").replace("persona: lucky", "persona: lucky2")
    (styles / "lucky2" / "persona.yml").write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match="already bound"):
        load_personas(styles)


@pytest.mark.parametrize(
    ("line", "item"),
    [("address: 你们", "address"), ("emoji: sometimes", "emoji"), ("max_chars: 5", "max_chars"), ("archetype: wizard", "archetype"), ("colour: red", "colour")],
)
def test_persona_schema_errors_name_the_file_and_item(styles: Path, line: str, item: str) -> None:
    path = styles / "lucky" / "persona.yml"
    key = line.split(":")[0]
    kept = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith(f"{key}:")]
    path.write_text("\n".join([*kept, line]) + "\n", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        load_personas(styles)
    assert caught.value.path.endswith("lucky/persona.yml")
    assert caught.value.item == item


def test_binding_lookup_prefers_kf_account_then_staff_then_default(styles: Path) -> None:
    book = load_personas(styles)
    assert book.choose(kf_account="wkLUCKY", staff=None, default="_default") == "lucky"
    assert book.choose(kf_account="other", staff="zhangsan", default="_default") == "lucky"
    assert book.choose(kf_account=None, staff="nobody", default="_default") == "_default"


SHIPPED = Path(__file__).resolve().parents[2] / "persona_styles"


@pytest.mark.parametrize("persona", ["_default", "advisor", "deals_officer", "enthusiast", "knowledge_expert"])
@pytest.mark.parametrize(("intent", "entities", "shown", "asks"), [
    ("order_status", {"order_no": "SF1234567890"}, "SF1234567890", "订单号"),
    ("refund_return", {"order_no": "20261122001"}, "20261122001", "订单号"),
    ("payment_invoice", {"order_no": "DD20261122"}, "DD20261122", "订单号"),
    ("booking", {"date": "下周三", "time": "下午3点"}, "下周三下午3点", "日期|哪天"),
])
def test_shipped_drafts_use_what_the_customer_already_said(persona: str, intent: str, entities: dict, shown: str, asks: str) -> None:
    shipped = renderer(SHIPPED)
    for variation in ("v1", "v2"):
        given = shipped.render(persona=persona, intent=intent, context={"customer_name": "", **entities}, only=variation).text
        missing = shipped.render(persona=persona, intent=intent, context={"customer_name": ""}, only=variation).text
        assert shown in given and not re.search(asks, given), variation  # it says it back and does not ask for it again
        assert shown not in missing, variation
    assert re.search(asks, shipped.render(persona=persona, intent=intent, context={"customer_name": ""}, only="v1").text)
