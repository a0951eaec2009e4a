"""The persona style pages: list, fields form, template editor with live preview, saves into the draft only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from bot.console import workspace
from bot.db.models import AuditLog, Draft
from tests.conftest import run_jobs, runtime
from tests.console.conftest import Admin

TEMPLATE = "/admin/personas/lucky/templates/greeting"
GOOD = '{% extends "base.j2" %}\n{% block v1 %}嗨～新话术来啦{% endblock %}\n{% block v2 %}在呢，想喝点啥？{% endblock %}\n'
SANDBOX = '{% extends "base.j2" %}\n{% block v1 %}\n{{ "".__class__.__mro__ }}{% endblock %}\n{% block v2 %}在呢{% endblock %}\n'


def draft_files(client: TestClient) -> dict[str, str]:
    rt = runtime(client)
    with rt.sessions() as session:
        return dict(workspace.load(session, rt.clock()).files.files)


def audit_whats(client: TestClient) -> list[str]:
    with runtime(client).sessions() as session:
        return [row.text for row in session.scalars(select(AuditLog).where(AuditLog.action == "edit"))]


def persona_form(**changes: str) -> dict[str, str]:
    values = {"display_name": "福利官 Lucky", "archetype": "deals_officer", "promise": "帮你用最划算的方式喝到好咖啡",
              "character": "90后咖啡控", "voice": '轻松活泼, 称呼"你", 可用表情', "address": "你", "emoji": "on",
              "max_chars": "120", "sign_off": "—— Lucky", "extends": "", "kf_accounts": "wkLUCKY", "staff": "zhangsan"}
    return {**values, **changes}


# ----- list and persona page ----------------------------------------------------------------------------------


def test_the_list_shows_every_persona_of_the_draft(admin: Admin) -> None:
    page = admin.client.get("/admin/personas")
    assert page.status_code == 200
    text = page.text
    assert 'href="/admin/personas/lucky"' in text and 'href="/admin/personas/_default"' in text
    assert "福利官 Lucky" in text and "wkLUCKY" in text and "zhangsan" in text and "—— Lucky" in text
    assert 'data-testid="persona-row"' in text


def test_the_persona_page_has_the_form_and_every_template_with_its_status(admin: Admin) -> None:
    page = admin.client.get("/admin/personas/lucky")
    assert page.status_code == 200
    text = page.text
    assert 'name="display_name" value="福利官 Lucky"' in text and 'data-testid="persona-form"' in text
    for intent in ("complaint", "greeting", "order_status", "promotion_inquiry", "fallback"):
        assert f'href="/admin/personas/lucky/templates/{intent}"' in text
    assert text.count('data-testid="variation-count">2<') == 5 and "通过" in text


def test_saving_persona_fields_changes_only_the_draft(admin: Admin) -> None:
    live = runtime(admin.client).pipeline.book["lucky"].sign_off
    response = admin.post("/admin/personas/lucky", persona_form(sign_off="—— 小 Lucky", staff="zhangsan\nlisi"))
    assert response.status_code == 303 and response.headers["location"] == "/admin/personas/lucky?ok=saved"
    saved = draft_files(admin.client)["persona_styles/lucky/persona.yml"]
    assert "sign_off: —— 小 Lucky" in saved and "staff: [zhangsan, lisi]" in saved
    assert audit_whats(admin.client) == ["人设 lucky：修改人设资料"]
    assert runtime(admin.client).pipeline.book["lucky"].sign_off == live == "—— Lucky"
    page = admin.client.get(response.headers["location"])
    assert "已保存到草稿" in page.text and 'value="—— 小 Lucky"' in page.text
    again = admin.post("/admin/personas/lucky", persona_form(sign_off="—— 小 Lucky", staff="zhangsan, lisi"))
    assert again.headers["location"].endswith("?ok=unchanged") and len(audit_whats(admin.client)) == 1


def test_invalid_fields_are_shown_inline_with_what_was_typed(admin: Admin) -> None:
    before = draft_files(admin.client)
    response = admin.post("/admin/personas/lucky", persona_form(display_name="", max_chars="十二", promise="我新写的主张"))
    assert response.status_code == 422
    assert 'data-field="max_chars"' in response.text and "不小于 20" in response.text
    assert 'value="我新写的主张"' in response.text and 'value="十二"' in response.text
    conflict = admin.post("/admin/personas/_default", {"display_name": "客服", "address": "您", "max_chars": "200", "kf_accounts": "wkLUCKY"})
    assert conflict.status_code == 422 and "wkLUCKY 已绑定到人设 lucky" in conflict.text
    assert draft_files(admin.client) == before


# ----- the template editor -----------------------------------------------------------------------------------------


def test_the_editor_shows_the_source_and_a_preview_of_samples(admin: Admin) -> None:
    page = admin.client.get(TEMPLATE)
    assert page.status_code == 200
    text = page.text
    source = draft_files(admin.client)["persona_styles/lucky/templates/greeting.j2"]
    assert f">{escape(source)}</textarea>" in text
    assert 'data-testid="preview"' in text and "还没有这个意图的真实消息" in text
    assert "/static/admin-template.js" in text and f'data-preview-url="{TEMPLATE}/preview"' in text


def test_the_editor_previews_the_latest_real_messages(admin: Admin) -> None:
    admin.client.post("/demo/messages", json={"text": "订单 202611220001 到哪了", "customer_name": "周先生"})
    run_jobs(admin.client)
    with runtime(admin.client).sessions() as session:
        intent = session.scalars(select(Draft.intent)).one()
    page = admin.client.get(f"/admin/personas/lucky/templates/{intent}")
    assert page.status_code == 200 and "订单 202611220001 到哪了" in page.text and "真实消息" in page.text
    answer = admin.post_json(f"/admin/personas/lucky/templates/{intent}/preview", {"source": GOOD})
    assert answer.status_code == 200 and answer.json()["source"] == "real"
    assert answer.json()["messages"][0]["renders"][0]["text"] == "周先生，嗨～新话术来啦\n—— Lucky"


def test_preview_renders_the_unsaved_text_as_json_and_html(admin: Admin) -> None:
    before = draft_files(admin.client)
    answer = admin.post_json(f"{TEMPLATE}/preview", {"source": GOOD})
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True and body["variations"] == ["v1", "v2"] and body["source"] == "sample"
    assert body["messages"][0]["renders"][0]["text"].endswith("嗨～新话术来啦\n—— Lucky")
    assert "嗨～新话术来啦" in body["html"] and 'data-testid="preview"' in body["html"]
    assert draft_files(admin.client) == before  # a preview saves nothing


def test_preview_of_a_broken_template_reports_the_error_and_line(admin: Admin) -> None:
    answer = admin.post_json(f"{TEMPLATE}/preview", {"source": SANDBOX})
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is False and body["broken"][0]["kind"] == "security" and body["broken"][0]["line"] == 3
    assert "安全限制" in body["html"] and 'data-line="3"' in body["html"]
    syntax = admin.post_json(f"{TEMPLATE}/preview", {"source": '{% extends "base.j2" %}\n{% block v1 %}{% if %}{% endblock %}'}).json()
    assert syntax["ok"] is False and syntax["error"]["kind"] == "syntax" and syntax["error"]["line"] == 2
    loop = admin.post_json(f"{TEMPLATE}/preview", {"source": GOOD.replace("新话术来啦", "{% for i in range(10**9) %}x{% endfor %}")}).json()
    assert loop["ok"] is False and loop["broken"][0]["kind"] == "range"


def test_saving_a_good_template_stores_it_in_the_draft_only(admin: Admin) -> None:
    response = admin.post(TEMPLATE, {"source": GOOD.replace("\n", "\r\n")})
    assert response.status_code == 303 and response.headers["location"] == f"{TEMPLATE}?ok=saved"
    assert draft_files(admin.client)["persona_styles/lucky/templates/greeting.j2"] == GOOD
    assert audit_whats(admin.client) == ["人设 lucky：修改 greeting 话术"]
    live = runtime(admin.client).pipeline.renderer.render(persona="lucky", intent="greeting", context={}, only="v1")
    assert "新话术" not in live.text  # the live service changes only when someone publishes
    page = admin.client.get(response.headers["location"])
    assert "已保存到草稿" in page.text and "嗨～新话术来啦" in page.text
    assert admin.post(TEMPLATE, {"source": GOOD}).headers["location"].endswith("?ok=unchanged")


def test_the_shared_default_persona_is_edited_the_same_way(admin: Admin) -> None:
    source = '{% extends "base.j2" %}\n{% block v1 %}您好，请讲。{% endblock %}\n{% block v2 %}您好，在的。{% endblock %}\n'
    response = admin.post("/admin/personas/_default/templates/greeting", {"source": source})
    assert response.status_code == 303
    assert draft_files(admin.client)["persona_styles/_default/templates/greeting.j2"] == source
    assert audit_whats(admin.client) == ["人设 _default：修改 greeting 话术"]


def test_saving_a_broken_template_is_refused_inline_with_the_text_kept(admin: Admin) -> None:
    before = draft_files(admin.client)
    for source, words in ((SANDBOX, "安全限制"), ('{% extends "base.j2" %}\n{% block v1 %}{{ coupon }}{% endblock %}', "没有的变量"),
                          ('{% extends "base.j2" %}\n{% block v1 %}{{ 1 // 0 }}{% endblock %}', "渲染时出错"),
                          ('{% block v1 %}{% endblock', "语法错误"), ("", "话术是空的")):
        response = admin.post(TEMPLATE, {"source": source})
        assert response.status_code == 422, source
        assert 'data-testid="save-refused"' in response.text and words in response.text
        assert f">{escape(source)}</textarea>" in response.text
    assert draft_files(admin.client) == before and audit_whats(admin.client) == []


# ----- not found, access -------------------------------------------------------------------------------------------


def test_unknown_personas_and_intents_are_404_pages(admin: Admin) -> None:
    for url in ("/admin/personas/ghost", "/admin/personas/ghost/templates/greeting"):
        page = admin.client.get(url)
        assert page.status_code == 404 and "草稿里没有人设 ghost" in page.text and 'href="/admin/personas/lucky"' in page.text
    page = admin.client.get("/admin/personas/lucky/templates/ghost")
    assert page.status_code == 404 and "草稿里没有意图 ghost" in page.text and 'data-testid="templates-table"' in page.text
    assert admin.post_json("/admin/personas/lucky/templates/ghost/preview", {"source": GOOD}).status_code == 404
    assert admin.post("/admin/personas/lucky/templates/ghost", {"source": GOOD}).status_code == 404
    assert admin.post("/admin/personas/ghost", persona_form()).status_code == 404


def test_writes_need_the_csrf_token_and_a_signed_in_admin(admin: Admin) -> None:
    assert admin.client.post(f"{TEMPLATE}/preview", json={"source": GOOD}).status_code == 403
    assert admin.client.post(f"{TEMPLATE}/preview", json={"source": GOOD}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert admin.client.post(TEMPLATE, data={"source": GOOD}, follow_redirects=False).status_code == 403
    assert admin.client.post("/admin/personas/lucky", data=persona_form(), follow_redirects=False).status_code == 403
    assert draft_files(admin.client)["persona_styles/lucky/templates/greeting.j2"] != GOOD
    stranger = TestClient(admin.client.app)
    assert stranger.get(TEMPLATE, follow_redirects=False).status_code == 303
    assert stranger.post(f"{TEMPLATE}/preview", json={"source": GOOD}).status_code == 401
