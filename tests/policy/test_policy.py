from datetime import datetime, timedelta, timezone

from bot.policy.kf_window import kf_send_block
from bot.policy.marketing import marketing_reason, promotional_words

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def test_promotional_wording_is_found() -> None:
    assert promotional_words("本周满减活动，领券更划算") == ["满减", "活动", "领券"]
    assert promotional_words("您的订单已发货") == []


def test_marketing_reason_from_the_intent_or_the_text() -> None:
    assert "marked marketing" in marketing_reason(intent_marketing=True, intent="recommendation", text="好的")
    assert "优惠" in marketing_reason(intent_marketing=False, intent="greeting", text="现在有优惠哦")
    assert marketing_reason(intent_marketing=False, intent="greeting", text="您好") is None


def test_kf_window() -> None:
    assert kf_send_block(last_customer_at=NOW - timedelta(hours=47), replies_since=4, now=NOW) is None
    assert "48" in kf_send_block(last_customer_at=NOW - timedelta(hours=49), replies_since=0, now=NOW)
    assert "5" in kf_send_block(last_customer_at=NOW - timedelta(hours=1), replies_since=5, now=NOW)
    assert kf_send_block(last_customer_at=None, replies_since=0, now=NOW) is not None
