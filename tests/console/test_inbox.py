"""The learning inbox (GET /admin/inbox): fallback messages, heavy edits, corrected intents, one-click examples."""

from __future__ import annotations

import html as entities
import re

from bot.console.learning import HEAVY_EDIT, edit_distance, edit_ratio, template_of
from bot.db.models import Draft
from tests.conftest import bearer
from tests.console.conftest import Admin
from tests.console.test_dashboard import add_draft

LOW = [{"code": "low_confidence", "reason": "没有足够确定的意图（最接近 complaint，41%）", "best": "complaint", "confidence": 0.41}]
RUNNERS_UP = [["order_status", 0.3], ["greeting", 0.1]]


def section(page: str, name: str) -> str:
    return re.search(rf'data-testid="inbox-{name}".*?</section>', page, re.S).group(0)


def items(page: str, name: str) -> list[str]:
    return re.findall(r'<li class="inbox-item".*?</li>', section(page, name), re.S)


def messages(page: str, name: str) -> list[str]:
    return [entities.unescape(m) for m in re.findall(r'data-testid="inbox-message">(.*?)</p>', section(page, name), re.S)]


def selected(item: str) -> str | None:
    found = re.search(r'<option value="([^"]+)" selected', item)
    return found.group(1) if found else None


def fallback(admin: Admin, message: str, **fields: object) -> int:
    return add_draft(admin.client, intent="fallback", confidence=0.41, flags=LOW, runners_up=RUNNERS_UP, message=message,
                     template="lucky/templates/fallback.j2", **fields)


def test_fallback_messages_newest_first_with_the_classifiers_guesses(admin: Admin) -> None:
    older = fallback(admin, "你们家的东西太差劲了")
    newer = fallback(admin, "怎么联系你们老板")
    add_draft(admin.client, message="我的快递到哪了")  # recognised: not in the inbox
    page = admin.client.get("/admin/inbox")
    assert page.status_code == 200
    assert messages(page.text, "fallback") == ["怎么联系你们老板", "你们家的东西太差劲了"]
    first = items(page.text, "fallback")[0]
    assert f'data-draft-id="{newer}"' in first and f'data-draft-id="{older}"' not in first
    assert selected(first) is None and '<option value="" selected>选择意图…</option>' in first  # 41%: a guess, not preselected
    assert '<input type="hidden" name="text" value="怎么联系你们老板">' in first
    assert '<input type="hidden" name="next" value="/admin/inbox">' in first and 'name="csrf"' in first
    assert "投诉 41%" in first and "订单进度 30%" in first and "问候 10%" in first  # display names, the ids in tooltips
    assert '<option value="complaint"  title="客户对服务不满并投诉">投诉（complaint）</option>' in first
    assert 'href="/admin/personas/lucky/templates/fallback"' in first and "打开话术" in first
    assert 'data-testid="count-fallback">2<' in page.text


def test_adding_an_example_clears_the_item(admin: Admin) -> None:
    fallback(admin, "怎么联系你们老板")
    fallback(admin, "怎么联系你们老板")  # the same message twice is one item
    page = admin.client.get("/admin/inbox").text
    assert len(items(page, "fallback")) == 1 and "出现 2 次" in page
    added = admin.post("/admin/intents/complaint/examples", {"text": "怎么联系你们老板", "next": "/admin/inbox"})
    assert added.status_code == 303 and added.headers["location"].startswith("/admin/inbox?added=complaint&text=")
    page = admin.client.get(added.headers["location"]).text
    assert items(page, "fallback") == []
    assert "已把「怎么联系你们老板」加为「投诉」（complaint）的例句" in page and 'data-testid="notice"' in page


def test_a_message_of_no_intent_is_dismissed_for_good(admin: Admin) -> None:
    first = fallback(admin, "哈哈哈哈哈")
    fallback(admin, "怎么联系你们老板")
    dismissed = admin.post(f"/admin/inbox/{first}/dismiss")
    assert dismissed.status_code == 303
    page = admin.client.get(dismissed.headers["location"]).text
    assert messages(page, "fallback") == ["怎么联系你们老板"]
    assert "已忽略「哈哈哈哈哈」" in page
    fallback(admin, "哈哈哈哈哈")  # said again later: still dismissed
    assert messages(admin.client.get("/admin/inbox").text, "fallback") == ["怎么联系你们老板"]
    assert admin.post(f"/admin/inbox/{first}/dismiss").status_code == 303  # twice is harmless
    audit = admin.client.get("/admin/audit?action=inbox_dismiss")
    assert audit.status_code == 200 and audit.text.count("「哈哈哈哈哈」不是任何意图") == 1 and "忽略待学习消息" in audit.text
    missing = admin.post("/admin/inbox/999999/dismiss")
    assert missing.status_code == 404 and "没有草稿 999999" in missing.text
    assert admin.client.post(f"/admin/inbox/{first}/dismiss", follow_redirects=False).status_code == 403  # no CSRF token


def test_messages_already_examples_are_not_shown(admin: Admin) -> None:
    fallback(admin, "ＨＩ")  # "hi" is a greeting example (the same after normalising)
    fallback(admin, "你好\n在吗")  # every line is an example already
    fallback(admin, "你好\n能开发票吗")  # one line is new
    page = admin.client.get("/admin/inbox").text
    assert messages(page, "fallback") == ["你好\n能开发票吗"]


def test_heavily_edited_drafts_show_both_texts_and_the_distance(admin: Admin) -> None:
    original = "王女士，您的订单已发出，预计明天送达。"
    heavy = add_draft(admin.client, status="sent", approved_by="lisi", original_text=original,
                      final_text="抱歉让您久等了，我马上帮您催一下仓库。", message="为什么还没发货", template="lucky/templates/order_status.j2",
                      runners_up=RUNNERS_UP)
    add_draft(admin.client, status="sent", approved_by="lisi", original_text=original, final_text=original[:-1] + "！",
              message="我的东西呢")  # a light touch
    add_draft(admin.client, status="sent", approved_by="lisi", original_text="", final_text="手写", message="[图片]")  # no draft to edit
    add_draft(admin.client, status="rejected", rejected_by="lisi", approved_by="lisi", original_text=original,
              final_text="完全不同的文字完全不同", message="退回的")  # refused after all
    page = admin.client.get("/admin/inbox").text
    shown = items(page, "edited")
    assert len(shown) == 1 and f'data-draft-id="{heavy}"' in shown[0]
    assert original in shown[0] and "抱歉让您久等了，我马上帮您催一下仓库。" in shown[0]
    ratio = edit_ratio(original, "抱歉让您久等了，我马上帮您催一下仓库。")
    assert ratio >= HEAVY_EDIT and f"改动 {round(ratio * 100)}%" in shown[0]
    assert selected(shown[0]) == "order_status"  # what it was recognised as
    assert 'href="/admin/personas/lucky/templates/order_status"' in shown[0]


def test_corrected_intents_preselect_the_correction(admin: Admin) -> None:
    client = admin.client
    draft_id = add_draft(client, message="你们的客服态度太差了", assignee="lisi")
    add_draft(client, message="订单到哪了呀", corrected_intent="order_status", corrected_by="lisi")  # confirmed, not corrected
    lisi = bearer(client, "lisi")
    assert client.post(f"/api/drafts/{draft_id}/intent", json={"intent": "complaint"}, headers=lisi).status_code == 200
    page = client.get("/admin/inbox").text
    shown = items(page, "corrected")
    assert len(shown) == 1 and f'data-draft-id="{draft_id}"' in shown[0]
    assert selected(shown[0]) == "complaint" and 'action="/admin/intents/complaint/examples"' in shown[0]
    assert "lisi 改为" in shown[0] and "order_status" in shown[0]
    assert admin.post("/admin/intents/complaint/examples", {"text": "你们的客服态度太差了", "next": "/admin/inbox"}).status_code == 303
    assert items(client.get("/admin/inbox").text, "corrected") == []


def test_a_corrected_fallback_shows_once_under_corrections(admin: Admin) -> None:
    fallback(admin, "想投诉", corrected_intent="complaint", corrected_by="lisi")
    page = admin.client.get("/admin/inbox").text
    assert items(page, "fallback") == [] and len(items(page, "corrected")) == 1


def test_an_empty_inbox_says_so(admin: Admin) -> None:
    page = admin.client.get("/admin/inbox")
    assert page.status_code == 200
    assert page.text.count('data-testid="inbox-empty"') == 3


def test_edit_distance() -> None:
    assert edit_distance("", "") == 0 and edit_distance("abc", "") == 3 and edit_distance("", "ab") == 2
    assert edit_distance("kitten", "sitting") == 3 and edit_distance("sitting", "kitten") == 3
    assert edit_distance("快递到哪了", "快递到了吗") == 2
    assert edit_distance("同样的文字", "同样的文字") == 0
    assert edit_ratio("", "") == 0.0 and edit_ratio("abcd", "abcx") == 0.25 and edit_ratio("ab", "xyz") == 1.0


def test_template_of_names_the_template_the_draft_came_from() -> None:
    draft = Draft(persona="lucky", intent="complaint", template="_default/templates/complaint.j2")
    assert template_of(draft) == ("_default", "complaint")
    assert template_of(Draft(persona="lucky", intent="fallback", template=None)) == ("lucky", "fallback")
    assert template_of(Draft(persona="lucky", intent=None, template=None)) is None
