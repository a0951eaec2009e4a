"""The evaluation report as files: an HTML page with the confusion matrix and coverage curve as pictures."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from jinja2 import Environment, select_autoescape  # noqa: E402

from bot.nlu.evaluation import Report  # noqa: E402

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>draftbot eval: {{ r.method }}</title>
<style>
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:1100px;color:#1f2328;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border-bottom:1px solid #d0d7de;padding:.3rem .8rem;text-align:right}
td:first-child,th:first-child{text-align:left}.low{color:#cf222e;font-weight:600}img{max-width:100%;border:1px solid #d0d7de}
.figures{display:flex;gap:2rem;flex-wrap:wrap}.figures div{font-size:1.6rem}.figures span{display:block;font-size:.8rem;color:#57606a}
</style></head><body>
<h1>分类评估报告</h1>
<p>{{ r.method }} · {{ r.examples }} 条样本</p>
<div class="figures">
<div>{{ pct(r.accuracy) }}<span>准确率 accuracy</span></div>
<div>{{ pct(r.macro_f1) }}<span>宏平均 F1</span></div>
<div>{{ pct(r.coverage) }}<span>覆盖率（置信度 ≥ {{ r.threshold }}）</span></div>
<div>{{ pct(r.accuracy_on_accepted) }}<span>已接受消息的准确率（目标 {{ pct(r.target_precision) }}）</span></div>
</div>
<h2>各意图</h2>
<table><tr><th>意图</th><th>精确率</th><th>召回率</th><th>F1</th><th>样本</th></tr>
{% for s in r.per_intent %}<tr><td>{{ s.intent }}</td><td>{{ pct(s.precision) }}</td><td>{{ pct(s.recall) }}</td>
<td class="{{ 'low' if s.f1 < 0.8 else '' }}">{{ pct(s.f1) }}</td><td>{{ s.support }}</td></tr>{% endfor %}
</table>
<h2>最常混淆的意图</h2>
<table><tr><th>意图 A</th><th>意图 B</th><th>A 判成 B</th><th>B 判成 A</th></tr>
{% for p in r.confusion_pairs %}<tr><td>{{ p.a }}</td><td>{{ p.b }}</td><td>{{ p.a_as_b }}</td><td>{{ p.b_as_a }}</td></tr>{% endfor %}
</table>
<h2>混淆矩阵</h2><img src="confusion.png" alt="confusion matrix">
<h2>覆盖率与准确率</h2><img src="coverage.png" alt="coverage versus accuracy">
</body></html>"""


def write_report(report: Report, directory: Path) -> Path:
    """Write index.html, confusion.png, coverage.png and report.json into `directory`; return the page."""
    directory.mkdir(parents=True, exist_ok=True)
    confusion_png(report, directory / "confusion.png")
    coverage_png(report, directory / "coverage.png")
    (directory / "report.json").write_text(json.dumps(report.summary(), ensure_ascii=False, indent=2), encoding="utf-8")
    environment = Environment(autoescape=select_autoescape(default=True))
    page = environment.from_string(_PAGE).render(r=report, pct=lambda v: f"{v * 100:.1f}%")
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def confusion_png(report: Report, path: Path) -> None:
    """Rows: true intent; columns: predicted; each row normalised so colours compare across intents."""
    matrix = np.asarray(report.confusion, dtype=float)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = max(5.0, 0.42 * len(report.labels) + 2)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(report.labels)), report.labels, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(report.labels)), report.labels, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if len(report.labels) <= 40:
        for i in range(len(report.labels)):
            for j in range(len(report.labels)):
                if matrix[i, j]:
                    axes.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=6,
                              color="white" if share[i, j] > 0.5 else "black")
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def coverage_png(report: Report, path: Path) -> None:
    """Coverage and accuracy on accepted messages against the threshold, with the chosen threshold marked."""
    thresholds = [p["threshold"] for p in report.curve]
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(thresholds, [p["coverage"] for p in report.curve], label="coverage")
    axes.plot(thresholds, [p["accuracy"] for p in report.curve], label="accuracy on accepted")
    axes.axvline(report.threshold, color="grey", linestyle="--", label=f"threshold {report.threshold:.2f}")
    axes.axhline(report.target_precision, color="#cf222e", linestyle=":", label=f"target {report.target_precision:.0%}")
    axes.set_xlabel("confidence threshold")
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
