"""The evaluation's two charts as inline SVG: the confusion matrix and coverage/accuracy over the threshold.

Drawn on the server from the stored numbers, like the dashboard's charts (bot.console.charts): no chart
library, no JavaScript. Colours are presentation attributes, so the same SVG looks right inside the
console, in the report page `draftbot eval --report` writes, and saved on its own. Every cell and
point carries a <title> (a hover text that screen readers read too); each chart has a <title> and a <desc>.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"
TEXT = "#1f2328"
MUTED = "#57606a"
GRID = "#d0d7de"
BLUE = "#0969da"
ORANGE = "#d4700a"
RED = "#cf222e"
FONT = 12
MAX_COUNTS = 40  # more intents than this: the cells are too small for their counts (the tooltips keep them)
LABEL_WIDTH = 150  # px at most for an intent's name beside the matrix; longer names are cut with "…"
KEY_WIDTH = 290  # the colour key under the matrix: five swatches and what they mean
HALO = 'paint-order="stroke" stroke="#ffffff" stroke-width="3" stroke-linejoin="round"'  # labels stay legible over lines


def _text_width(text: str, size: float = FONT) -> float:
    """About how wide `text` is drawn: CJK characters are square, Latin ones a little over half as wide."""
    return sum(size if ord(char) >= 0x2E80 else size * 0.6 for char in text)


def _fit(text: str, width: float = LABEL_WIDTH) -> str:
    """`text`, cut with "…" so that it fits `width`."""
    if _text_width(text) <= width:
        return text
    while text and _text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _open(width: float, height: float, title: str, desc: str, testid: str, font: int = FONT) -> str:
    return (f'<svg xmlns="{SVG_NS}" class="eval-chart" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
            f'height="{height:.0f}" role="img" aria-label="{escape(title)}" data-testid="{testid}" '
            f'font-family="system-ui, -apple-system, \'PingFang SC\', \'Microsoft YaHei\', sans-serif" font-size="{font}">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>")


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def confusion_svg(labels: Sequence[str], confusion: Sequence[Sequence[int]], names: Mapping[str, str] | None = None) -> Markup:
    """Rows: the true intent; columns: the predicted one; a cell's blue is its share of the row, so rows compare."""
    names = names or {}
    shown = [_fit(names.get(label, label)) for label in labels]
    full = [f"{names[label]}（{label}）" if names.get(label) and names[label] != label else label for label in labels]
    n = len(labels)
    cell = max(12, min(34, 560 // max(n, 1)))
    label_space = max((_text_width(text) for text in shown), default=0) + 8
    left = 24 + label_space  # the rotated axis title, then the row names
    top = 12
    grid = n * cell
    bottom = top + grid + label_space * 0.72 + 12  # column names at -45°
    width = max(left + grid + 12, left + KEY_WIDTH)
    height = bottom + 60  # the axis title and the colour key below
    rows = [sum(row) for row in confusion]
    total, right = sum(rows), sum(confusion[i][i] for i in range(n))
    desc = (f"每行是实际的意图，每列是预测的意图；颜色越深，这一行的消息被判成该列意图的比例越高。"
            f"共 {n} 个意图、{total} 条消息，判对（对角线）{right} 条。")
    parts = [_open(width, height, "混淆矩阵", desc, "confusion-chart"), '<g class="cm-cells">']
    for i in range(n):
        for j in range(n):
            count = confusion[i][j]
            share = count / rows[i] if rows[i] else 0.0
            x, y = left + j * cell, top + i * cell
            tip = f"实际：{full[i]}；判成：{full[j]}：{count} 条（占这一行的 {share:.0%}）"
            fill = f'fill="{BLUE}" fill-opacity="{0.08 + 0.92 * share:.3f}"' if count else 'fill="#ffffff"'
            parts.append(f'<g class="cm-cell"><title>{escape(tip)}</title>'
                         f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" {fill} stroke="{GRID}" stroke-width="0.5"/>')
            if count and n <= MAX_COUNTS:
                colour = "#ffffff" if share > 0.5 else TEXT
                parts.append(f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2:.1f}" text-anchor="middle" dominant-baseline="central" '
                             f'font-size="{min(11, cell * 0.42):.0f}" fill="{colour}">{count}</text>')
            parts.append("</g>")
    parts.append(f'</g><g class="cm-labels" fill="{TEXT}">')
    size = min(FONT, max(8, cell * 0.6))
    for index, (text, tip) in enumerate(zip(shown, full)):
        middle = top + index * cell + cell / 2
        parts.append(f'<text class="cm-row" x="{left - 6}" y="{middle:.1f}" text-anchor="end" dominant-baseline="central" '
                     f'font-size="{size:.0f}">{escape(text)}<title>{escape(tip)}</title></text>')
    for index, (text, tip) in enumerate(zip(shown, full)):
        x, y = left + index * cell + cell / 2, top + grid + 8
        parts.append(f'<text class="cm-column" x="{x:.1f}" y="{y:.1f}" text-anchor="end" dominant-baseline="central" '
                     f'font-size="{size:.0f}" transform="rotate(-45 {x:.1f} {y:.1f})">{escape(text)}<title>{escape(tip)}</title></text>')
    parts.append("</g>")
    middle_x, middle_y = left + grid / 2, top + grid / 2
    parts.append(f'<text x="{middle_x:.1f}" y="{bottom + 10:.1f}" text-anchor="middle" fill="{MUTED}">预测的意图</text>'
                 f'<text x="12" y="{middle_y:.1f}" text-anchor="middle" fill="{MUTED}" '
                 f'transform="rotate(-90 12 {middle_y:.1f})">实际的意图</text>')
    parts.append(_colour_key(left, bottom + 28))
    parts.append("</svg>")
    return Markup("".join(parts))


def _colour_key(x: float, y: float) -> str:
    """Five swatches from 0% to 100% of a row, with what the colour means."""
    parts = [f'<g class="cm-key" fill="{MUTED}" font-size="11">']
    for step in range(5):
        share = step / 4
        parts.append(f'<rect x="{x + step * 30}" y="{y}" width="30" height="10" fill="{BLUE}" '
                     f'fill-opacity="{0.08 + 0.92 * share:.3f}" stroke="{GRID}" stroke-width="0.5"/>')
    parts.append(f'<text x="{x}" y="{y + 22}">0%</text><text x="{x + 150}" y="{y + 22}" text-anchor="end">100%</text>'
                 f'<text x="{x + 160}" y="{y + 9}">占这一行消息的比例</text></g>')
    return "".join(parts)


# the coverage chart: its viewBox (about the width of half the console, so its words stay readable) and plot area
WIDTH, HEIGHT = 560, 350
LEFT, RIGHT, TOP, BOTTOM = 52, 20, 20, 110
CURVE_FONT = 14


def _x(value: float) -> float:
    return LEFT + min(max(value, 0.0), 1.0) * (WIDTH - LEFT - RIGHT)


def _y(value: float) -> float:
    return HEIGHT - BOTTOM - min(max(value, 0.0), 1.0) * (HEIGHT - BOTTOM - TOP)


def coverage_svg(curve: Sequence[Mapping[str, float]], threshold: float, target_precision: float) -> Markup:
    """Coverage and accuracy on accepted messages against the threshold; the chosen threshold dashed, the target dotted."""
    desc = (f"横轴是置信度阈值。蓝线：覆盖率（不转人工的比例）；橙线：被接受消息的准确率；"
            f"灰色虚线：选定的阈值 {threshold:.2f}；红色点线：目标准确率 {target_precision:.0%}。")
    parts = [_open(WIDTH, HEIGHT, "覆盖率与准确率随置信度阈值的变化", desc, "coverage-chart", CURVE_FONT),
             f'<g class="cv-grid" fill="{MUTED}">']
    for step in range(5):
        y = _y(step / 4)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{step * 25}%</text>')
    for step in range(6):
        x = _x(step / 5)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{step / 5:.1f}</text>')
    parts.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - BOTTOM + 42}" text-anchor="middle">置信度阈值</text></g>')
    points = sorted(curve, key=lambda p: p["threshold"])
    for key, css, colour in (("coverage", "covered", BLUE), ("accuracy", "correct", ORANGE)):
        if points:
            path = " ".join(f"{'L' if i else 'M'}{_x(p['threshold']):.1f},{_y(p[key]):.1f}" for i, p in enumerate(points))
            parts.append(f'<path class="cv-{css}" d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
    for p in points:
        tip = f"阈值 {p['threshold']:.2f}：覆盖率 {_pct(p['coverage'])}，被接受消息的准确率 {_pct(p['accuracy'])}"
        x = _x(p["threshold"])
        parts.append(f'<g class="cv-point"><title>{escape(tip)}</title>'
                     f'<circle cx="{x:.1f}" cy="{_y(p["coverage"]):.1f}" r="3.5" fill="{BLUE}"/>'
                     f'<circle cx="{x:.1f}" cy="{_y(p["accuracy"]):.1f}" r="3.5" fill="{ORANGE}"/></g>')
    parts.append(_marks(threshold, target_precision))  # over the dots, so its labels stay legible
    if not points:
        parts.append(f'<text x="{WIDTH / 2}" y="{_y(0.5):.1f}" text-anchor="middle" fill="{MUTED}">没有数据</text>')
    parts.append(_legend(threshold, target_precision))
    parts.append("</svg>")
    return Markup("".join(parts))


def _marks(threshold: float, target_precision: float) -> str:
    """The chosen threshold (dashed, vertical) and the target precision (dotted, horizontal), each labelled."""
    x, y = _x(threshold), _y(target_precision)
    anchor = "end" if x > WIDTH - RIGHT - 100 else "start"
    shift = -4 if anchor == "end" else 4
    return (f'<g class="cv-marks"><line class="cv-threshold" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
            f'stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="6 4"><title>选定的阈值 {threshold:.2f}</title></line>'
            f'<text x="{x + shift:.1f}" y="{TOP + 10}" text-anchor="{anchor}" fill="{MUTED}" {HALO}>阈值 {threshold:.2f}</text>'
            f'<line class="cv-target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{RED}" '
            f'stroke-width="1.5" stroke-dasharray="2 4"><title>目标准确率 {target_precision:.0%}</title></line>'
            f'<text x="{LEFT + 6}" y="{y - 5:.1f}" fill="{RED}" {HALO}>目标 {target_precision:.0%}</text></g>')


def _legend(threshold: float, target_precision: float) -> str:
    """What each line is: the two curves on one row, the two marks on the next, under the axis."""
    entries = [(f'stroke="{BLUE}" stroke-width="2"', "覆盖率（不转人工的比例）"),
               (f'stroke="{ORANGE}" stroke-width="2"', "被接受消息的准确率"),
               (f'stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="6 4"', f"选定的阈值 {threshold:.2f}"),
               (f'stroke="{RED}" stroke-width="1.5" stroke-dasharray="2 4"', f"目标准确率 {target_precision:.0%}")]
    parts = [f'<g class="cv-legend" fill="{TEXT}">']
    for index, (stroke, text) in enumerate(entries):
        x = LEFT + (index % 2) * (WIDTH - LEFT - RIGHT) / 2
        y = HEIGHT - 38 + (index // 2) * 24
        parts.append(f'<line x1="{x:.1f}" x2="{x + 24:.1f}" y1="{y - 5}" y2="{y - 5}" {stroke}/>'
                     f'<text x="{x + 30:.1f}" y="{y}">{escape(text)}</text>')
    parts.append("</g>")
    return "".join(parts)


def evaluation_charts(figures: Mapping, names: Mapping[str, str] | None = None) -> dict[str, Markup]:
    """Both charts from an evaluation's stored figures (labels, confusion, curve, threshold, target_precision)."""
    return {
        "confusion": confusion_svg(figures["labels"], figures["confusion"], names),
        "coverage": coverage_svg(figures["curve"], figures["threshold"], figures["target_precision"]),
    }

