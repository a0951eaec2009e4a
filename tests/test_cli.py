"""The draftbot command: token management, check, offline drafting, and clear errors."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import get_settings
from bot.db.models import Account
from tests.conftest import DATA


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("DATABASE_URL", "INTENTS_DIR", "PERSONAS_DIR", "DEFAULT_PERSONA"):
        monkeypatch.delenv(f"DRAFTBOT_{key}", raising=False)
    monkeypatch.setenv("DRAFTBOT_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.chdir(tmp_path)
    return tmp_path


runner = CliRunner()


def test_token_create_prints_the_token_on_its_last_line_then_list_and_revoke(env: Path) -> None:
    created = runner.invoke(app, ["token", "create", "--user", "zhangsan", "--role", "admin"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("dbt_") and len(token) > 40
    listed = runner.invoke(app, ["token", "list"])
    assert "zhangsan" in listed.output and "admin" in listed.output
    assert token not in listed.output
    assert runner.invoke(app, ["token", "revoke", "1"]).exit_code == 0
    again = runner.invoke(app, ["token", "revoke", "1"])
    assert again.exit_code == 2
    assert "no live token with id 1" in again.output


def test_account_create_from_stdin_or_prompt_then_list_update_and_disable(env: Path) -> None:
    from bot.db.accounts import verify
    from bot.wiring import open_database

    created = runner.invoke(app, ["account", "create", "--user", "lin", "--password-stdin"], input="correct horse\n")
    assert created.exit_code == 0, created.output
    assert "account lin (admin) created" in created.output
    prompted = runner.invoke(app, ["account", "create", "--user", "wang", "--role", "staff"], input="staff pass 1\nstaff pass 1\n")
    assert prompted.exit_code == 0, prompted.output
    assert "密码（输入时不显示）" in prompted.output and "再输入一次密码" in prompted.output  # the prompts speak Chinese
    listed = runner.invoke(app, ["account", "list"])
    assert "lin" in listed.output and "wang" in listed.output and "staff" in listed.output
    assert "correct horse" not in listed.output
    updated = runner.invoke(app, ["account", "create", "--user", "lin", "--password-stdin"], input="new password\n")
    assert "account lin (admin) updated" in updated.output
    _, sessions = open_database(get_settings())
    with sessions() as session:
        assert verify(session, "lin", "new password") is not None
        assert verify(session, "lin", "correct horse") is None
        stored = session.get(Account, "lin").password_hash
        assert stored.startswith("scrypt$") and "new password" not in stored
    assert runner.invoke(app, ["account", "disable", "lin"]).exit_code == 0
    again = runner.invoke(app, ["account", "disable", "lin"])
    assert again.exit_code == 2 and "no live account 'lin'" in again.output


def test_account_create_refuses_a_short_password_or_unknown_role(env: Path) -> None:
    short = runner.invoke(app, ["account", "create", "--user", "lin", "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.output
    role = runner.invoke(app, ["account", "create", "--user", "lin", "--role", "boss", "--password-stdin"], input="long enough\n")
    assert role.exit_code == 2 and "role must be one of staff, supervisor, admin" in role.output


def test_token_create_refuses_an_unknown_role(env: Path) -> None:
    result = runner.invoke(app, ["token", "create", "--user", "x", "--role", "owner"])
    assert result.exit_code == 2
    assert "role must be one of staff, supervisor, admin" in result.output


def test_listings_show_times_on_the_brands_clock_and_name_it(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.db.accounts import save_account
    from bot.db.tokens import create_token, revoke_token
    from bot.wiring import open_database

    monkeypatch.setenv("DRAFTBOT_TIMEZONE", "Asia/Shanghai")
    made = datetime(2026, 12, 4, 10, 2, tzinfo=timezone.utc)  # 18:02 in Beijing
    engine, sessions = open_database(get_settings())
    try:
        with sessions() as session:
            token_id, _ = create_token(session, user_id="zhangsan", role="staff", now=made)
            revoke_token(session, token_id, now=datetime(2026, 12, 4, 16, 30, tzinfo=timezone.utc))  # the 5th, 00:30 in Beijing
            save_account(session, user_id="lin", role="admin", password="correct horse", now=made)
            session.commit()
    finally:
        engine.dispose()

    tokens = runner.invoke(app, ["token", "list"])
    assert tokens.exit_code == 0, tokens.output
    assert "2026-12-04 18:02（北京时间）" in tokens.output and "2026-12-05 00:30（北京时间）" in tokens.output
    assert "10:02" not in tokens.output and "16:30" not in tokens.output  # never UTC
    accounts = runner.invoke(app, ["account", "list"])
    assert accounts.exit_code == 0 and "2026-12-04 18:02（北京时间）" in accounts.output
    versions = runner.invoke(app, ["config", "list"])
    assert versions.exit_code == 0 and re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}（北京时间）", versions.output), versions.output

    monkeypatch.setenv("DRAFTBOT_TIMEZONE", "America/New_York")  # a zone without a common name: its offset then
    assert "2026-12-04 05:02（UTC-5）" in runner.invoke(app, ["token", "list"]).output


def test_check_passes_on_the_shipped_data(env: Path) -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output


def test_check_warns_about_an_intent_without_a_display_name(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    intents = env / "intents"
    shutil.copytree(DATA / "intents", intents)
    greeting = intents / "greeting.yml"
    greeting.write_text(greeting.read_text(encoding="utf-8").replace("display_name: 问候\n", ""), encoding="utf-8")
    monkeypatch.setenv("DRAFTBOT_INTENTS_DIR", str(intents))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output  # a warning: the key is optional
    assert "warning: intents/greeting.yml: display_name: missing" in result.output
    assert result.output.count("display_name: missing") == 1


def test_check_names_the_file_and_the_item(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    intents = env / "intents"
    shutil.copytree(DATA / "intents", intents)
    (intents / "greeting.yml").write_text((intents / "greeting.yml").read_text(encoding="utf-8").replace("marketing: false", "marketing: perhaps"), encoding="utf-8")
    monkeypatch.setenv("DRAFTBOT_INTENTS_DIR", str(intents))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert "greeting.yml: marketing: must be true or false" in result.output


def test_check_reports_a_broken_template_and_fails(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    styles = env / "persona_styles"
    shutil.copytree(DATA / "persona_styles", styles)
    (styles / "lucky" / "templates" / "greeting.j2").write_text('{% extends "base.j2" %}{% block v1 %}{{ nope }}{% endblock %}', encoding="utf-8")
    monkeypatch.setenv("DRAFTBOT_INTENTS_DIR", str(DATA / "intents"))
    monkeypatch.setenv("DRAFTBOT_PERSONAS_DIR", str(styles))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert "lucky/greeting" in result.output and "nope" in result.output


def test_draft_prints_intent_confidence_persona_and_the_draft(env: Path) -> None:
    result = runner.invoke(app, ["draft", "我的訂單到哪了", "--persona", "advisor", "--name", "王女士"])
    assert result.exit_code == 0, result.output
    assert "intent:     order_status" in result.output
    assert "persona:    advisor" in result.output
    assert "王女士，" in result.output


def test_draft_with_an_unknown_persona_is_a_clear_error(env: Path) -> None:
    result = runner.invoke(app, ["draft", "你好", "--persona", "nobody"])
    assert result.exit_code == 2
    assert "no persona 'nobody'" in result.output


def test_a_bad_setting_stops_with_the_variable_named(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAFTBOT_WECOM_AES_KEY", "short")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "DRAFTBOT_WECOM_AES_KEY: EncodingAESKey must be 43 characters, got 5" in result.output
    assert "Traceback" not in result.output


def write_jsonl(path: Path, rows: list[tuple[str, str]]) -> Path:
    import json

    path.write_text("".join(json.dumps({"text": t, "label": l}, ensure_ascii=False) + "\n" for t, l in rows), encoding="utf-8")
    return path


def small_set(path: Path) -> Path:
    rows = [(f"快递 {n} 到哪了", "order") for n in range(12)] + [(f"有没有优惠 {n}", "promo") for n in range(12)]
    rows += [(f"投诉 服务 {n} 太差", "complaint") for n in range(12)]
    return write_jsonl(path, rows)


def test_eval_train_and_test_files_as_json_with_predictions_and_report(env: Path) -> None:
    import json

    train = small_set(env / "train.jsonl")
    test = write_jsonl(env / "test.jsonl", [("快递 99 到哪了", "order"), ("有没有优惠 99", "promo"), ("投诉 太差", "complaint")])
    result = runner.invoke(app, ["eval", "--train", str(train), "--test", str(test), "--json",
                                 "--predictions", str(env / "pred.jsonl"), "--report", str(env / "report")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("accuracy", "macro_f1", "coverage", "accuracy_on_accepted", "threshold"):
        assert key in summary
    assert summary["accuracy"] == 1.0
    predicted = [json.loads(line) for line in (env / "pred.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [p["predicted"] for p in predicted] == ["order", "promo", "complaint"]
    page = (env / "report" / "index.html").read_text(encoding="utf-8")
    assert "<img" not in page and page.count("<svg") == 2  # both charts inline: one self-contained file
    assert 'aria-label="混淆矩阵"' in page and 'data-testid="coverage-chart"' in page
    assert "横轴是置信度阈值" in page and "<title>draftbot 分类评估报告" in page
    assert not any(word in page for word in ("accuracy", "confusion matrix", "coverage versus", "draftbot eval:"))
    assert sorted(p.name for p in (env / "report").iterdir()) == ["index.html", "report.json"]
    assert json.loads((env / "report" / "report.json").read_text(encoding="utf-8"))["accuracy"] == 1.0


def test_eval_report_of_the_configured_intents_names_them_in_chinese_in_its_charts(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xml.etree.ElementTree as ET

    monkeypatch.setenv("DRAFTBOT_INTENTS_DIR", str(DATA / "intents"))
    result = runner.invoke(app, ["eval", "--folds", "3", "--report", str(env / "out")])
    assert result.exit_code == 0, result.output
    page = (env / "out" / "index.html").read_text(encoding="utf-8")
    matrix = re.search(r'<svg[^>]*data-testid="confusion-chart".*?</svg>', page, re.S).group(0)
    rows = [t.text for t in ET.fromstring(matrix).iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "cm-row"]
    assert {"投诉", "问候", "订单进度", "优惠活动"} <= set(rows)
    assert "订单进度 <code>order_status</code>" in page  # the tables too: the name, the id in small text


def test_eval_report_into_a_file_names_it_and_writes_nothing(env: Path) -> None:
    (env / "taken").write_text("not a folder", encoding="utf-8")
    result = runner.invoke(app, ["eval", "--train", str(small_set(env / "train.jsonl")), "--folds", "3", "--report", str(env / "taken")])
    assert result.exit_code == 2
    assert f"--report {env / 'taken'}: 无法在这里写报告" in " ".join(result.output.split())
    assert "Traceback" not in result.output and (env / "taken").read_text(encoding="utf-8") == "not a folder"


def test_eval_cross_validates_a_train_file_and_prints_per_intent_scores(env: Path) -> None:
    result = runner.invoke(app, ["eval", "--train", str(small_set(env / "train.jsonl")), "--folds", "3"])
    assert result.exit_code == 0, result.output
    assert "stratified 3-fold cross-validation" in result.output
    assert "complaint" in result.output and "macro-F1" in result.output


def test_eval_names_the_bad_line(env: Path) -> None:
    path = env / "bad.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b"}\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", "--test", str(path)])
    assert result.exit_code == 2
    assert "bad.jsonl: line 2" in result.output
