"""WeCom 微信客服 send limits: at most 5 messages within 48 hours of the customer's last message."""

from __future__ import annotations

from datetime import datetime, timedelta

WINDOW = timedelta(hours=48)
MAX_REPLIES = 5


def kf_send_block(*, last_customer_at: datetime | None, replies_since: int, now: datetime) -> str | None:
    """Why WeCom would refuse a kf reply now, or None if it may be sent."""
    if last_customer_at is None:
        return "the customer has not written to this kf account: WeCom allows replies only after a customer message"
    if now - last_customer_at > WINDOW:
        hours = int((now - last_customer_at).total_seconds() // 3600)
        return f"the customer's last message was {hours} h ago; WeCom allows replies only within 48 h"
    if replies_since >= MAX_REPLIES:
        return f"{replies_since} replies already sent since the customer's last message; WeCom allows {MAX_REPLIES}"
    return None
