"""The demo's order system: a few fixed orders, served at /demo/orders/{order_no} while the demo is on.

`draftbot serve` points DRAFTBOT_ORDERS_URL here when it is not given, so the demo's drafts show
live order facts fetched over HTTP, exactly as from a brand's real order system.
"""

from __future__ import annotations

from typing import Any

from bot.config import Settings

DEMO_ORDERS_PATH = "/demo/orders/{order_no}"

DEMO_ORDERS: dict[str, dict[str, Any]] = {
    "20261122001": {
        "order_no": "20261122001", "status": "已发货", "carrier": "顺丰速运", "tracking_no": "SF1428803921",
        "eta": "11月25日", "updated_at": "2026-11-23 09:40", "items": ["经典拿铁挂耳 10 包", "随行杯"],
    },
    "20261122002": {
        "order_no": "20261122002", "status": "已签收", "carrier": "中通快递", "tracking_no": "ZT7730125566",
        "eta": "", "updated_at": "2026-11-21 18:02", "items": ["燕麦拿铁 12 瓶"],
    },
    "20261122003": {
        "order_no": "20261122003", "status": "仓库备货中", "carrier": "", "tracking_no": "", "eta": "11月27日",
        "updated_at": "2026-11-24 11:15", "items": ["手冲壶套装"],
    },
    "20261122004": {
        "order_no": "20261122004", "status": "退款处理中", "carrier": "", "tracking_no": "", "eta": "",
        "updated_at": "2026-11-24 16:30", "items": ["冷萃咖啡液 6 盒"], "refund_amount": "89.9元",
    },
}


def demo_order(order_no: str) -> dict[str, Any] | None:
    """One of the demo's orders, or None (the route answers 404)."""
    return DEMO_ORDERS.get(order_no)


def uses_demo_orders(settings: Settings) -> bool:
    """Whether `draftbot serve` points the order lookups at the demo's orders: the demo is on, no WeCom, no order system.

    With a WeCom corp configured real customers write in, and a demo order must never reach their drafts.
    """
    wecom = settings.wecom_corp_id or settings.callback_configured or settings.api_configured
    return settings.demo_enabled and not settings.orders_url and not wecom


def demo_orders_url(host: str, port: int) -> str:
    """The demo order system's URL on a server listening on (host, port), as the worker reaches it.

    >>> demo_orders_url("0.0.0.0", 8000)
    'http://127.0.0.1:8000/demo/orders/{order_no}'
    """
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}{DEMO_ORDERS_PATH}"
