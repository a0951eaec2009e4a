from pathlib import Path

import pytest

from bot.errors import DataFileError
from bot.nlu.intents import load_intents

GOOD = "intent: {name}\ndescription: 测试\nmarketing: false\nexamples:\n{examples}\n"


def write(directory: Path, name: str, examples: list[str], text: str | None = None) -> Path:
    path = directory / f"{name}.yml"
    path.write_text(text or GOOD.format(name=name, examples="\n".join(f"  - {e}" for e in examples)), encoding="utf-8")
    return path


def test_loads_valid_intents(tmp_path: Path) -> None:
    write(tmp_path, "a", ["一", "二", "三", "四", "五"])
    write(tmp_path, "b", ["六", "七", "八", "九", "十"])
    assert [i.intent for i in load_intents(tmp_path)] == ["a", "b"]


def test_the_display_name_is_optional_and_shipped_intents_all_have_one(tmp_path: Path) -> None:
    write(tmp_path, "a", [], text="intent: a\ndisplay_name: 甲\ndescription: x\nexamples: [一, 二, 三, 四, 五]\n")
    write(tmp_path, "b", ["六", "七", "八", "九", "十"])
    a, b = load_intents(tmp_path)
    assert (a.display_name, a.name, b.display_name, b.name) == ("甲", "甲", "", "b")
    shipped = load_intents(Path(__file__).resolve().parents[2] / "intents")
    assert all(intent.display_name for intent in shipped)
    assert {i.intent: i.name for i in shipped}["opt_out"] == "退订"


def test_an_example_in_two_intents_names_both_files(tmp_path: Path) -> None:
    write(tmp_path, "a", ["一", "二", "三", "四", "重复的"])
    write(tmp_path, "b", ["六", "七", "八", "九", "重複的"])  # the same after 繁→简
    with pytest.raises(DataFileError) as caught:
        load_intents(tmp_path)
    assert "b.yml" in str(caught.value) and "a.yml" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("intent: wrong\ndescription: x\nexamples: [一, 二, 三, 四, 五]\n", "intent"),
        ("intent: a\ndescription: ''\nexamples: [一, 二, 三, 四, 五]\n", "description"),
        ("intent: a\ndescription: x\nmarketing: maybe\nexamples: [一, 二, 三, 四, 五]\n", "marketing"),
        ("intent: a\ndescription: x\nexamples: [一, 二]\n", "examples"),
        ("intent: a\ndescription: x\nexamples: [一, '', 三, 四, 五]\n", "examples[2]"),
        ("intent: a\ndescription: x\nexample: [一]\n", "example"),
        ("intent: a\n  bad: [yaml\n", "line"),
        ("intent: a\ndisplay_name: ''\ndescription: x\nexamples: [一, 二, 三, 四, 五]\n", "display_name"),
        ("intent: a\ndisplay_name: [退订]\ndescription: x\nexamples: [一, 二, 三, 四, 五]\n", "display_name"),
        (f"intent: a\ndisplay_name: {'长' * 21}\ndescription: x\nexamples: [一, 二, 三, 四, 五]\n", "display_name"),
    ],
)
def test_schema_errors_name_the_file_and_the_item(tmp_path: Path, text: str, item: str) -> None:
    write(tmp_path, "a", [], text=text)
    write(tmp_path, "b", ["六", "七", "八", "九", "十"])
    with pytest.raises(DataFileError) as caught:
        load_intents(tmp_path)
    assert caught.value.path.endswith("a.yml")
    assert item in str(caught.value)
