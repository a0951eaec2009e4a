"""Editing persona styles in a draft configuration: fields, templates, and previews that never crash."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.services.configuration import ConfigFiles
from bot.console import config_paths, persona_fields, persona_templates, preview_messages, template_preview, template_sandbox
from bot.console.persona_fields import FieldErrors
from bot.console.preview_messages import Example
from bot.db.models import Draft
from bot.persona.render import Renderer
from bot.persona.styles import personas_from
from tests.conftest import run_jobs, runtime

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
GOOD = '{% extends "base.j2" %}\n{% block v1 %}嗨，{% if order_no is defined %}订单 {{ order_no }} {% endif %}我来查{% endblock %}\n{% block v2 %}收到，马上看{% endblock %}\n'
MESSAGES = [Example(message="订单 202611220001 到哪了", customer_name="王女士", entities={"order_no": "202611220001"}),
            Example(message="快递怎么还没到")]


@pytest.fixture(scope="module")
def files() -> ConfigFiles:
    return ConfigFiles.from_directories(DATA / "intents", DATA / "persona_styles")


def book_of(files: ConfigFiles):
    book = personas_from(files.persona_texts())
    return book, Renderer(book).render(persona="lucky", intent="greeting", context={}, only="v1").text


# ----- persona fields --------------------------------------------------------------------------------


def test_the_draft_lists_personas_and_intents(files: ConfigFiles) -> None:
    assert config_paths.persona_names(files) == ["_default", "lucky"]
    assert persona_templates.intent_names(files) == ["complaint", "greeting", "order_status", "promotion_inquiry", "fallback"]
    lucky = persona_fields.persona_info(files, "lucky")
    assert (lucky.display_name, lucky.address, lucky.emoji, lucky.max_chars) == ("福利官 Lucky", "你", True, 120)
    assert lucky.kf_accounts == ("wkLUCKY",) and lucky.staff == ("zhangsan",) and lucky.archetype_label == "福利官 / 购物参谋"


def test_unchanged_fields_leave_the_file_byte_for_byte(files: ConfigFiles) -> None:
    for name in config_paths.persona_names(files):
        assert persona_fields.apply_form(files, name, persona_fields.form_values(files, name)) is files


def test_field_edits_round_trip_through_the_real_loader(files: ConfigFiles) -> None:
    values = {**persona_fields.form_values(files, "lucky"), "sign_off": "—— 小 Lucky", "max_chars": "150", "emoji": "",
              "kf_accounts": "wkLUCKY, wkNEW\nwkNEW", "staff": "", "promise": "  帮你省钱  "}
    edited = persona_fields.apply_form(files, "lucky", values)
    book, text = book_of(edited)
    lucky = book["lucky"]
    assert (lucky.sign_off, lucky.max_chars, lucky.emoji, lucky.promise) == ("—— 小 Lucky", 150, False, "帮你省钱")
    assert lucky.kf_accounts == ("wkLUCKY", "wkNEW") and lucky.staff == ()
    assert text.endswith("—— 小 Lucky")
    again = persona_fields.form_values(edited, "lucky")
    assert again["kf_accounts"] == "wkLUCKY\nwkNEW" and again["emoji"] == "" and again["max_chars"] == "150"
    assert persona_fields.apply_form(edited, "lucky", again) is edited
    assert edited.files["persona_styles/_default/persona.yml"] == files.files["persona_styles/_default/persona.yml"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"display_name": "  "}, "display_name", "请填写名称"),
    ({"max_chars": "abc"}, "max_chars", "不小于 20"),
    ({"max_chars": "5"}, "max_chars", "不小于 20"),
    ({"address": "您们"}, "address", "您"),
    ({"archetype": "wizard"}, "archetype", "人设类型"),
    ({"extends": "ghost"}, "extends", "没有人设 ghost"),
    ({"voice": "长" * 501}, "voice", "最多 500"),
])
def test_invalid_fields_are_named_in_chinese(files: ConfigFiles, change: dict, field: str, words: str) -> None:
    with pytest.raises(FieldErrors) as refused:
        persona_fields.apply_form(files, "lucky", {**persona_fields.form_values(files, "lucky"), **change})
    assert field in refused.value.errors and words in refused.value.errors[field]


def test_a_binding_used_by_another_persona_names_it(files: ConfigFiles) -> None:
    with pytest.raises(FieldErrors) as refused:
        persona_fields.apply_form(files, "_default", {**persona_fields.form_values(files, "_default"), "staff": "zhangsan"})
    assert refused.value.errors == {"staff": "zhangsan 已绑定到人设 lucky：一个账号只能对应一个人设。"}


def test_a_problem_elsewhere_in_the_draft_does_not_block_this_persona(files: ConfigFiles) -> None:
    broken = ConfigFiles({**files.files, "persona_styles/_default/persona.yml": "persona: _default\nshout: true\n"})
    edited = persona_fields.apply_form(broken, "lucky", {**persona_fields.form_values(broken, "lucky"), "sign_off": "—— L"})
    assert "sign_off: —— L" in edited.files["persona_styles/lucky/persona.yml"]
    assert persona_fields.persona_info(broken, "_default").error == "shout: unknown key"


def test_an_unknown_persona_cannot_be_edited(files: ConfigFiles) -> None:
    with pytest.raises(FieldErrors):
        persona_fields.apply_form(files, "ghost", {})


# ----- templates -----------------------------------------------------------------------------------------


def test_a_template_the_persona_lacks_starts_from_the_one_it_inherits(files: ConfigFiles) -> None:
    trimmed = ConfigFiles({p: t for p, t in files.files.items() if p != "persona_styles/lucky/templates/greeting.j2"})
    source = persona_templates.template_source(trimmed, "lucky", "greeting")
    assert not source.own and source.inherited_from == "_default"
    assert source.text == files.files["persona_styles/_default/templates/greeting.j2"]
    assert persona_templates.inheritors(trimmed, "_default", "greeting") == ["lucky"]
    assert persona_templates.template_source(files, "lucky", "greeting").own
    saved = persona_templates.with_template(trimmed, "lucky", "greeting", GOOD.replace("\n", "\r\n"))
    assert saved.files["persona_styles/lucky/templates/greeting.j2"] == GOOD


# ----- previews -------------------------------------------------------------------------------------------


def test_a_good_template_renders_every_variation_for_every_message(files: ConfigFiles) -> None:
    edited = persona_fields.apply_form(files, "lucky", {**persona_fields.form_values(files, "lucky"), "sign_off": "—— 草稿里的 Lucky"})
    preview = template_preview.preview(edited, "lucky", "order_status", GOOD, MESSAGES)
    assert preview.ok and preview.error is None and preview.broken == []
    assert preview.variations == ["v1", "v2"] and len(preview.rows) == 2
    first = preview.rows[0][0]
    assert first.text == "王女士，嗨，订单 202611220001 我来查\n—— 草稿里的 Lucky"  # the draft's persona, not the live one
    assert preview.rows[1][0].text.startswith("嗨，我来查")
    assert preview.template == "persona_styles/lucky/templates/order_status.j2" and preview.max_chars == 120
    data = preview.as_json()
    assert data["ok"] and data["messages"][0]["renders"][1]["text"].startswith("王女士，收到")


@pytest.mark.parametrize(("source", "kind", "line", "words"), [
    ('{% extends "base.j2" %}\n{% block v1 %}\n{{ 1 + }}{% endblock %}', "syntax", 3, "语法错误"),
    ('{% extends "base.j2" %}\n{% block v1 %}好\n\n{{ "".__class__.__mro__ }}{% endblock %}{% block v2 %}好{% endblock %}', "security", 4, "安全限制"),
    ('{% extends "base.j2" %}\n{% block v1 %}{{ 1 // 0 }}{% endblock %}{% block v2 %}好{% endblock %}', "error", 2, "渲染时出错"),
    ('{% extends "base.j2" %}\n{% block v1 %}好{% endblock %}\n{% block v2 %}{{ coupon }}{% endblock %}', "undefined", 3, "没有的变量"),
    ('{% extends "base.j2" %}\n{% block v1 %}{% for i in range(10**9) %}x{% endfor %}{% endblock %}{% block v2 %}好{% endblock %}',
     "range", 2, "循环次数过多"),
])
def test_a_broken_template_is_described_with_its_line_never_raised(files: ConfigFiles, source: str, kind: str, line: int, words: str) -> None:
    preview = template_preview.preview(files, "lucky", "greeting", source, MESSAGES)
    assert not preview.ok
    issue = preview.issues[0]
    assert (issue.kind, issue.line, issue.here) == (kind, line, True)
    assert words in str(issue) and f"第 {line} 行" in str(issue)
    assert preview.as_json()["ok"] is False


def test_the_linter_findings_for_this_persona_and_intent_are_in_chinese(files: ConfigFiles) -> None:
    source = '{% extends "base.j2" %}\n{% block v1 %}您好，有什么可以帮您{% endblock %}\n'
    preview = template_preview.preview(files, "lucky", "greeting", source, MESSAGES)
    assert preview.ok  # findings are shown, they do not make the template unsavable
    messages = [f.message for f in preview.findings]
    assert "人设 lucky 称呼客户为“你”，但话术里出现了“您”。" in messages
    assert any(m.startswith("只有 1 种说法") for m in messages)
    assert [f.severity for f in preview.errors] == ["error"]


def test_an_empty_or_huge_template_is_refused_without_rendering(files: ConfigFiles) -> None:
    assert template_preview.preview(files, "lucky", "greeting", "  \r\n", MESSAGES).error.kind == "variations"
    assert not template_preview.preview(files, "lucky", "greeting", "x" * (template_preview.MAX_TEMPLATE_CHARS + 1), MESSAGES).ok


def test_long_output_is_capped_and_flagged(files: ConfigFiles) -> None:
    source = '{% extends "base.j2" %}{% block v1 %}{% for i in range(1500) %}哈哈哈哈哈{% endfor %}{% endblock %}{% block v2 %}好{% endblock %}'
    preview = template_preview.preview(files, "lucky", "greeting", source, MESSAGES[:1])
    cell = preview.rows[0][0]
    assert cell.chars > 7_500 and len(cell.text) == template_sandbox.OUTPUT_CAP and cell.over


def test_output_past_the_render_bound_is_refused_in_chinese(files: ConfigFiles) -> None:
    source = '{% extends "base.j2" %}{% block v1 %}{% for i in range(9999) %}哈哈哈哈哈{% endfor %}{% endblock %}{% block v2 %}好{% endblock %}'
    preview = template_preview.preview(files, "lucky", "greeting", source, MESSAGES[:1])
    assert [i.kind for i in preview.broken] == ["output"] and "生成的话术过长" in str(preview.broken[0])
    assert preview.rows[0][1].text.startswith("王女士，好")


@pytest.mark.parametrize(("body", "kind"), [
    ("{{ 10 ** (10 ** 9) }}", "memory"),
    ("{% if '慢' in message %}{{ 'x' * 10**8 }}{% endif %}好", "memory"),
    ("{{ ('x' * 10**9)|length }}", "memory"),
    ("{% for i in range(10**10) %}x{% endfor %}", "range"),
])
def test_a_template_that_would_hog_memory_is_stopped_in_the_render(files: ConfigFiles, body: str, kind: str) -> None:
    source = '{% extends "base.j2" %}{% block v1 %}' + body + '{% endblock %}{% block v2 %}好{% endblock %}'
    started = time.monotonic()
    preview = template_preview.preview(files, "lucky", "greeting", source, [Example(message="太慢了")], timeout=4)
    assert time.monotonic() - started < 4
    assert preview.error is None and [i.kind for i in preview.broken] == [kind] and preview.broken[0].variation == "v1"
    assert preview.broken[0].line == 1 and preview.rows[0][1].text.endswith("好\n—— Lucky")


def test_a_loop_past_its_budget_stops_only_that_variation(files: ConfigFiles) -> None:
    source = ('{% extends "base.j2" %}{% block v1 %}{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}'
              '{% endblock %}{% block v2 %}好{% endblock %}')
    preview = template_preview.preview(files, "lucky", "greeting", source, MESSAGES[:1])
    assert [i.kind for i in preview.broken] == ["timeout"] and preview.broken[0].variation == "v1"
    assert "渲染超时" in str(preview.broken[0])
    assert preview.rows[0][1].text.startswith("王女士，好")


def test_a_persona_file_that_does_not_load_is_reported(files: ConfigFiles) -> None:
    broken = ConfigFiles({**files.files, "persona_styles/lucky/persona.yml": "persona: lucky\naddress: 您们\n"})
    preview = template_preview.preview(broken, "lucky", "greeting", GOOD, MESSAGES)
    assert preview.error.kind == "data" and preview.error.file == "persona_styles/lucky/persona.yml"
    statuses, problem = template_preview.survey(broken, "lucky")
    assert problem is not None and problem.kind == "data" and all(s.variations == 0 for s in statuses)


def test_the_survey_lists_every_intent_with_variations_and_lint_status(files: ConfigFiles) -> None:
    edited = persona_templates.with_template(files, "lucky", "complaint", '{% extends "base.j2" %}{% block v1 %}您好{% endblock %}')
    edited = persona_templates.with_template(edited, "lucky", "greeting", '{% extends "base.j2" %}{% block v1 %}{{ "".__class__ }}{% endblock %}')
    statuses, problem = template_preview.survey(edited, "lucky")
    assert problem is None
    by_intent = {s.intent: s for s in statuses}
    assert list(by_intent) == persona_templates.intent_names(files)
    assert by_intent["order_status"].variations == 2 and by_intent["order_status"].errors == 0 and by_intent["order_status"].own
    complaint = by_intent["complaint"]
    assert complaint.variations == 1 and complaint.errors >= 2 and complaint.warnings >= 1  # 您, no apology; one variation
    assert by_intent["greeting"].errors >= 1


# ----- the messages a preview uses ---------------------------------------------------------------------------


def test_samples_are_the_intents_first_examples_with_entities(files: ConfigFiles) -> None:
    samples = preview_messages.sample_messages(files, "order_status")
    assert len(samples) == preview_messages.PREVIEW_MESSAGES and not any(s.real for s in samples)
    assert samples[0].customer_name == preview_messages.SAMPLE_NAME
    assert any(s.entities.get("order_no") for s in samples)
    fallback = preview_messages.sample_messages(files, "fallback")
    assert fallback and fallback[0].entities  # the linter's samples: with every entity, and with none


def test_real_messages_are_preferred_over_samples(client: TestClient) -> None:
    client.post("/demo/messages", json={"text": "订单 202611220001 到哪了", "customer_name": "周先生"})
    run_jobs(client)
    rt = runtime(client)
    with rt.sessions() as session:
        files = ConfigFiles.from_directories(DATA / "intents", DATA / "persona_styles")
        draft = session.query(Draft).one()
        intent = draft.intent
        messages = preview_messages.preview_messages(session, files, intent)
        assert [m.real for m in messages] == [True]
        assert (messages[0].message, messages[0].customer_name, messages[0].draft_id) == ("订单 202611220001 到哪了", "周先生", draft.id)
        assert messages[0].entities["order_no"] == "202611220001"
        other = next(i for i in persona_templates.intent_names(files) if i != intent)
        assert not any(m.real for m in preview_messages.preview_messages(session, files, other))
        draft.corrected_intent = other  # staff said it was another intent: it counts there now
        session.commit()
        assert [m.real for m in preview_messages.preview_messages(session, files, other)] == [True]
        assert not any(m.real for m in preview_messages.preview_messages(session, files, intent))
        preview = template_preview.preview(files, "lucky", other, GOOD, preview_messages.preview_messages(session, files, other))
        assert preview.real and preview.rows[0][0].text == "周先生，嗨，订单 202611220001 我来查\n—— Lucky"


def test_personas_cannot_extend_each_other_in_a_circle(files: ConfigFiles) -> None:
    second = files.files["persona_styles/lucky/persona.yml"].replace("persona: lucky", "persona: lucky2")
    second = "\n".join(line for line in second.splitlines() if not line.startswith(("binds", "extends"))) + "\nextends: lucky\n"
    both = ConfigFiles({**files.files, "persona_styles/lucky2/persona.yml": second})
    with pytest.raises(FieldErrors) as refused:
        persona_fields.apply_form(both, "lucky", {**persona_fields.form_values(both, "lucky"), "extends": "lucky2"})
    assert refused.value.errors == {"extends": "人设之间不能循环继承（A 继承 B，B 又继承 A）。"}
