"""Train and evaluate: one click cross-validates the draft; figures, pictures and the difference from the active version."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET

import yaml
from fastapi.testclient import TestClient

from bot.services import configuration
from bot.services.configuration import ConfigFiles
from bot.console import workspace
from tests.conftest import runtime
from tests.console.conftest import Admin

SVG = "{http://www.w3.org/2000/svg}"
INVOICE = {"intent": "invoice", "description": "客户要开发票", "marketing": False,
           "examples": ["开发票", "发票", "要发票", "发票呢", "电子发票", "开个发票", "报销", "收据"]}


def edit_draft(client: TestClient, change) -> ConfigFiles:  # a function of the draft's files
    """Change the draft the way the editing pages do (workspace.save)."""
    rt = runtime(client)
    with rt.sessions() as session:
        files = ConfigFiles(change(dict(workspace.load(session, rt.clock()).files.files)))
        workspace.save(session, files, user="lin", what="test edit", now=rt.clock())
    return files


def add_invoice(files: dict) -> dict:
    return {**files, "intents/invoice.yml": yaml.safe_dump(INVOICE, allow_unicode=True, sort_keys=False)}


def mix_order_status_and_complaint(files: dict) -> dict:
    """Half of each intent's examples swapped with the other's: both get clearly worse."""
    a, b = yaml.safe_load(files["intents/order_status.yml"]), yaml.safe_load(files["intents/complaint.yml"])
    pool = a["examples"] + b["examples"]
    random.Random(1).shuffle(pool)
    a["examples"], b["examples"] = pool[: len(pool) // 2], pool[len(pool) // 2:]
    return {**files, "intents/order_status.yml": yaml.safe_dump(a, allow_unicode=True, sort_keys=False),
            "intents/complaint.yml": yaml.safe_dump(b, allow_unicode=True, sort_keys=False)}


def test_evaluating_the_draft_stores_its_figures_and_shows_them(admin: Admin) -> None:
    before = admin.client.get("/admin/evaluate")
    assert before.status_code == 200 and 'data-testid="no-evaluation"' in before.text
    assert "<svg" not in before.text  # no charts before an evaluation

    evaluated = admin.post("/admin/evaluate")
    assert evaluated.status_code == 303 and evaluated.headers["location"] == "/admin/evaluate?ok=evaluated"

    rt = runtime(admin.client)
    with rt.sessions() as session:
        figures = workspace.load(session, rt.clock()).evaluation
        assert configuration.is_current(figures) and figures["evaluated_by"] == "lin" and figures["seconds"] >= 0
        assert sorted(figures["scores"]) == ["complaint", "greeting", "order_status", "promotion_inquiry"]
        assert len(figures["confusion"]) == len(figures["labels"]) and figures["curve"]
        # the draft equals the active version: one cross-validation gave the active version its figures too
        assert configuration.active(session).evaluation["accuracy"] == figures["accuracy"]

    page = admin.client.get("/admin/evaluate?ok=evaluated")
    assert page.status_code == 200 and "评估完成" in page.text
    assert re.findall(r'data-testid="score-row" data-intent="(\w+)"', page.text) == sorted(figures["scores"])
    assert 'title="greeting">问候</a> <code class="small muted">greeting</code>' in page.text  # names, ids in small text
    assert f'{figures["accuracy"] * 100:.1f}%' in page.text
    assert "准确率：评估时答对的比例" in page.text and "阈值" in page.text and "覆盖率" in page.text
    assert f'用时 <span data-testid="seconds">{figures["seconds"]}</span> 秒' in page.text
    assert "<img" not in page.text and page.text.count("<svg") == 2  # both charts inline: no picture requests
    matrix = ET.fromstring(chart(page.text, "confusion-chart"))
    assert matrix.get("aria-label") == "混淆矩阵"
    assert len([g for g in matrix.iter(f"{SVG}g") if g.get("class") == "cm-cell"]) == len(figures["labels"]) ** 2
    rows = [t.text for t in matrix.iter(f"{SVG}text") if t.get("class") == "cm-row"]
    assert {"问候", "投诉", "订单进度", "优惠活动"} <= set(rows)  # the intents' Chinese names
    curve = ET.fromstring(chart(page.text, "coverage-chart"))
    assert len([g for g in curve.iter(f"{SVG}g") if g.get("class") == "cv-point"]) == len(figures["curve"])
    assert f'阈值 {figures["threshold"]:.2f}' in "".join(curve.itertext())
    assert admin.client.get("/admin/evaluate/confusion.png").status_code == 404  # the old picture routes are gone


def chart(html: str, testid: str) -> str:
    """One inline SVG chart of the page, by its data-testid."""
    return re.search(rf'<svg[^>]*data-testid="{testid}".*?</svg>', html, re.S).group(0)


def diff_rows(admin: Admin) -> dict[str, str]:
    assert admin.post("/admin/evaluate").status_code == 303
    page = admin.client.get("/admin/evaluate")
    return dict(re.findall(r'data-testid="diff-row" data-intent="(\w+)" data-status="(\w+)"', page.text))


def test_the_difference_from_the_active_version_lists_worse_new_and_removed_intents(admin: Admin) -> None:
    edit_draft(admin.client, mix_order_status_and_complaint)
    rows = diff_rows(admin)
    assert list(rows.items())[:2] == [("complaint", "worse"), ("order_status", "worse")]  # worse first
    assert rows["greeting"] == "same"
    page = admin.client.get("/admin/evaluate")
    assert 'data-testid="verdict">变差' in page.text and "在两边都有的 4 个意图上" in page.text
    assert 'class="num worse"' in page.text

    rt = runtime(admin.client)
    with rt.sessions() as session:  # the active version's figures were computed and kept for next time
        assert configuration.is_current(configuration.active(session).evaluation)

    edit_draft(admin.client, lambda files: {path: text for path, text in add_invoice(files).items()
                                            if path != "intents/promotion_inquiry.yml"})
    rows = diff_rows(admin)
    assert rows["invoice"] == "new" and rows["promotion_inquiry"] == "removed"


def test_a_draft_whose_intents_do_not_load_shows_the_file_and_is_not_evaluated(admin: Admin) -> None:
    edit_draft(admin.client, lambda files: {**files, "intents/greeting.yml": "intent: greeting\nexamples: [你好]\n"})
    response = admin.post("/admin/evaluate")
    assert response.status_code == 422
    assert "intents/greeting.yml: description" in response.text and 'data-testid="errors"' in response.text
    assert "/tmp" not in response.text


def test_evaluating_needs_the_csrf_token_and_an_admin(admin: Admin) -> None:
    assert admin.client.post("/admin/evaluate", follow_redirects=False).status_code == 403
    admin.client.post("/admin/logout")
    assert admin.client.get("/admin/evaluate", follow_redirects=False).status_code == 303
