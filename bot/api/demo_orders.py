"""The demo's order system over HTTP (GET /demo/orders/{order_no}), only while the demo is on."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from bot.services.facts.demo import demo_order

router = APIRouter(tags=["demo"])


@router.get("/demo/orders/{order_no}")
async def order(order_no: str) -> dict:
    """A demo order as a brand's order system would answer; 404 for a number it does not have."""
    found = demo_order(order_no)
    if found is None:
        raise HTTPException(404, f"没有订单 {order_no}")
    return found
