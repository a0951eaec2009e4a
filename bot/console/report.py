"""The evaluation report as files: index.html (figures, tables and the two charts inline as SVG) and report.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from bot.console.evaluation_charts import confusion_svg, coverage_svg
from bot.nlu.evaluation import Report
from bot.web import templates


def write_report(report: Report, directory: Path, names: Mapping[str, str] | None = None) -> Path:
    """Write index.html and report.json into `directory` and return the page; `names`: intent id -> Chinese name."""
    names = dict(names or {})
    charts = {
        "confusion": confusion_svg(report.labels, report.confusion, names),
        "coverage": coverage_svg(report.curve, report.threshold, report.target_precision),
    }
    page = templates.get_template("report.html").render(r=report, charts=charts, names=names, pct=lambda v: f"{v * 100:.1f}%")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(report.summary(), ensure_ascii=False, indent=2), encoding="utf-8")
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
