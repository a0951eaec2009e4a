"""Intent files as the console reads and writes them: shipped files round-trip byte for byte, broken ones are listed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.configuration import ConfigFiles
from bot.console.intent_editing import clean_example
from bot.console.intent_files import IntentDoc, dump_intent, parse_intent, read_intents
from bot.nlu.intents import MIN_EXAMPLES, load_intent

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="module")
def files() -> ConfigFiles:
    return ConfigFiles.from_directories(DATA / "intents", DATA / "persona_styles")


def test_every_shipped_intent_file_is_written_back_byte_for_byte() -> None:
    shipped = ConfigFiles.from_directories(ROOT / "intents", ROOT / "persona_styles")
    intents = read_intents(shipped)
    assert len(intents.docs) >= 18 and intents.broken == {}
    for doc in intents.docs.values():
        assert dump_intent(doc) == shipped.files[doc.path]


def test_a_written_file_is_a_block_list_of_double_quoted_examples(tmp_path: Path) -> None:
    doc = IntentDoc("gift_card", "客户问礼品卡: 怎么买 #1", True, False, ("礼品卡怎么买😀", 'say "hi"', "666", "a\\b"))
    text = dump_intent(doc)
    assert text.splitlines()[-4:] == ['  - "礼品卡怎么买😀"', '  - "say \\"hi\\""', '  - "666"', '  - "a\\\\b"']
    assert "enabled: false" in text
    path = tmp_path / "gift_card.yml"
    path.write_text(text, encoding="utf-8")
    loaded = load_intent(path)
    assert (loaded.description, loaded.marketing, loaded.enabled, loaded.examples) == (doc.description, True, False, doc.examples)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30).map(clean_example).filter(bool), min_size=MIN_EXAMPLES, max_size=8))
def test_any_example_text_survives_the_round_trip(texts: list[str]) -> None:
    doc = IntentDoc("x", "说明", False, True, tuple(texts))
    data = yaml.safe_load(dump_intent(doc))
    assert data["examples"] == texts
    assert parse_intent("x", dump_intent(doc)) == doc


def test_a_file_that_cannot_be_read_is_reported_not_fatal(files: ConfigFiles) -> None:
    broken = ConfigFiles({**files.files, "intents/bad.yml": "intent: bad\n  examples: [oops\n", "intents/other.yml": "intent: x\n"})
    intents = read_intents(broken)
    assert set(intents.broken) == {"intents/bad.yml", "intents/other.yml"}
    assert "intent 应与文件名 other 相同" in intents.broken["intents/other.yml"]
    assert "greeting" in intents.docs
