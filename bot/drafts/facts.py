"""Facts from the brand's own systems as a draft sees them: template context and flags for staff."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Facts:
    """What outside systems said about a message: `context` for its template, `flags` for staff.

    >>> order = Facts(context={"order": {"status": "已发货"}}, flags=[{"code": "order_facts", "reason": "订单系统查到：已发货"}])
    >>> both = order + Facts(flags=[{"code": "coupon", "reason": "会员券可用"}])
    >>> both.context["order"]["status"], [flag["code"] for flag in both.flags]
    ('已发货', ['order_facts', 'coupon'])
    """

    context: dict[str, Any] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)

    def __add__(self, other: "Facts") -> "Facts":
        return Facts(context={**self.context, **other.context}, flags=[*self.flags, *other.flags])


NO_FACTS = Facts()

# Asked by the pipeline between classifying and rendering: (intent, entities) -> facts.
FactLookup = Callable[[str, Mapping[str, str]], Facts]
