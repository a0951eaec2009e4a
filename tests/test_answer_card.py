"""The staff card names the brand answer a draft says, within WeCom's display limits."""

from __future__ import annotations

from types import SimpleNamespace

from bot.wecom.cards import draft_card


def draft(**fields: object) -> SimpleNamespace:
    values = dict(id=9, status="pending", customer_id="wmA", customer_name="王女士", message_text="退货运费谁出",
                  intent="refund_return", persona="_default", original_text="质量问题退换的运费由栖木承担。",
                  manual_reason=None, urgent=False)
    return SimpleNamespace(**(values | fields))


def test_the_card_names_the_answer_the_draft_says() -> None:
    card = draft_card(draft(answer_id="return_shipping"), userid="zhangsan", agentid="1000002", warnings=["marketing"],
                      public_url="https://bot.example.com/")["template_card"]
    items = card["horizontal_content_list"]
    assert {"keyname": "答案", "value": "return_shipping"} in items
    assert len(items) <= 6 and items[-1]["keyname"] == "网页"  # the sidebar link stays


def test_a_draft_without_an_answer_has_no_answer_line() -> None:
    card = draft_card(draft(answer_id=None), userid="zhangsan", agentid="1000002")["template_card"]
    assert all(item["keyname"] != "答案" for item in card["horizontal_content_list"])
