from datetime import datetime, timedelta, timezone

from bot.policy.kf_window import kf_send_block
from bot.policy.marketing import marketing_reason, promotional_words

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def test_promotional_wording_is_found() -> None:
    assert promotional_words("本周满减活动，领券更划算") == ["满减", "活动", "领券"]
    assert promotional_words("您的订单已发货") == []


def test_marketing_reason_from_the_intent_or_the_text() -> None:
    assert marketing_reason(intent_marketing=True, intent="recommendation", text="好的") == "意图 recommendation 属于营销"
    assert marketing_reason(intent_marketing=False, intent="greeting", text="现在有优惠，还包邮哦") == "含促销用语：优惠、包邮"
    assert marketing_reason(intent_marketing=False, intent="greeting", text="您好") is None


def test_kf_window() -> None:
    assert kf_send_block(last_customer_at=NOW - timedelta(hours=47), replies_since=4, now=NOW) is None
    assert kf_send_block(last_customer_at=NOW - timedelta(hours=49), replies_since=0, now=NOW) == (
        "客户的上一条消息是 49 小时前：企业微信只允许在 48 小时内回复")
    assert kf_send_block(last_customer_at=NOW - timedelta(hours=1), replies_since=5, now=NOW) == (
        "客户的上一条消息之后已回复 5 条：企业微信最多允许 5 条")
    assert kf_send_block(last_customer_at=None, replies_since=0, now=NOW) == (
        "客户还没有在这个客服账号发过消息：企业微信只允许在客户发消息之后回复")
