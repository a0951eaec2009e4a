"""The evaluation report as files (an HTML page with the confusion matrix and coverage curve as pictures),
and the two pictures as PNG bytes drawn from plain numbers (the console redraws them from stored figures)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
import numpy as np  # noqa: E402
from jinja2 import Environment, select_autoescape  # noqa: E402

from bot.nlu.evaluation import Report  # noqa: E402

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>draftbot 分类评估报告：{{ r.method }}</title>
<style>
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:1100px;color:#1f2328;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border-bottom:1px solid #d0d7de;padding:.3rem .8rem;text-align:right}
td:first-child,th:first-child{text-align:left}.low{color:#cf222e;font-weight:600}img{max-width:100%;border:1px solid #d0d7de}
.figures{display:flex;gap:2rem;flex-wrap:wrap}.figures div{font-size:1.6rem}.figures span{display:block;font-size:.8rem;color:#57606a}
</style></head><body>
<h1>分类评估报告</h1>
<p>{{ r.method }} · {{ r.examples }} 条样本</p>
<div class="figures">
<div>{{ pct(r.accuracy) }}<span>准确率</span></div>
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
<h2>混淆矩阵</h2><img src="confusion.png" alt="混淆矩阵：每行是实际的意图，每列是预测的意图">
<p>每行是实际的意图，每列是预测的意图；颜色越深，这一行的消息被判成该列意图的比例越高。</p>
<h2>覆盖率与准确率</h2><img src="coverage.png" alt="覆盖率与被接受消息的准确率随置信度阈值的变化">
<p>横轴是置信度阈值。蓝线：覆盖率（不转人工的比例）；橙线：被接受消息的准确率；灰色虚线：选定的阈值 {{ r.threshold }}；红色点线：目标 {{ pct(r.target_precision) }}。</p>
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
    path.write_bytes(confusion_picture(report.labels, report.confusion))


def coverage_png(report: Report, path: Path) -> None:
    path.write_bytes(coverage_picture(report.curve, report.threshold, report.target_precision))


# Axis words in Chinese when a CJK font is installed (Debian: fonts-wqy-microhei), else none: a missing
# glyph would draw boxes and warn, and the page around each picture says in Chinese what it shows.
_WORDS = {
    "predicted": "预测的意图", "true": "实际的意图", "coverage": "覆盖率（不转人工的比例）",
    "accuracy": "被接受消息的准确率", "threshold": "阈值", "target": "目标", "confidence": "置信度阈值",
}
_DRAWING = threading.Lock()  # rcParams are global: one picture at a time (the web server draws in threads)
_CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "SimHei")


@lru_cache(maxsize=1)
def _cjk_font() -> str | None:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


def _style() -> tuple[dict, Callable[[str], str]]:
    """Matplotlib settings and the word for each axis label, depending on the fonts this machine has."""
    font = _cjk_font()
    settings = {"font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
                "axes.unicode_minus": False}
    return settings, (lambda key: _WORDS[key] if font else "")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def confusion_picture(labels: Sequence[str], confusion: Sequence[Sequence[int]]) -> bytes:
    """Rows: true intent; columns: predicted; each row normalised so colours compare across intents."""
    settings, word = _style()
    matrix = np.asarray(confusion, dtype=float).reshape(len(labels), len(labels))
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = max(5.0, 0.42 * len(labels) + 2)
    with _DRAWING, matplotlib.rc_context(settings):
        figure = Figure(figsize=(size + 1, size))
        axes = figure.subplots()
        image = axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
        axes.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
        axes.set_yticks(range(len(labels)), labels, fontsize=8)
        axes.set_xlabel(word("predicted"))
        axes.set_ylabel(word("true"))
        if len(labels) <= 40:
            for i in range(len(labels)):
                for j in range(len(labels)):
                    if matrix[i, j]:
                        axes.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=6,
                                  color="white" if share[i, j] > 0.5 else "black")
        figure.colorbar(image, ax=axes, fraction=0.04)
        return _png(figure)


def coverage_picture(curve: Sequence[dict], threshold: float, target_precision: float) -> bytes:
    """Coverage and accuracy on accepted messages against the threshold, with the chosen threshold marked."""
    settings, word = _style()
    thresholds = [p["threshold"] for p in curve]
    with _DRAWING, matplotlib.rc_context(settings):
        figure = Figure(figsize=(7, 4))
        axes = figure.subplots()
        axes.plot(thresholds, [p["coverage"] for p in curve], color="#1f77b4", label=word("coverage"))
        axes.plot(thresholds, [p["accuracy"] for p in curve], color="#ff7f0e", label=word("accuracy"))
        axes.axvline(threshold, color="grey", linestyle="--", label=f"{word('threshold')} {threshold:.2f}")
        axes.axhline(target_precision, color="#cf222e", linestyle=":", label=f"{word('target')} {target_precision:.0%}")
        axes.set_xlabel(word("confidence"))
        axes.set_ylim(0, 1.02)
        if word("coverage"):  # without a CJK font the legend would have no words: the page describes the lines
            axes.legend(loc="lower left")
        return _png(figure)
