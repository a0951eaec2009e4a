"""The time and memory bounds of one template render: limits, the running budget, and how big a value is.

Templates come from admins' hands, so a render may try anything the language allows: a loop of
10^10 steps, `'x' * 10**9`, a string doubled forty times. Every operation the bounded environment
(`bot.persona.sandbox`) lets a template perform first asks the render's `Budget`:

- `step()` counts loop iterations, calls and filters, and stops the render past `Limits.steps` or
  past its wall-clock deadline (`Limits.seconds`);
- `check_work()` refuses an operation whose result would be larger than `Limits.work` before it runs;
- `account()` refuses a value larger than `Limits.value` and adds it to the render's running total,
  which may not pass `Limits.allocated`.

Sizes are measured by `weight`: characters of a string, elements (and their weights) of a container.
Every refusal is a `BoundsExceeded`, a `RenderError` whose message is in Chinese for the admins.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from bot.errors import RenderError

MAX_NESTING = 64


@dataclass(frozen=True)
class Limits:
    """How far one render may go; the defaults hold for every surface (worker, console, CLI)."""

    seconds: float = 0.25  # wall-clock time of one render
    steps: int = 100_000  # loop iterations, calls and filters of one render
    range: int = 10_000  # items of one range()
    output: int = 10_000  # characters of a rendered text (a draft, a block, a macro's output)
    value: int = 100_000  # weight of any one value a template makes
    work: int = 2_000_000  # weight one operation may produce before it is refused
    allocated: int = 5_000_000  # total weight of the values one render makes
    int_bits: int = 1024  # size of any integer a template computes
    template_chars: int = 50_000  # characters of one template file


class BoundsExceeded(RenderError):
    """A render went past one of its `Limits`; `kind` is timeout, range, memory, output or template."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def at(self, where: str) -> "BoundsExceeded":
        """The same refusal, its message prefixed with where it happened (persona/intent)."""
        return BoundsExceeded(self.kind, f"{where}: {self.message}")


@dataclass
class Budget:
    """What one render has used so far: steps, allocated weight, and its deadline."""

    limits: Limits
    deadline: float = field(default=float("inf"))
    steps: int = 0
    allocated: int = 0

    def step(self) -> None:
        """Count one loop iteration, call or filter; stop the render past its steps or its deadline."""
        self.steps += 1
        if self.steps > self.limits.steps:
            raise BoundsExceeded("timeout", f"运算超过 {self.limits.steps} 步，已停止（请检查循环或递归）")
        if time.monotonic() > self.deadline:
            raise BoundsExceeded("timeout", f"渲染超过 {self.limits.seconds:g} 秒，已停止（请检查循环或递归）")

    def check_work(self, estimate: int) -> None:
        """Refuse an operation whose result would weigh about `estimate`, before it runs."""
        if estimate > self.limits.work:
            raise BoundsExceeded("memory", f"这一步运算会生成约 {estimate} 个字或元素，超过上限 {self.limits.work}，已停止")

    def account(self, value: object) -> object:
        """Refuse a value heavier than `Limits.value`, add its weight to the render's total; returns the value."""
        size = weight(value, self.limits.value)
        self.allocated += size
        if self.allocated > self.limits.allocated:
            raise BoundsExceeded("memory", f"渲染累计生成的内容超过 {self.limits.allocated} 个字或元素，已停止")
        return value

    def check_int(self, number: int) -> None:
        """Refuse an integer larger than `Limits.int_bits` bits."""
        if number.bit_length() > self.limits.int_bits:
            raise BoundsExceeded("memory", f"数字过大（超过 {self.limits.int_bits} 位二进制），已停止")


_current: ContextVar[Budget | None] = ContextVar("render_budget", default=None)


@contextmanager
def budget(limits: Limits) -> Iterator[Budget]:
    """Give the renders in this block (this thread or task) one fresh budget with its deadline."""
    fresh = Budget(limits=limits, deadline=time.monotonic() + limits.seconds)
    token = _current.set(fresh)
    try:
        yield fresh
    finally:
        _current.reset(token)


def current(limits: Limits) -> Budget:
    """The running render's budget; outside a render (compiling a template) a fresh one without a deadline."""
    return _current.get() or Budget(limits=limits)


def weight(value: object, limit: int) -> int:
    """Characters of a string, elements plus their weights for containers, 1 for anything else.

    Shared parts count every time they appear (that is what printing the value costs). Raises
    BoundsExceeded as soon as the weight passes `limit`, so a huge value is never walked in full.
    """
    if type(value) is str:  # the common plain values first, without a weigher
        size = len(value)
    elif type(value) is int:
        size = value.bit_length() // 64 + 1
    else:
        size = _Weigher(limit).weigh(value, 0)
    if size > limit:
        raise BoundsExceeded("memory", f"生成的内容过大（超过 {limit} 个字或元素），已停止")
    return size


class _Weigher:
    """Weighs nested values, each distinct container once (a value built by doubling is weighed in linear time)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: dict[int, int] = {}

    def weigh(self, value: object, depth: int) -> int:
        if isinstance(value, (str, bytes)):
            return len(value)
        if isinstance(value, int):
            return value.bit_length() // 64 + 1
        children = _children(value)
        if children is None:
            return 1
        known = self.seen.get(id(value))
        if known is not None:
            return known
        if depth > MAX_NESTING:
            raise BoundsExceeded("memory", f"数据嵌套超过 {MAX_NESTING} 层，已停止")
        total = len(children)
        for child in children:
            total += self.weigh(child, depth + 1)
            if total > self.limit:
                raise BoundsExceeded("memory", f"生成的内容过大（超过 {self.limit} 个字或元素），已停止")
        self.seen[id(value)] = total
        return total


def _children(value: object) -> list[object] | tuple[object, ...] | None:
    """The parts of a container a template can print, or None for a plain value."""
    if isinstance(value, (list, tuple)):
        return value
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    attrs = getattr(value, "_Namespace__attrs", None)  # jinja's namespace() keeps its values here
    if isinstance(attrs, dict):
        return [*attrs.keys(), *attrs.values()]
    items = getattr(value, "items", None)  # jinja's cycler()
    if isinstance(items, (list, tuple)):
        return items
    return None
