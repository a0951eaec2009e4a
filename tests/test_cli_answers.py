"""draftbot check lints brand answers; draftbot eval reports how well answers are found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import DATA

runner = CliRunner()
ANSWERS = (
    "answers:\n"
    "  - id: delivery_time\n"
    "    questions: [\"一般几天能到\", \"发货后多久到\", \"多久能收到\"]\n"
    "    answer: \"现货订单 48 小时内发货，江浙沪次日达，其他地区 2-4 天送达。\"\n"
    "  - id: courier\n"
    "    questions: [\"发什么快递\", \"用的哪家快递\", \"能发顺丰吗\"]\n"
    "    answer: \"全部订单发顺丰。\"\n"
)


@pytest.fixture
def intents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test intents with answers on order_status, in DRAFTBOT_INTENTS_DIR."""
    for key in ("DATABASE_URL", "PERSONAS_DIR", "DEFAULT_PERSONA"):
        monkeypatch.delenv(f"DRAFTBOT_{key}", raising=False)
    monkeypatch.setenv("DRAFTBOT_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("DRAFTBOT_PERSONAS_DIR", str(DATA / "persona_styles"))
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "intents"
    shutil.copytree(DATA / "intents", folder)
    path = folder / "order_status.yml"
    path.write_text(path.read_text(encoding="utf-8") + ANSWERS, encoding="utf-8")
    monkeypatch.setenv("DRAFTBOT_INTENTS_DIR", str(folder))
    return folder


def test_check_names_an_answer_question_that_is_another_intents_example(intents: Path) -> None:
    path = intents / "order_status.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("\"多久能收到\"", "\"你好\""), encoding="utf-8")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1, result.output
    assert "order_status.yml: answers delivery_time: 问法“你好”也是意图 greeting 的例句" in result.output


def test_check_names_a_duplicate_answer_id_with_the_file_and_item(intents: Path) -> None:
    path = intents / "order_status.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("id: courier", "id: delivery_time"), encoding="utf-8")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1, result.output  # the service still loads; check refuses it (and so does publishing)
    assert "order_status.yml: answers delivery_time: 答案编号 delivery_time 在这个文件里出现了两次" in result.output


def test_eval_reports_answer_retrieval_on_held_out_question_variants(intents: Path) -> None:
    printed = runner.invoke(app, ["eval", "--folds", "3"])
    assert printed.exit_code == 0, printed.output
    assert "answers: 6 question variants, each held out in turn" in printed.output
    result = runner.invoke(app, ["eval", "--folds", "3", "--json"])
    answers = json.loads(result.stdout.strip().splitlines()[-1])["answers"]
    assert answers["questions"] == 6
    assert 0.0 <= answers["coverage"] <= 1.0 and 0.0 <= answers["accuracy_on_accepted"] <= 1.0


def test_check_warns_about_a_template_that_does_not_say_the_answer(intents: Path) -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output  # a warning: drafts keep their usual wording
    assert "order_status v1: 这个意图有答案，但这条话术没有完整说出答案" in result.output


def test_draft_names_the_answer_it_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("INTENTS_DIR", "PERSONAS_DIR", "DEFAULT_PERSONA"):
        monkeypatch.delenv(f"DRAFTBOT_{key}", raising=False)
    monkeypatch.setenv("DRAFTBOT_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("DRAFTBOT_INTENTS_DIR", str(root / "intents"))
    monkeypatch.setenv("DRAFTBOT_PERSONAS_DIR", str(root / "persona_styles"))
    result = runner.invoke(app, ["draft", "退货的运费是谁出", "--persona", "enthusiast"])
    assert result.exit_code == 0, result.output
    assert "answer:     return_shipping" in result.output
    assert "质量问题退换的运费由栖木承担" in result.output and "—— 小满" in result.output
