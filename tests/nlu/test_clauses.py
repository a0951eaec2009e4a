"""Clauses and the intents a reply answers: measured per clause, above the threshold, never a duplicate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import PROJECT_DIR
from bot.nlu.classifier import IntentClassifier
from bot.nlu.clauses import answered_intents, split_clauses
from bot.nlu.intents import load_intents

BENCH = PROJECT_DIR / "tests" / "bench" / "data"


@pytest.fixture(scope="module")
def shipped() -> IntentClassifier:
    return IntentClassifier.train(load_intents(PROJECT_DIR / "intents"))


def test_clause_boundaries() -> None:
    assert split_clauses("我的快递到哪了？订单 12345678\n另外能开发票吗") == ["我的快递到哪了", "订单 12345678", "能开发票吗"]
    assert split_clauses("多少钱。还有，店在哪里？顺便问下营业时间") == ["多少钱", "店在哪里", "问下营业时间"]
    assert split_clauses("？？\n\n") == []


def test_two_questions_give_two_intents_and_one_question_one(shipped: IntentClassifier) -> None:
    assert answered_intents(shipped, "多少钱？店在哪里") == ["price_inquiry", "store_info"]
    assert answered_intents(shipped, "我的快递到哪了？另外能开发票吗") == ["order_status", "payment_invoice"]
    assert answered_intents(shipped, "能开发票吗？能开发票吗") == ["payment_invoice"]  # the same intent twice is one
    assert answered_intents(shipped, "谢谢。能开发票吗") == ["payment_invoice"]  # thanks is no question
    assert answered_intents(shipped, "你们门店在哪？别再给我发广告了")[1:] == []  # an opt-out decides alone


def test_eval_measures_two_questions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DATABASE_URL", "INTENTS_DIR", "PERSONAS_DIR", "DEFAULT_PERSONA"):
        monkeypatch.delenv(f"DRAFTBOT_{key}", raising=False)
    monkeypatch.setenv("DRAFTBOT_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("DRAFTBOT_INTENTS_DIR", str(PROJECT_DIR / "intents"))
    result = CliRunner().invoke(app, ["eval", "--json", "--test", str(BENCH / "shipped_heldout_2.jsonl"),
                                      "--two-questions", str(BENCH / "two_questions_heldout.jsonl")])
    assert result.exit_code == 0, result.output
    two = json.loads(result.stdout.strip().splitlines()[-1])["two_questions"]
    assert two["pairs"] == 57 and two["singles"] == 3 + 171
    assert two["both_rate"] >= 0.85 and two["spurious_rate"] < 0.03
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "多少钱"}\n', encoding="utf-8")
    refused = CliRunner().invoke(app, ["eval", "--two-questions", str(bad)])
    assert refused.exit_code == 2 and "line 1" in refused.output
