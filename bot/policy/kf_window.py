"""WeCom 微信客服 send limits: at most 5 messages within 48 hours of the customer's last message."""

from __future__ import annotations

from datetime import datetime, timedelta

WINDOW = timedelta(hours=48)
MAX_REPLIES = 5


def kf_send_block(*, last_customer_at: datetime | None, replies_since: int, now: datetime) -> str | None:
    """Why WeCom would refuse a kf reply now, or None if it may be sent."""
    if last_customer_at is None:
        return "客户还没有在这个客服账号发过消息：企业微信只允许在客户发消息之后回复"
    if now - last_customer_at > WINDOW:
        hours = int((now - last_customer_at).total_seconds() // 3600)
        return f"客户的上一条消息是 {hours} 小时前：企业微信只允许在 48 小时内回复"
    if replies_since >= MAX_REPLIES:
        return f"客户的上一条消息之后已回复 {replies_since} 条：企业微信最多允许 {MAX_REPLIES} 条"
    return None
