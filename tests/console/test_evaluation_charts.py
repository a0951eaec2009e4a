"""The evaluation's charts as SVG: well-formed, Chinese, escaped, one cell per pair of intents and two dots per threshold."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.console.evaluation_charts import confusion_svg, coverage_svg, evaluation_charts
from bot.nlu.evaluation import coverage_curve

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<i>"x"</i>&'
LABELS = ["complaint", "greeting", HOSTILE]
NAMES = {"complaint": "投诉", "greeting": "问候"}
CONFUSION = [[5, 1, 0], [2, 7, 0], [0, 0, 3]]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # raises on anything that is not well-formed XML


def by_class(root: ET.Element, tag: str, css: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if css in (e.get("class") or "").split()]


def tips(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}title")]


def test_the_confusion_matrix_has_a_cell_per_pair_chinese_names_and_escaped_labels() -> None:
    markup = confusion_svg(LABELS, CONFUSION, NAMES)
    root = parse(markup)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("aria-label") == "混淆矩阵"
    assert root.find(f"{SVG}title").text == "混淆矩阵" and "每行是实际的意图" in root.find(f"{SVG}desc").text
    assert "共 3 个意图、18 条消息，判对（对角线）15 条" in root.find(f"{SVG}desc").text
    cells = by_class(root, "g", "cm-cell")
    assert len(cells) == 9 and all(len(cell.findall(f"{SVG}rect")) == 1 for cell in cells)
    assert [t.text for t in by_class(root, "text", "cm-row")] == ["投诉", "问候", HOSTILE]
    assert [t.text for t in by_class(root, "text", "cm-column")] == ["投诉", "问候", HOSTILE]
    assert "<i>" not in markup and "&lt;i&gt;&#34;x&#34;&lt;/i&gt;&amp;" in markup  # the name is text, never markup
    assert "实际：问候（greeting）；判成：投诉（complaint）：2 条（占这一行的 22%）" in tips(root)
    texts = "".join(root.itertext())
    assert "预测的意图" in texts and "实际的意图" in texts
    counts = [t.text for cell in cells for t in cell.findall(f"{SVG}text")]
    assert counts == ["5", "1", "2", "7", "3"]  # the empty cells show no 0


def test_the_confusion_matrix_colours_each_row_by_its_share_and_survives_an_empty_row() -> None:
    root = parse(confusion_svg(["a", "b"], [[0, 0], [1, 3]]))
    opacity = [rect.get("fill-opacity") for rect in root.iter(f"{SVG}rect") if rect.get("fill-opacity")][:2]
    assert opacity == ["0.310", "0.770"]  # 1 of 4 and 3 of 4 in row b; row a has no message and no colour
    assert len(by_class(root, "g", "cm-cell")) == 4


def test_long_names_are_cut_for_the_axis_but_whole_in_the_tooltip() -> None:
    name = "客户要求开具增值税专用发票并询问报销流程的各种说法"
    root = parse(confusion_svg(["invoice"], [[4]], {"invoice": name}))
    label = by_class(root, "text", "cm-row")[0]
    assert label.text.endswith("…") and len(label.text) < len(name)
    assert label.find(f"{SVG}title").text == f"{name}（invoice）"


def test_a_large_matrix_keeps_its_cells_and_drops_the_counts() -> None:
    n = 45
    root = parse(confusion_svg([f"i{k}" for k in range(n)], [[1 if i == j else 0 for j in range(n)] for i in range(n)]))
    assert len(by_class(root, "g", "cm-cell")) == n * n
    assert not [t for cell in by_class(root, "g", "cm-cell") for t in cell.findall(f"{SVG}text")]


def test_the_coverage_chart_has_two_lines_a_dot_pair_per_threshold_and_the_two_marks() -> None:
    curve = coverage_curve([0.2, 0.5, 0.7, 0.9, 0.95], [False, True, True, True, True])
    root = parse(coverage_svg(curve, 0.62, 0.95))
    assert root.get("aria-label") == "覆盖率与准确率随置信度阈值的变化"
    assert "灰色虚线：选定的阈值 0.62；红色点线：目标准确率 95%" in root.find(f"{SVG}desc").text
    for css in ("cv-covered", "cv-correct"):
        (line,) = by_class(root, "path", css)
        assert line.get("d").count("L") == len(curve) - 1
    points = by_class(root, "g", "cv-point")
    assert len(points) == len(curve) == 21 and all(len(p.findall(f"{SVG}circle")) == 2 for p in points)
    assert "阈值 0.60：覆盖率 60.0%，被接受消息的准确率 100.0%" in tips(root)
    (threshold,) = by_class(root, "line", "cv-threshold")
    (target,) = by_class(root, "line", "cv-target")
    assert threshold.get("x1") == threshold.get("x2") and threshold.get("stroke-dasharray") == "6 4"  # vertical, dashed
    assert target.get("y1") == target.get("y2") and target.get("stroke-dasharray") == "2 4"  # horizontal, dotted
    texts = "".join(root.itertext())
    assert "置信度阈值" in texts and "覆盖率（不转人工的比例）" in texts and "被接受消息的准确率" in texts and "目标准确率 95%" in texts
    assert not any(word in texts for word in ("coverage", "accuracy", "threshold"))  # nothing English to read


def test_the_coverage_chart_without_points_says_so_and_keeps_marks_inside_the_plot() -> None:
    root = parse(coverage_svg([], 1.7, -0.2))
    assert "没有数据" in "".join(root.itertext()) and not by_class(root, "g", "cv-point")
    (threshold,) = by_class(root, "line", "cv-threshold")
    (target,) = by_class(root, "line", "cv-target")
    width = float(root.get("viewBox").split()[2])
    assert 0 < float(threshold.get("x1")) < width and 0 < float(target.get("y1")) < float(root.get("viewBox").split()[3])


def test_both_charts_from_stored_figures() -> None:
    figures = {"labels": ["a", "b"], "confusion": [[1, 0], [0, 1]], "threshold": 0.5, "target_precision": 0.9,
               "curve": coverage_curve([0.4, 0.8], [True, True])}
    charts = evaluation_charts(figures, {"a": "甲"})
    assert set(charts) == {"confusion", "coverage"}
    assert [t.text for t in by_class(parse(charts["confusion"]), "text", "cm-row")] == ["甲", "b"]
    assert len(by_class(parse(charts["coverage"]), "g", "cv-point")) == 21
