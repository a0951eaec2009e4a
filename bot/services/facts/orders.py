"""Orders from the brand's order system: GET DRAFTBOT_ORDERS_URL per order number, cached, bounded, behind a breaker.

A 200 JSON object is the order: templates get `order` (`status`, `carrier`, `tracking_no`, `eta`,
`updated_at` as text, `items` as a list of names, plus any other field as it came). A 404 means no
such order: templates get `order_missing`. A timeout, an error status or a body that is not an order
gives no context (the template keeps its holding wording) and the flag `order_lookup_failed` with
the reason in Chinese. After `failures` failures in a row the system is left alone for `cooldown`
seconds: drafts then say so with the same flag ("订单系统暂时不可用") and no request is made.
"""

from __future__ import annotations

import copy
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from bot.drafts.facts import NO_FACTS, Facts

log = logging.getLogger(__name__)

ORDER_INTENTS = ("order_status", "after_sales", "refund_return", "payment_invoice")
TEXT_FIELDS = ("status", "carrier", "tracking_no", "eta", "updated_at")
MAX_BODY = 256 * 1024  # an order is a few hundred bytes; more than this is not one
MAX_CACHED = 2048
UNAVAILABLE = "订单系统暂时不可用"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class LookupFailed(Exception):
    """The order system did not answer with an order or a 404; `reason` is for staff, in Chinese."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Breaker:
    """Counts failures in a row; after `failures` of them, `allow()` is False for `cooldown` seconds, then one try."""

    def __init__(self, *, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures, self.cooldown, self.clock = failures, cooldown, clock
        self._lock = threading.Lock()
        self._count = 0
        self._open_until: float | None = None

    def allow(self) -> bool:
        """Whether to ask the system now: closed, or open but its cool-down is over (then one trial at a time)."""
        with self._lock:
            if self._open_until is None:
                return True
            if self.clock() < self._open_until:
                return False
            self._open_until = self.clock() + self.cooldown  # the trial: others wait until it reports
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._count, self._open_until = 0, None

    def failed(self) -> None:
        with self._lock:
            self._count += 1
            if self._count >= self.failures:
                self._open_until = self.clock() + self.cooldown
                log.warning("order system failed %d times in a row: no lookups for %g s", self._count, self.cooldown)


class OrderFacts:
    """The order provider: `needs` an order intent and an order number, `lookup` asks the order system over HTTP."""

    def __init__(
        self,
        *,
        url: str,
        token: str = "",
        timeout: float = 2.0,
        cache_seconds: float = 60.0,
        concurrency: int = 4,
        breaker_failures: int = 3,
        breaker_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self.token, self.timeout, self.cache_seconds = url, token, timeout, cache_seconds
        self.clock = clock
        self.breaker = Breaker(failures=breaker_failures, cooldown=breaker_seconds, clock=clock)
        self._slots = threading.BoundedSemaphore(concurrency)
        self._cache: dict[str, tuple[float, Facts]] = {}
        self._cache_lock = threading.Lock()
        host = urlsplit(url).hostname or ""
        # a proxy from the environment is for the outside world, never for the order system on this machine
        handlers = [urllib.request.ProxyHandler({})] if host in _LOOPBACK else []
        self._opener = urllib.request.build_opener(*handlers)

    def needs(self, intent: str, entities: Mapping[str, str]) -> bool:
        return intent in ORDER_INTENTS and bool(entities.get("order_no"))

    def lookup(self, entities: Mapping[str, str]) -> Facts:
        order_no = str(entities["order_no"])
        cached = self._cached(order_no)
        if cached is not None:
            return cached
        if not self.breaker.allow():
            return failed(order_no, UNAVAILABLE, detail="连续查询失败，暂停查询一会儿")
        if not self._slots.acquire(timeout=self.timeout):
            return failed(order_no, "同时查询的订单太多，这次没有查")  # our own limit: not the system's failure
        try:
            order = self._fetch(order_no)
        except LookupFailed as exc:
            self.breaker.failed()
            log.warning("order lookup failed: %s", exc.reason)
            log.debug("order lookup failed for order %s: %s", order_no, exc.reason)
            return failed(order_no, exc.reason)
        finally:
            self._slots.release()
        self.breaker.succeeded()
        facts = missing(order_no) if order is None else found(order_no, order)
        self._remember(order_no, facts)
        return facts

    def _fetch(self, order_no: str) -> dict[str, Any] | None:
        """The order as the system sent it, or None for a 404."""
        request = urllib.request.Request(self.url.format(order_no=quote(order_no, safe="")),
                                         headers={"Accept": "application/json"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read(MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404:
                return None
            if exc.code in (401, 403):
                raise LookupFailed(f"订单系统拒绝了查询（HTTP {exc.code}），请检查 DRAFTBOT_ORDERS_TOKEN") from None
            raise LookupFailed(f"订单系统出错（HTTP {exc.code}）") from None
        except (TimeoutError, socket.timeout):
            raise LookupFailed(f"订单系统 {self.timeout:g} 秒内没有回应") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise LookupFailed(f"订单系统 {self.timeout:g} 秒内没有回应") from None
            raise LookupFailed(f"连不上订单系统（{exc.reason}）") from None
        except (OSError, ValueError) as exc:  # reset connections, broken HTTP
            raise LookupFailed(f"订单系统的回应不完整（{type(exc).__name__}）") from None
        return parse_order(body)

    def _cached(self, order_no: str) -> Facts | None:
        with self._cache_lock:
            entry = self._cache.get(order_no)
            if entry is None:
                return None
            if entry[0] <= self.clock():
                del self._cache[order_no]
                return None
            return copy.deepcopy(entry[1])  # each draft its own flags and order: the cached ones stay as the system said

    def _remember(self, order_no: str, facts: Facts) -> None:
        if self.cache_seconds <= 0:
            return
        now = self.clock()
        with self._cache_lock:
            if len(self._cache) >= MAX_CACHED:
                for key in [k for k, (until, _) in self._cache.items() if until <= now] or list(self._cache)[: MAX_CACHED // 4]:
                    del self._cache[key]
            self._cache[order_no] = (now + self.cache_seconds, facts)


def parse_order(body: bytes) -> dict[str, Any]:
    """An order from the system's JSON body: known fields as text (items: names), others as they came."""
    if len(body) > MAX_BODY:
        raise LookupFailed("订单系统返回的内容太大，不像一条订单")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LookupFailed("订单系统返回的内容不是 JSON") from None
    if not isinstance(data, dict):
        raise LookupFailed("订单系统返回的不是一条订单（应为 JSON 对象）")
    status = data.get("status")
    if isinstance(status, bool) or not isinstance(status, (str, int, float)) or not str(status).strip():
        raise LookupFailed("订单系统返回的订单没有状态（status）")
    order = {key: value for key, value in data.items() if isinstance(key, str) and key not in (*TEXT_FIELDS, "items")}
    for key in TEXT_FIELDS:
        value = data.get(key)
        order[key] = "" if value is None or isinstance(value, (dict, list)) else str(value).strip()
    order["items"] = [_item_name(item) for item in data.get("items") or [] if _item_name(item)] \
        if isinstance(data.get("items"), list) else []
    return order


def _item_name(item: object) -> str:
    if isinstance(item, dict):
        item = item.get("name", "")
    return "" if item is None or isinstance(item, (dict, list)) else str(item).strip()


def found(order_no: str, order: dict[str, Any]) -> Facts:
    """Facts for an order the system knows: `order` for the template, a flag saying where it came from."""
    summary = {key: order[key] for key in (*TEXT_FIELDS, "items")}
    parts = [f"订单 {order_no}：{order['status']}"]
    if order["carrier"] or order["tracking_no"]:
        parts.append(" ".join(p for p in (order["carrier"], order["tracking_no"]) if p))
    if order["eta"]:
        parts.append(f"预计 {order['eta']}")
    if order["updated_at"]:
        parts.append(f"更新于 {order['updated_at']}")
    flag = {"code": "order_facts", "reason": "订单系统查到：" + "，".join(parts), "order_no": order_no, "order": summary}
    return Facts(context={"order": order}, flags=[flag])


def missing(order_no: str) -> Facts:
    """Facts for a number the system does not know (404): the draft asks the customer to check it."""
    flag = {"code": "order_not_found", "reason": f"订单系统里没有订单 {order_no}：草稿请客户核对单号", "order_no": order_no}
    return Facts(context={"order_missing": True}, flags=[flag])


def failed(order_no: str, reason: str, *, detail: str = "") -> Facts:
    """No facts: the draft keeps its holding wording, flagged `order_lookup_failed` with the reason."""
    flag = {"code": "order_lookup_failed", "reason": reason, "order_no": order_no}
    if detail:
        flag["detail"] = detail
    return Facts(flags=[flag])


__all__ = ["ORDER_INTENTS", "UNAVAILABLE", "Breaker", "OrderFacts", "NO_FACTS", "parse_order"]
