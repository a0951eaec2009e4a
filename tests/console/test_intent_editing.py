"""Editing intents in a draft configuration: each edit keeps the files loadable, lintable and readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services import configuration
from bot.services.configuration import ConfigFiles, ConfigRefused
from bot.console import intent_editing as editing
from bot.console.intent_files import EditRefused, IntentDoc, dump_intent, read_intents
from bot.errors import DataFileError
from bot.nlu.intents import MIN_EXAMPLES, load_intent, load_intents
from bot.persona.lint import lint
from bot.persona.render import Renderer

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
PERSONAS = ["_default", "lucky"]


@pytest.fixture(scope="module")
def files() -> ConfigFiles:
    return ConfigFiles.from_directories(DATA / "intents", DATA / "persona_styles")


def examples(files: ConfigFiles, intent: str) -> tuple[str, ...]:
    return read_intents(files).get(intent).examples


def loads_and_lints(files: ConfigFiles) -> list:
    """What publishing requires of the files: the loaders accept them and lint finds no error."""
    intents, book = configuration.load(files)
    errors = [p for p in lint(book, Renderer(book), intents) if p.severity == "error"]
    assert errors == []
    return intents


# ----- examples ----------------------------------------------------------------------------------------


def test_add_several_examples_from_lines(files: ConfigFiles) -> None:
    edit = editing.add_examples(files, "greeting", "  早安呀 \n\n晚上好\n早安呀\n")
    assert examples(edit.files, "greeting")[-2:] == ("早安呀", "晚上好")
    assert edit.count == 2 and edit.what == "意图 greeting：添加 2 条例句「早安呀」等"
    assert [p for p in edit.files.files if edit.files.files[p] != files.files.get(p)] == ["intents/greeting.yml"]
    loads_and_lints(edit.files)
    assert editing.add_examples(files, "greeting", "早安呀").what == "意图 greeting：添加例句「早安呀」"


def test_an_example_of_another_intent_is_refused_naming_both_places(files: ConfigFiles) -> None:
    with pytest.raises(EditRefused) as refused:
        editing.add_examples(files, "greeting", "新的说法\n我的訂單到哪了")  # 繁体: the same as order_status's
    assert refused.value.kind == "conflict" and refused.value.field == "text"
    [problem] = refused.value.problems
    assert "「我的訂單到哪了」已在 order_status 的例句里" in problem and "「我的订单到哪了」" in problem and "greeting" in problem
    assert "新的说法" not in examples(files, "greeting")  # all or nothing


def test_an_example_already_in_the_intent_and_empty_input_are_refused(files: ConfigFiles) -> None:
    with pytest.raises(EditRefused, match="「你好」已在 greeting 的例句里"):
        editing.add_examples(files, "greeting", "你好")
    with pytest.raises(EditRefused) as empty:
        editing.add_examples(files, "greeting", " \n ")
    assert empty.value.kind == "invalid" and empty.value.field == "text"
    with pytest.raises(EditRefused) as missing:
        editing.add_examples(files, "nope", "你好呀")
    assert missing.value.kind == "missing"
    with pytest.raises(EditRefused, match="太长"):
        editing.add_examples(files, "greeting", "长" * (editing.MAX_EXAMPLE + 1))


def test_edit_an_example(files: ConfigFiles) -> None:
    edit = editing.edit_example(files, "greeting", 1, "在吗", "在吗？有人吗")
    assert examples(edit.files, "greeting")[1] == "在吗？有人吗"
    assert edit.what == "意图 greeting：把例句「在吗」改为「在吗？有人吗」"
    assert editing.edit_example(files, "greeting", 1, "在吗", " 在吗 ").files == files  # unchanged
    with pytest.raises(EditRefused, match="order_status"):
        editing.edit_example(files, "greeting", 1, "在吗", "快递什么时候能到")
    with pytest.raises(EditRefused, match="不能为空"):
        editing.edit_example(files, "greeting", 1, "在吗", "  ")


def test_an_edit_of_an_example_someone_changed_meanwhile_is_refused(files: ConfigFiles) -> None:
    moved_down = editing.add_examples(files, "greeting", "x 不会被用到").files
    assert examples(editing.edit_example(files, "greeting", 5, "在吗", "在吗在吗").files, "greeting")[1] == "在吗在吗"  # found by text
    changed = editing.edit_example(moved_down, "greeting", 1, "在吗", "在不在").files
    with pytest.raises(EditRefused) as stale:
        editing.delete_example(changed, "greeting", 1, "在吗")
    assert stale.value.kind == "conflict" and "刷新" in stale.value.problems[0]


def test_delete_keeps_enough_examples_to_publish(files: ConfigFiles) -> None:
    current = files
    while len(examples(current, "greeting")) > MIN_EXAMPLES:
        first = examples(current, "greeting")[0]
        current = editing.delete_example(current, "greeting", 0, first).files
    loads_and_lints(current)
    with pytest.raises(EditRefused) as refused:
        editing.delete_example(current, "greeting", 0, examples(current, "greeting")[0])
    assert refused.value.kind == "conflict" and f"至少要保留 {MIN_EXAMPLES} 条" in refused.value.problems[0]
    disabled = editing.set_enabled(current, "greeting", False).files
    assert len(examples(editing.delete_example(disabled, "greeting", 0, examples(disabled, "greeting")[0]).files, "greeting")) == 4


def test_move_an_example_to_another_intent(files: ConfigFiles) -> None:
    edit = editing.move_example(files, "complaint", 4, "太让人失望了", "greeting")
    assert "太让人失望了" not in examples(edit.files, "complaint")
    assert examples(edit.files, "greeting")[-1] == "太让人失望了"
    assert edit.what == "意图 complaint：把例句「太让人失望了」移到 greeting" and edit.intent == "complaint"
    loads_and_lints(edit.files)
    for target, message in (("", "请选择"), ("complaint", "另一个意图"), ("nope", "没有意图 nope")):
        with pytest.raises(EditRefused, match=message) as refused:
            editing.move_example(files, "complaint", 4, "太让人失望了", target)
        assert refused.value.field == "target"


def test_move_refuses_what_the_target_has_and_a_source_left_too_small(files: ConfigFiles) -> None:
    disabled = editing.set_enabled(files, "greeting", False).files
    both = ConfigFiles({**disabled.files, "intents/greeting.yml": dump_intent(
        IntentDoc("greeting", "客户打招呼", False, False, (*examples(files, "greeting"), "太让人失望了")))})
    with pytest.raises(EditRefused, match="greeting 已有「太让人失望了」"):
        editing.move_example(both, "complaint", 4, "太让人失望了", "greeting")
    small = files
    for example in examples(files, "complaint")[:3]:
        small = editing.move_example(small, "complaint", 0, example, "greeting").files
    with pytest.raises(EditRefused, match="不能移走这条例句"):
        editing.move_example(small, "complaint", 0, examples(small, "complaint")[0], "greeting")


# ----- intents -----------------------------------------------------------------------------------------


def test_create_an_intent_with_starter_templates(files: ConfigFiles) -> None:
    edit = editing.create_intent(files, "gift_card", " 客户问礼品卡 ", True)
    doc = read_intents(edit.files).get("gift_card")
    assert (doc.description, doc.marketing, doc.enabled, doc.examples) == ("客户问礼品卡", True, True, ())
    for persona in PERSONAS:
        assert edit.files.files[f"persona_styles/{persona}/templates/gift_card.j2"] == \
            files.files[f"persona_styles/{persona}/templates/fallback.j2"]
    assert doc.warnings() == [f"只有 0 条例句，至少要 {MIN_EXAMPLES} 条才能发布。请再添加 {MIN_EXAMPLES} 条，或先停用这个意图。"]
    with pytest.raises(ConfigRefused, match="needs at least 5 examples"):
        loads_and_lints(edit.files)
    filled = editing.add_examples(edit.files, "gift_card", "礼品卡怎么买\n礼品卡能送人吗\n礼品卡有效期多久\n礼品卡能退吗\n礼品卡余额怎么查").files
    intents = loads_and_lints(filled)
    assert "gift_card" in [i.intent for i in intents]
    assert read_intents(filled).get("gift_card").warnings()[0].startswith("只有 5 条例句")


def test_create_with_examples_and_what_is_refused(files: ConfigFiles) -> None:
    edit = editing.create_intent(files, "gift_card", "礼品卡", False, "礼品卡怎么买\n礼品卡能送人吗")
    assert examples(edit.files, "gift_card") == ("礼品卡怎么买", "礼品卡能送人吗") and edit.count == 2
    for intent, field, kind, message in (
        ("", "intent", "invalid", "请填写"), ("Gift-Card", "intent", "invalid", "小写"), ("9lives", "intent", "invalid", "小写"),
        ("fallback", "intent", "invalid", "保留名"), ("greeting", "intent", "conflict", "已经有意图 greeting"),
    ):
        with pytest.raises(EditRefused, match=message) as refused:
            editing.create_intent(files, intent, "说明", False)
        assert (refused.value.field, refused.value.kind) == (field, kind)
    with pytest.raises(EditRefused) as no_description:
        editing.create_intent(files, "gift_card", "  ", False)
    assert no_description.value.field == "description"
    with pytest.raises(EditRefused) as clash:
        editing.create_intent(files, "gift_card", "礼品卡", False, "你好")
    assert clash.value.field == "examples" and "greeting" in clash.value.problems[0]
    stray = ConfigFiles({**files.files, "persona_styles/lucky/templates/gift_card.j2": "x"})
    with pytest.raises(EditRefused, match="lucky 已有话术模板 gift_card.j2"):
        editing.create_intent(stray, "gift_card", "礼品卡", False)


def test_update_description_and_marketing(files: ConfigFiles) -> None:
    edit = editing.update_settings(files, "greeting", "客户打招呼、问在不在", True)
    doc = read_intents(edit.files).get("greeting")
    assert (doc.description, doc.marketing) == ("客户打招呼、问在不在", True)
    assert edit.what == "意图 greeting：修改说明、设为营销"
    with pytest.raises(EditRefused) as refused:
        editing.update_settings(files, "greeting", "", False)
    assert refused.value.field == "description"


def test_rename_moves_the_file_and_every_template(files: ConfigFiles) -> None:
    edit = editing.rename_intent(files, "greeting", "hello")
    assert edit.intent == "hello" and edit.what == "意图 greeting 改名为 hello（连同 2 个话术模板）"
    assert "intents/greeting.yml" not in edit.files.files
    assert read_intents(edit.files).get("hello").examples == examples(files, "greeting")
    for persona in PERSONAS:
        assert f"persona_styles/{persona}/templates/greeting.j2" not in edit.files.files
        assert edit.files.files[f"persona_styles/{persona}/templates/hello.j2"] == files.files[f"persona_styles/{persona}/templates/greeting.j2"]
    assert "hello" in [i.intent for i in loads_and_lints(edit.files)]


def test_rename_refusals(files: ConfigFiles) -> None:
    for new_id, message in (("greeting", "一样"), ("order_status", "已经有意图"), ("fallback", "保留名"), ("Hello!", "小写")):
        with pytest.raises(EditRefused, match=message) as refused:
            editing.rename_intent(files, "greeting", new_id)
        assert refused.value.field == "new_id"
    with pytest.raises(EditRefused, match="complaint 不能改名：系统据此把草稿标为紧急"):
        editing.rename_intent(files, "complaint", "grumble")


def test_disable_and_enable(files: ConfigFiles) -> None:
    edit = editing.set_enabled(files, "greeting", False)
    assert edit.what == "停用意图 greeting" and "enabled: false" in edit.files.files["intents/greeting.yml"]
    intents = loads_and_lints(edit.files)
    assert "greeting" not in [i.intent for i in intents]  # not trained, not linted
    no_templates = ConfigFiles({p: t for p, t in edit.files.files.items() if not p.endswith("/greeting.j2")})
    loads_and_lints(no_templates)
    enabled = editing.set_enabled(edit.files, "greeting", True)
    assert read_intents(enabled.files).get("greeting") == read_intents(files).get("greeting")
    assert editing.set_enabled(files, "greeting", True).files == files


def test_at_least_two_intents_stay_enabled_and_opt_out_stays_on(files: ConfigFiles) -> None:
    two_left = editing.set_enabled(editing.set_enabled(files, "greeting", False).files, "complaint", False).files
    with pytest.raises(EditRefused, match="至少要有两个启用的意图"):
        editing.set_enabled(two_left, "order_status", False)
    with pytest.raises(EditRefused, match="至少要有两个启用的意图"):
        editing.delete_intent(two_left, "order_status", "order_status")
    editing.delete_intent(two_left, "greeting", "greeting")  # a disabled one may go
    opt_out = editing.create_intent(files, "opt_out", "客户退订", False).files
    with pytest.raises(EditRefused, match="不能停用 opt_out"):
        editing.set_enabled(opt_out, "opt_out", False)
    with pytest.raises(EditRefused, match="不能删除 opt_out"):
        editing.delete_intent(opt_out, "opt_out", "opt_out")


def test_enabling_is_refused_when_a_disabled_intent_repeats_an_enabled_one(files: ConfigFiles) -> None:
    disabled = editing.set_enabled(files, "greeting", False).files
    clashing = ConfigFiles({**disabled.files, "intents/greeting.yml": dump_intent(
        IntentDoc("greeting", "客户打招呼", False, False, (*examples(files, "greeting"), "我要投诉你们店员")))})
    assert loads_and_lints(clashing)  # a disabled intent's examples are not checked against the others
    with pytest.raises(EditRefused) as refused:
        editing.set_enabled(clashing, "greeting", True)
    assert refused.value.kind == "conflict" and "complaint" in refused.value.problems[1]


def test_delete_an_intent_and_its_templates(files: ConfigFiles) -> None:
    with pytest.raises(EditRefused) as unconfirmed:
        editing.delete_intent(files, "greeting", "greet")
    assert unconfirmed.value.field == "confirm"
    edit = editing.delete_intent(files, "greeting", " greeting ")
    assert edit.what == "删除意图 greeting（8 条例句、2 个话术模板）"
    assert not [p for p in edit.files.files if "greeting" in p]
    loads_and_lints(edit.files)


# ----- the loader's side of disabling ---------------------------------------------------------------------


def test_the_loader_accepts_enabled_and_skips_disabled_intents(tmp_path: Path) -> None:
    for name, enabled, count in (("a", True, 5), ("b", True, 5), ("c", False, 1)):
        doc = IntentDoc(name, "测试", False, enabled, tuple(f"{name}{i}" for i in range(count)))
        (tmp_path / f"{name}.yml").write_text(dump_intent(doc), encoding="utf-8")
    assert [i.intent for i in load_intents(tmp_path)] == ["a", "b"]
    assert load_intent(tmp_path / "c.yml").enabled is False
    (tmp_path / "c.yml").write_text("intent: c\ndescription: x\nenabled: maybe\nexamples: []\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="enabled"):
        load_intents(tmp_path)
    (tmp_path / "b.yml").write_text(dump_intent(IntentDoc("b", "测试", False, False, ())), encoding="utf-8")
    (tmp_path / "c.yml").unlink()
    with pytest.raises(DataFileError, match="at least two enabled intents"):
        load_intents(tmp_path)
