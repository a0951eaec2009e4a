"""The intents pages: list, one intent, and every edit: CSRF, inline errors, redirects, draft only."""

from __future__ import annotations

import re

from bot.services import configuration
from bot.console.intent_files import read_intents
from bot.console import workspace
from bot.db.models import AuditLog
from tests.conftest import runtime
from tests.console.conftest import Admin


def draft_files(admin: Admin):
    rt = runtime(admin.client)
    with rt.sessions() as session:
        return workspace.load(session, rt.clock()).files


def active_files(admin: Admin):
    rt = runtime(admin.client)
    with rt.sessions() as session:
        return configuration.files_of(configuration.active(session))


def examples(admin: Admin, intent: str) -> tuple[str, ...]:
    return read_intents(draft_files(admin)).get(intent).examples


def last_edit(admin: Admin) -> str:
    with runtime(admin.client).sessions() as session:
        entry = configuration.audit_entries(session, limit=1)[0]
        assert isinstance(entry, AuditLog) and entry.action == "edit" and entry.actor == "lin"
        return entry.text or ""


def test_the_list_shows_every_intent_with_counts_and_where_f1_comes_from(admin: Admin) -> None:
    page = admin.client.get("/admin/intents")
    assert page.status_code == 200
    rows = re.findall(r'data-intent="([a-z_]+)"', page.text)
    assert rows == ["complaint", "greeting", "order_status", "promotion_inquiry"]
    assert "还没有评估结果" in page.text and 'data-testid="new-intent-form"' in page.text
    assert "营销" in page.text  # promotion_inquiry's badge
    rt = runtime(admin.client)
    with rt.sessions() as session:
        draft = workspace.load(session, rt.clock())
        workspace.remember_evaluation(session, draft.files, {"accuracy": 0.9, "per_intent": {"greeting": 0.875}}, rt.clock())
    page = admin.client.get("/admin/intents")
    assert "F1 来自草稿最近一次评估" in page.text and "88%" in page.text


def test_the_list_falls_back_to_the_active_versions_f1_and_filters(admin: Admin) -> None:
    rt = runtime(admin.client)
    with rt.sessions() as session:
        configuration.active(session).evaluation = {"accuracy": 0.8, "per_intent": {"complaint": 0.5}}
        session.commit()
    page = admin.client.get("/admin/intents?q=快遞")  # 繁体 finds 简体
    assert "线上版本 1 的评估" in page.text
    assert re.findall(r'data-intent="([a-z_]+)"', page.text) == ["order_status"]
    assert "快递什么时候能到" in page.text
    assert "50%" in admin.client.get("/admin/intents/complaint").text


def test_create_an_intent(admin: Admin) -> None:
    assert admin.client.post("/admin/intents", data={"intent": "gift_card", "description": "礼品卡"}, follow_redirects=False).status_code == 403
    response = admin.post("/admin/intents", {"intent": "gift_card", "description": "客户问礼品卡", "marketing": "1"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/intents/gift_card?ok=created"
    page = admin.client.get(response.headers["location"])
    assert "已为每个人设复制兜底话术，请修改" in page.text
    assert 'data-testid="intent-warning"' in page.text and "至少要 5 条才能发布" in page.text
    assert "/admin/personas/lucky/templates/gift_card" in page.text
    files = draft_files(admin)
    assert "persona_styles/lucky/templates/gift_card.j2" in files.files
    assert read_intents(files).get("gift_card").marketing is True
    assert "intents/gift_card.yml" not in active_files(admin).files  # the live configuration is untouched
    assert last_edit(admin) == "新建意图 gift_card（客户问礼品卡）"


def test_a_refused_create_keeps_what_was_typed_and_says_why_inline(admin: Admin) -> None:
    bad = admin.post("/admin/intents", {"intent": "Gift Card", "description": "礼品卡说明", "examples": "礼品卡怎么买"})
    assert bad.status_code == 422
    assert 'class="field-error"' in bad.text and "小写英文字母" in bad.text
    assert 'value="Gift Card"' in bad.text and 'value="礼品卡说明"' in bad.text and "礼品卡怎么买</textarea>" in bad.text
    taken = admin.post("/admin/intents", {"intent": "greeting", "description": "x"})
    assert taken.status_code == 409 and "已经有意图 greeting" in taken.text
    clash = admin.post("/admin/intents", {"intent": "gift_card", "description": "x", "examples": "你好"})
    assert clash.status_code == 409 and "「你好」已在 greeting 的例句里" in clash.text
    assert "intents/gift_card.yml" not in draft_files(admin).files


def test_the_intent_page_and_an_unknown_intent(admin: Admin) -> None:
    page = admin.client.get("/admin/intents/greeting")
    assert page.status_code == 200
    assert page.text.count('data-testid="example-row"') == 8 and 'data-testid="add-examples-form"' in page.text
    missing = admin.client.get("/admin/intents/nope")
    assert missing.status_code == 404 and "草稿里没有意图 nope" in missing.text
    assert admin.post("/admin/intents/nope/examples", {"text": "你好呀"}).status_code == 404


def test_add_examples(admin: Admin) -> None:
    response = admin.post("/admin/intents/greeting/examples", {"text": "早安呀\n晚上好"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/intents/greeting?ok=added"
    assert examples(admin, "greeting")[-2:] == ("早安呀", "晚上好")
    assert "greeting" in last_edit(admin) and "早安呀" in last_edit(admin)
    assert "早安呀" not in active_files(admin).files["intents/greeting.yml"]
    assert "已添加例句" in admin.client.get(response.headers["location"]).text


def test_add_from_another_page_goes_back_there(admin: Admin) -> None:
    response = admin.post("/admin/intents/greeting/examples", {"text": "哈喽你好", "next": "/admin/inbox?kind=fallback"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/inbox?kind=fallback"
    outside = admin.post("/admin/intents/greeting/examples", {"text": "哈喽哈喽", "next": "https://evil.example/"})
    assert outside.headers["location"] == "/admin/intents/greeting?ok=added"


def test_a_duplicate_example_is_refused_inline_naming_both_places(admin: Admin) -> None:
    response = admin.post("/admin/intents/greeting/examples", {"text": "我的訂單到哪了", "next": "/admin/inbox"})
    assert response.status_code == 409
    assert "「我的訂單到哪了」已在 order_status 的例句里" in response.text and "不能再加到 greeting" in response.text
    assert "我的訂單到哪了</textarea>" in response.text  # what the admin typed stays
    assert 'href="/admin/inbox"' in response.text  # and the way back
    empty = admin.post("/admin/intents/greeting/examples", {"text": "  "})
    assert empty.status_code == 422 and "请输入例句" in empty.text
    assert len(examples(admin, "greeting")) == 8


def test_add_answers_json_to_a_script(admin: Admin) -> None:
    ok = admin.client.post("/admin/intents/greeting/examples", data={"text": "嗨呀", "csrf": admin.csrf},
                           headers={"Accept": "application/json"})
    assert ok.status_code == 200 and ok.json()["added"] == 1
    clash = admin.client.post("/admin/intents/greeting/examples", data={"text": "嗨呀", "csrf": admin.csrf},
                              headers={"Accept": "application/json"})
    assert clash.status_code == 409 and "已在 greeting 的例句里" in clash.json()["errors"][0]


def test_edit_delete_and_move_examples(admin: Admin) -> None:
    edited = admin.post("/admin/intents/greeting/examples/edit", {"index": "1", "old": "在吗", "text": "在吗在吗"})
    assert edited.status_code == 303 and examples(admin, "greeting")[1] == "在吗在吗"
    assert last_edit(admin) == "意图 greeting：把例句「在吗」改为「在吗在吗」"
    moved = admin.post("/admin/intents/greeting/examples/move", {"index": "3", "old": "哈喽", "target": "complaint"})
    assert moved.status_code == 303 and moved.headers["location"] == "/admin/intents/greeting?ok=moved"
    assert "哈喽" in examples(admin, "complaint") and "哈喽" not in examples(admin, "greeting")
    deleted = admin.post("/admin/intents/greeting/examples/delete", {"index": "0", "old": "你好"})
    assert deleted.status_code == 303 and "你好" not in examples(admin, "greeting")
    assert active_files(admin).files["intents/greeting.yml"].count("\n") == 13  # the header has display_name too


def test_row_errors_are_shown_on_the_row(admin: Admin) -> None:
    clash = admin.post("/admin/intents/greeting/examples/edit", {"index": "1", "old": "在吗", "text": "快递什么时候能到"})
    assert clash.status_code == 409
    row = re.search(r'<li [^>]*class="example-error".*?</li>', clash.text, re.S).group(0)
    assert "已在 order_status 的例句里" in row and 'value="快递什么时候能到"' in row
    stale = admin.post("/admin/intents/greeting/examples/delete", {"index": "x", "old": "早就没有了"})
    assert stale.status_code == 409 and "请刷新页面" in stale.text
    no_target = admin.post("/admin/intents/greeting/examples/move", {"index": "1", "old": "在吗", "target": ""})
    assert no_target.status_code == 422 and "请选择要移到哪个意图" in no_target.text


def test_too_few_examples_after_a_delete_is_refused(admin: Admin) -> None:
    for example in examples(admin, "greeting")[:3]:
        assert admin.post("/admin/intents/greeting/examples/delete", {"index": "0", "old": example}).status_code == 303
    refused = admin.post("/admin/intents/greeting/examples/delete", {"index": "0", "old": examples(admin, "greeting")[0]})
    assert refused.status_code == 409 and "至少要保留 5 条" in refused.text
    assert len(examples(admin, "greeting")) == 5


def test_settings(admin: Admin) -> None:
    response = admin.post("/admin/intents/greeting/settings", {"description": "客户打招呼", "marketing": "1"})
    assert response.status_code == 303
    assert read_intents(draft_files(admin)).get("greeting").marketing is True
    empty = admin.post("/admin/intents/greeting/settings", {"description": " "})
    assert empty.status_code == 422 and 'data-testid="field-error"' in empty.text


def test_the_display_name_is_edited_shown_and_kept(admin: Admin) -> None:
    page = admin.client.get("/admin/intents/greeting").text
    assert 'data-testid="intent-name">问候</span>' in page and 'value="问候"' in page and "<code" in page
    response = admin.post("/admin/intents/greeting/settings", {"description": "客户打招呼", "display_name": " 打 招呼 "})
    assert response.status_code == 303
    doc = read_intents(draft_files(admin)).get("greeting")
    assert doc.display_name == "打 招呼" and draft_files(admin).files["intents/greeting.yml"].startswith(
        "intent: greeting\ndisplay_name: 打 招呼\ndescription: 客户打招呼\n")
    kept = admin.post("/admin/intents/greeting/settings", {"description": "客户打招呼", "marketing": "1"})  # no name field
    assert kept.status_code == 303 and read_intents(draft_files(admin)).get("greeting").display_name == "打 招呼"
    listed = admin.client.get("/admin/intents").text
    assert 'data-testid="intent-name">打 招呼</a>' in listed and "<code>greeting</code>" in listed
    too_long = admin.post("/admin/intents/greeting/settings", {"description": "客户打招呼", "display_name": "长" * 21})
    assert too_long.status_code == 422 and "中文名称最多 20 个字" in too_long.text and 'data-testid="field-error"' in too_long.text
    created = admin.post("/admin/intents", {"intent": "gift_card", "display_name": "礼品卡", "description": "客户询问礼品卡"})
    assert created.status_code == 303 and read_intents(draft_files(admin)).get("gift_card").display_name == "礼品卡"
    assert admin.client.get("/admin/intents?q=礼品").text.count('data-testid="intent-row"') == 1


def test_rename(admin: Admin) -> None:
    response = admin.post("/admin/intents/greeting/rename", {"new_id": "hello"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/intents/hello?ok=renamed"
    files = draft_files(admin)
    assert "intents/hello.yml" in files.files and "persona_styles/lucky/templates/hello.j2" in files.files
    assert admin.client.get("/admin/intents/greeting").status_code == 404
    taken = admin.post("/admin/intents/hello/rename", {"new_id": "order_status"})
    assert taken.status_code == 409 and "已经有意图 order_status" in taken.text and 'value="order_status"' in taken.text
    special = admin.post("/admin/intents/complaint/rename", {"new_id": "grumble"})
    assert special.status_code == 409 and "不能改名" in special.text


def test_disable_and_enable(admin: Admin) -> None:
    response = admin.post("/admin/intents/greeting/disable")
    assert response.status_code == 303 and response.headers["location"] == "/admin/intents/greeting?ok=disabled"
    page = admin.client.get(response.headers["location"])
    assert 'data-testid="disabled-badge"' in page.text and 'data-testid="enable-form"' in page.text
    assert "已停用" in admin.client.get("/admin/intents").text
    assert "enabled: false" in draft_files(admin).files["intents/greeting.yml"]
    assert "enabled" not in active_files(admin).files["intents/greeting.yml"]
    assert admin.post("/admin/intents/complaint/disable").status_code == 303
    last = admin.post("/admin/intents/order_status/disable")
    assert last.status_code == 409 and "至少要有两个启用的意图" in last.text
    assert admin.post("/admin/intents/greeting/enable").status_code == 303
    assert "enabled" not in draft_files(admin).files["intents/greeting.yml"]


def test_delete_an_intent(admin: Admin) -> None:
    unconfirmed = admin.post("/admin/intents/greeting/delete", {"confirm": "greet"})
    assert unconfirmed.status_code == 422 and "请在框里输入 greeting 确认删除" in unconfirmed.text
    response = admin.post("/admin/intents/greeting/delete", {"confirm": "greeting"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/intents?ok=removed"
    assert not [p for p in draft_files(admin).files if "greeting" in p]
    assert "intents/greeting.yml" in active_files(admin).files
    assert "已删除意图" in admin.client.get(response.headers["location"]).text


def test_every_write_needs_the_csrf_token(admin: Admin) -> None:
    for path in ("/admin/intents/greeting/examples", "/admin/intents/greeting/examples/edit", "/admin/intents/greeting/examples/delete",
                 "/admin/intents/greeting/examples/move", "/admin/intents/greeting/settings", "/admin/intents/greeting/rename",
                 "/admin/intents/greeting/disable", "/admin/intents/greeting/enable", "/admin/intents/greeting/delete"):
        assert admin.client.post(path, data={"text": "x", "confirm": "greeting"}, follow_redirects=False).status_code == 403, path
    assert draft_files(admin) == active_files(admin)
