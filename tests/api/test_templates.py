"""Every page is rendered by one Jinja2 environment over web/templates/, and it escapes what it inserts."""

from __future__ import annotations

from pathlib import Path

from bot.api import demo
from bot.api.admin import common
from bot.api.sidebar import pages
from bot.nlu.evaluation import IntentScore, Report
from bot.console.report import write_report
from bot.web import templates


def test_the_demo_the_console_and_the_sidebar_share_one_autoescaping_environment() -> None:
    assert common.templates is demo.templates is pages.templates is templates
    assert all(templates.env.autoescape(name) for name in ("report.html", "admin/evaluate.html", "demo.html", "sidebar.html"))
    assert templates.get_template("report.html").environment is templates.env


def test_the_report_page_escapes_names_and_method_and_writes_nothing_else(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    report = Report(
        accuracy=0.5, macro_f1=0.5, coverage=1.0, accuracy_on_accepted=0.5, threshold=0.4, target_precision=0.95,
        examples=4, method=hostile, per_intent=[IntentScore("a", 0.5, 0.5, 0.5, 2), IntentScore("b", 0.5, 0.5, 0.5, 2)],
        confusion_pairs=[{"a": "a", "b": "b", "a_as_b": 1, "b_as_a": 1}], labels=["a", "b"], confusion=[[1, 1], [1, 1]],
        curve=[{"threshold": 0.0, "coverage": 1.0, "accuracy": 0.5}, {"threshold": 1.0, "coverage": 0.0, "accuracy": 1.0}],
    )
    page = write_report(report, tmp_path / "out", {"a": hostile, "b": "乙"}).read_text(encoding="utf-8")
    assert "<img" not in page and page.count("&lt;img src=x") >= 3  # title, tables and chart labels
    assert "乙 <code>b</code>" in page and page.count("<svg") == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.html", "report.json"]
