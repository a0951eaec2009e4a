"""Publishing the draft, refusals and the override, rollback, and the audit log, through the console."""

from __future__ import annotations

import random
import re

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.services import configuration
from bot.services.configuration import store
from bot.console import workspace
from bot.db.models import AuditLog
from bot.config import Settings
from tests.conftest import make_settings, runtime
from tests.console.conftest import Admin
from tests.console.test_evaluate import add_invoice, edit_draft

BROKEN_TEMPLATE = "{% block v1 %}您好{% endblok %}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """A fixed threshold: the tiny test data calibrates its own to 1.0, where any retraining drops its complaint
    examples to fallback and the obligation gate (tests/test_obligations.py) refuses the publish."""
    return make_settings(database_url, fallback_threshold=0.6)


def audit(client: TestClient) -> list[AuditLog]:
    rt = runtime(client)
    with rt.sessions() as session:
        return list(reversed(configuration.audit_entries(session)))


def active_number(client: TestClient) -> int:
    rt = runtime(client)
    with rt.sessions() as session:
        return configuration.active(session).number


def draft_of(client: TestClient) -> workspace.Workspace:
    rt = runtime(client)
    with rt.sessions() as session:
        return workspace.load(session, rt.clock())


def test_the_versions_page_shows_the_drafts_changes_as_diffs(admin: Admin) -> None:
    page = admin.client.get("/admin/versions")
    assert page.status_code == 200 and 'data-testid="nothing-to-publish"' in page.text
    assert 'data-testid="active-badge"' in page.text and 'data-testid="rollback"' not in page.text  # only version 1
    edit_draft(admin.client, lambda files: {**add_invoice(files),
                                            "intents/greeting.yml": files["intents/greeting.yml"].replace("  - 嗨嗨\n", "  - 嗨嗨\n  - 哈罗\n")})
    page = admin.client.get("/admin/versions")
    changes = re.findall(r'data-testid="change" data-path="([^"]+)" data-kind="(\w+)"', page.text)
    assert changes == [("intents/greeting.yml", "changed"), ("intents/invoice.yml", "added")]
    assert '<span class="diff-add">+  - 哈罗</span>' in page.text
    assert 'data-testid="publish-form"' in page.text and "当前草稿还没有评估" in page.text


def test_publishing_makes_a_new_active_version_reusing_the_drafts_evaluation(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    edit_draft(admin.client, add_invoice)
    assert admin.post("/admin/evaluate").status_code == 303
    assert "已评估当前草稿" in admin.client.get("/admin/versions").text

    def no_cross_validation(*args: object) -> dict:
        raise AssertionError("the draft's remembered evaluation should have been used")

    monkeypatch.setattr(store, "_evaluation_of", no_cross_validation)
    published = admin.post("/admin/versions/publish", {"note": "  新增发票意图  "})
    assert published.status_code == 303 and published.headers["location"] == "/admin/versions?ok=published&v=2"
    page = admin.client.get(published.headers["location"])
    assert "已发布版本 2。所有实例将在几秒内切换到版本 2。" in page.text
    assert re.search(r'data-version="2" data-active="true"', page.text)
    assert 'data-version="1"' in page.text and 'data-testid="rollback"' in page.text
    assert active_number(admin.client) == 2
    draft = draft_of(admin.client)
    assert (draft.base_version, draft.dirty) == (2, False) and draft.evaluation is not None  # the draft starts over from 2
    entry = audit(admin.client)[-1]
    assert (entry.action, entry.actor, entry.version) == ("publish", "lin", 2)
    assert entry.detail["note"] == "新增发票意图" and entry.detail["added"] == ["intents/invoice.yml"]
    assert entry.detail["forced"] is False


def test_a_note_is_required_and_an_unchanged_draft_has_nothing_to_publish(admin: Admin) -> None:
    unchanged = admin.post("/admin/versions/publish", {"note": "nothing"})
    assert unchanged.status_code == 409 and "没有可发布的修改" in unchanged.text
    edit_draft(admin.client, add_invoice)
    empty = admin.post("/admin/versions/publish", {"note": "   "})
    assert empty.status_code == 422 and 'data-testid="note-error"' in empty.text and "请写一句发布说明" in empty.text
    long = admin.post("/admin/versions/publish", {"note": "长" * 2001})
    assert long.status_code == 422 and "2001" in long.text
    assert active_number(admin.client) == 1
    assert admin.client.post("/admin/versions/publish", data={"note": "x"}, follow_redirects=False).status_code == 403  # no CSRF


def test_a_draft_that_fails_check_is_refused_naming_the_file_and_cannot_be_forced(admin: Admin) -> None:
    edit_draft(admin.client, lambda files: {**files, "persona_styles/_default/templates/greeting.j2": BROKEN_TEMPLATE})
    for form in ({"note": "typo"}, {"note": "typo", "force": "1"}):
        refused = admin.post("/admin/versions/publish", form)
        assert refused.status_code == 422
        assert "草稿没有通过检查" in refused.text and "persona_styles/_default/templates/greeting.j2" in refused.text
        assert 'data-testid="override-form"' not in refused.text
        assert 'data-testid="note">typo</textarea>' in refused.text  # what the admin typed is kept
    assert active_number(admin.client) == 1
    entry = audit(admin.client)[-1]
    assert entry.action == "refused" and entry.detail["overridable"] is False
    assert any("greeting.j2" in p for p in entry.detail["problems"])


def mix_order_status_and_greeting(files: dict) -> dict:
    """Half of each intent's examples swapped with the other's (complaint, guarded by the obligation gate, is left alone)."""
    a, b = yaml.safe_load(files["intents/order_status.yml"]), yaml.safe_load(files["intents/greeting.yml"])
    pool = a["examples"] + b["examples"]
    random.Random(1).shuffle(pool)
    a["examples"], b["examples"] = pool[: len(pool) // 2], pool[len(pool) // 2:]
    return {**files, "intents/order_status.yml": yaml.safe_dump(a, allow_unicode=True, sort_keys=False),
            "intents/greeting.yml": yaml.safe_dump(b, allow_unicode=True, sort_keys=False)}


def test_a_draft_that_evaluates_worse_is_refused_until_the_admin_overrides(admin: Admin) -> None:
    edit_draft(admin.client, mix_order_status_and_greeting)
    refused = admin.post("/admin/versions/publish", {"note": "reorganised"})
    assert refused.status_code == 422 and "草稿评估结果比线上版本差" in refused.text
    assert re.search(r"在草稿与线上版本 1 都有的 4 个意图上，留出数据（交叉验证）的准确率从 [\d.]+% 降到 [\d.]+%，下降 [\d.]+ 个百分点", refused.text)
    assert 'data-testid="override-form"' in refused.text and "我已了解评估变差，仍要发布" in refused.text
    assert '<input type="hidden" name="note" value="reorganised">' in refused.text
    assert active_number(admin.client) == 1
    assert audit(admin.client)[-1].detail["overridable"] is True

    forced = admin.post("/admin/versions/publish", {"note": "reorganised", "force": "1"})
    assert forced.status_code == 303 and forced.headers["location"] == "/admin/versions?ok=published&v=2"
    entry = audit(admin.client)[-1]
    assert (entry.action, entry.version, entry.detail["forced"]) == ("publish", 2, True)
    page = admin.client.get("/admin/audit")
    assert "评估变差，强制发布" in page.text and "发布被拒" in page.text


def test_adding_a_new_intent_is_not_refused_as_worse(admin: Admin) -> None:
    edit_draft(admin.client, add_invoice)  # overall accuracy falls on this tiny data set; the shared intents do not
    published = admin.post("/admin/versions/publish", {"note": "发票"})
    assert published.status_code == 303, published.text
    entry = audit(admin.client)[-1]
    assert entry.detail["accuracy"] < entry.detail["active_accuracy"] and entry.detail["forced"] is False


def test_rollback_makes_the_old_version_active_and_the_pipeline_follows(admin: Admin) -> None:
    rt = runtime(admin.client)
    rt.config.stop()  # drive the watcher by hand
    edit_draft(admin.client, add_invoice)
    assert admin.post("/admin/versions/publish", {"note": "发票"}).status_code == 303
    assert rt.config.poll() is True and "invoice" in rt.pipeline.intents and rt.config.number == 2

    rolled = admin.post("/admin/versions/1/rollback")
    assert rolled.status_code == 303 and rolled.headers["location"] == "/admin/versions?ok=rolled_back&v=1"
    assert "已回滚：版本 1 重新生效，所有实例将在几秒内切换到版本 1。" in admin.client.get(rolled.headers["location"]).text
    assert active_number(admin.client) == 1
    assert rt.config.poll() is True and "invoice" not in rt.pipeline.intents and rt.config.number == 1
    assert rt.drafting.pipeline is rt.pipeline
    draft = draft_of(admin.client)  # the draft had no changes: it follows the version rolled back to
    assert draft.base_version == 1 and "intents/invoice.yml" not in draft.files.files
    entry = audit(admin.client)[-1]
    assert (entry.action, entry.actor, entry.version, entry.detail["previous"]) == ("rollback", "lin", 1, 2)


def test_rollback_keeps_a_draft_with_changes_and_offers_to_discard_it(admin: Admin) -> None:
    edit_draft(admin.client, add_invoice)
    assert admin.post("/admin/versions/publish", {"note": "发票"}).status_code == 303
    edit_draft(admin.client, lambda files: {**files, "intents/invoice.yml": files["intents/invoice.yml"] + "  - 开票\n"})
    rolled = admin.post("/admin/versions/1/rollback")
    assert rolled.headers["location"] == "/admin/versions?ok=rolled_back_kept&v=1"
    page = admin.client.get(rolled.headers["location"])
    assert "草稿有未发布的修改，已保留" in page.text
    assert 'data-testid="base-differs"' in page.text and "你的草稿基于版本 2，而线上正在使用版本 1" in page.text
    assert 'data-testid="discard-draft"' in page.text
    assert "开票" in draft_of(admin.client).files.files["intents/invoice.yml"]

    discarded = admin.post("/admin/draft/discard")
    assert discarded.status_code == 303 and discarded.headers["location"] == "/admin/versions?ok=discarded"
    draft = draft_of(admin.client)
    assert draft.base_version == 1 and not draft.dirty and "intents/invoice.yml" not in draft.files.files


def test_rollback_to_an_unknown_or_the_active_version_is_refused(admin: Admin) -> None:
    unknown = admin.post("/admin/versions/9/rollback")
    assert unknown.status_code == 404 and "没有版本 9" in unknown.text
    current = admin.post("/admin/versions/1/rollback")
    assert current.status_code == 409 and "已经是线上版本" in current.text
    assert admin.client.post("/admin/versions/1/rollback", follow_redirects=False).status_code == 403  # no CSRF
    rt = runtime(admin.client)
    with rt.sessions() as session:
        assert session.scalar(select(AuditLog).where(AuditLog.action == "rollback")) is None


def test_the_audit_page_lists_every_action_in_chinese_and_filters_by_action(admin: Admin) -> None:
    edit_draft(admin.client, add_invoice)
    assert admin.post("/admin/versions/publish", {"note": "发票意图"}).status_code == 303
    assert admin.post("/admin/versions/1/rollback").status_code == 303
    edit_draft(admin.client, lambda files: {**files, "persona_styles/_default/templates/greeting.j2": BROKEN_TEMPLATE})
    assert admin.post("/admin/versions/publish", {"note": "坏模板"}).status_code == 422
    assert admin.post("/admin/draft/discard").status_code == 303

    page = admin.client.get("/admin/audit")
    assert page.status_code == 200
    actions = re.findall(r'data-testid="audit-row" data-action="(\w+)"', page.text)
    assert actions == ["discard", "refused", "edit", "rollback", "publish", "edit", "initial"]  # newest first
    for label in ("初始版本", "编辑草稿", "发布", "回滚", "发布被拒", "放弃草稿"):
        assert f">{label}</span>" in page.text
    assert "说明：发票意图" in page.text and "新增 intents/invoice.yml" in page.text
    assert "从版本 2 回滚到版本 1" in page.text and "检查未通过" in page.text
    assert "lin" in page.text and "版本 2" in page.text

    only = admin.client.get("/admin/audit?action=rollback")
    assert re.findall(r'data-testid="audit-row" data-action="(\w+)"', only.text) == ["rollback"]
    assert '<option value="rollback" selected>' in only.text
    bad = admin.client.get("/admin/audit?action=nope")
    assert bad.status_code == 400 and "没有这种操作类型" in bad.text
