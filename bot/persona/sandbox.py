"""The bounded jinja2 environment every persona template renders in: Jinja's sandbox plus time and memory bounds.

Jinja's `ImmutableSandboxedEnvironment` stops attribute tricks and changes to lists and dicts. It
does not stop a template from running for hours or building a string of gigabytes. This
environment routes every operation that can take long or make something big through the running
render's `Budget` (`bot.persona.bounds`):

- every `for` loop step, call and filter counts as a step (a compiled template gets its loops
  wrapped in `guard_loop`);
- `+ * ** %`, `~`, list, tuple and dict literals, filters and method calls are checked before they
  run (`'x' * 10**9` is refused without being built) and their results are weighed after;
- `range()` has at most `Limits.range` items; `lipsum()` is gone;
- a rendered text (the draft, a block, a macro's output) has at most `Limits.output` characters;
- a template file has at most `Limits.template_chars` characters.

Because those operators and filters are intercepted, nothing of them is evaluated while a template
compiles (Jinja folds constants at compile time only for operations it does not intercept).
"""

from __future__ import annotations

import copy
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import TemplateNotFound
from jinja2.loaders import BaseLoader
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_context

from bot.persona.bounds import BoundsExceeded, Budget, Limits, current, weight

_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_SIZED = (str, bytes, list, tuple, dict, set, frozenset)
_JINJA_KEYWORDS = ("_loop_vars", "_block_vars", "caller")  # passed along by the compiled template, not by its author


class BoundedLoader(BaseLoader):
    """A persona's templates (file name -> text, held in memory); each may hold at most `limit` characters."""

    def __init__(self, templates: Mapping[str, str], *, where: str, limit: int) -> None:
        self.templates = templates
        self.where = where
        self.limit = limit

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        source = self.templates.get(template)
        if source is None:
            raise TemplateNotFound(template)
        if len(source) > self.limit:
            raise BoundsExceeded("template", f"话术文件 {template} 太长：{len(source)} 个字符，最多 {self.limit} 个")
        return source, f"{self.where}/templates/{template}", lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.templates)


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles templates with their loops, `~` joins and literals going through the environment's guards."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        guarded = copy.copy(node)
        guarded.iter = _call_guard("guard_loop", node.iter, self.environment)
        super().visit_For(guarded, frame)

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.guard_join((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.guard_value(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.guard_value(")
        super().visit_Dict(node, frame)
        self.write(")")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # an assignment target: {% for a, b in ... %}
            super().visit_Tuple(node, frame)
            return
        self.write("environment.guard_value(")
        super().visit_Tuple(node, frame)
        self.write(")")


def _call_guard(name: str, argument: nodes.Node, environment: Any) -> nodes.Call:
    call = nodes.Call(nodes.EnvironmentAttribute(name), [argument], [], None, None)
    call.set_lineno(argument.lineno or 1)
    call.set_environment(environment)
    return call


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox whose every render stays within `limits` (see the module docstring)."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, *, limits: Limits = Limits(), **options: Any) -> None:
        super().__init__(finalize=self._finalize_output, **options)
        self.limits = limits
        self.globals["range"] = self.bounded_range
        self.globals.pop("lipsum", None)
        self.filters = {name: _guard_filter(self, name, func) for name, func in self.filters.items()}

    # ----- time: steps ------------------------------------------------------------------------------

    def budget(self) -> Budget:
        """The running render's budget."""
        return current(self.limits)

    def guard_loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """A for loop's items, one step each."""
        budget = self.budget()
        for item in iterable:
            budget.step()
            yield item

    def bounded_range(self, *args: int) -> range:
        """range() with at most `Limits.range` items."""
        numbers = range(*args)
        if len(numbers) > self.limits.range:
            raise BoundsExceeded("range", f"循环次数过多：range() 最多 {self.limits.range} 次，这里要 {len(numbers)} 次")
        return numbers

    # ----- calls and operators ----------------------------------------------------------------------

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # jinja's signature
        """A call from a template: one step, its arguments checked, its result weighed."""
        if getattr(__obj, "__self__", None) is __self:  # the environment's own guards, written by the compiler
            return __obj(*args)
        budget = __self.budget()
        budget.step()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, _SIZED):  # a method of a string, list or dict: 'x'.ljust(...), ','.join(...)
            __self.check_arguments(budget, owner, args, kwargs)
        if isinstance(__obj, LoopContext) and args:  # loop(children) of a recursive loop
            args = (__self.guard_loop(args[0]), *args[1:])
        return budget.account(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """`+ * ** %`: refused before they run when the result would be too big."""
        budget = self.budget()
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                budget.check_int(1 << min(left.bit_length() * right, self.limits.int_bits + 1))
        elif operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                budget.check_int(1 << min(left.bit_length() + right.bit_length(), self.limits.int_bits + 1))
            elif isinstance(right, int) and isinstance(left, _SIZED):
                budget.check_work(weight(left, self.limits.value) * max(right, 0))
            elif isinstance(left, int) and isinstance(right, _SIZED):
                budget.check_work(weight(right, self.limits.value) * max(left, 0))
        elif operator == "+":
            if isinstance(left, _SIZED) and isinstance(right, _SIZED):
                budget.check_work(weight(left, self.limits.value) + weight(right, self.limits.value))
        elif operator == "%" and isinstance(left, str):
            check_percent_format(budget, left, right)
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, int):
            budget.check_int(result)
        return budget.account(result)

    def check_arguments(self, budget: Budget, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Refuse a filter or method whose result could weigh more than `Limits.work`.

        The estimate is the value's weight times the largest argument (a width, a count, a string
        to insert): it bounds `'x'.ljust(n)`, `s.replace('', t)`, `sep.join(items)`, `s|indent(t)`.
        """
        largest = 0
        for argument in (*args, *(v for k, v in kwargs.items() if k not in _JINJA_KEYWORDS)):
            if isinstance(argument, bool):
                continue
            if isinstance(argument, int):
                if abs(argument) > self.limits.value:
                    raise BoundsExceeded("memory", f"参数 {argument} 过大（最多 {self.limits.value}），已停止")
                largest = max(largest, abs(argument))
            else:
                largest = max(largest, weight(argument, self.limits.value))
        budget.check_work(weight(value, self.limits.value) * (largest + 1))

    def guard_join(self, parts: tuple[object, ...]) -> str:
        """`a ~ b ~ c`: the parts' weights are checked before they are turned into text."""
        budget = self.budget()
        budget.check_work(sum(weight(p, self.limits.value) for p in parts))
        text = "".join(map(str, parts))
        budget.account(text)
        return text

    def guard_value(self, value: Any) -> Any:
        """A list, tuple or dict literal: weighed like any other value a template makes."""
        return self.budget().account(value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`'{:>9}'.format(x)`: the widths the format asks for are checked before formatting."""
        formatter = super().wrap_str_format(value)
        if formatter is None:
            return None
        template = value.__self__

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            check_brace_format(self.budget(), template, (*args, *kwargs.values()))
            return formatter(*args, **kwargs)

        return bounded_format

    # ----- output -----------------------------------------------------------------------------------

    def concat(self, pieces: Iterable[str]) -> str:
        """A rendered text (the draft, a block, a macro's output) of at most `Limits.output` characters."""
        kept: list[str] = []
        size = 0
        for piece in pieces:
            size += len(piece)
            if size > self.limits.output:
                raise BoundsExceeded("output", f"话术生成的文字超过 {self.limits.output} 个字，已停止")
            kept.append(piece)
        return "".join(kept)

    def _finalize_output(self, value: Any) -> Any:
        """`{{ value }}`: a value that would print longer than a whole draft may is refused before printing."""
        if type(value) is not str:
            weight(value, self.limits.output)
        return self.budget().account(value)


def check_percent_format(budget: Budget, template: str, values: Any) -> None:
    """`'%9d' % x` and `|format`: the widths and precisions asked for may not pass `Limits.value` in all."""
    asked = 0
    stars = False
    for match in _PERCENT_FIELD.finditer(template):
        for size in match.groups():
            if size == "*":
                stars = True
            elif size:
                asked += int(size)
    if stars:
        items = values if isinstance(values, tuple) else (values,)
        asked += sum(abs(v) for v in items if isinstance(v, int))
    _check_asked(budget, asked, template, values)


def check_brace_format(budget: Budget, template: str, values: tuple[object, ...]) -> None:
    """`'{:>9}'.format(x)`: like `check_percent_format`, for str.format widths (nested ones come from the values)."""
    asked = 0
    nested = False
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format raises the same error itself
    for _, _, spec, _ in fields:
        if spec:
            asked += sum(int(d) for d in _DIGITS.findall(spec))
            nested = nested or "{" in spec
    if nested:
        asked += sum(abs(v) for v in values if isinstance(v, int) and not isinstance(v, bool))
    _check_asked(budget, asked, template, values)


def _check_asked(budget: Budget, asked: int, template: str, values: Any) -> None:
    if asked > budget.limits.value:
        raise BoundsExceeded("memory", f"格式宽度过大（共 {asked}，最多 {budget.limits.value}），已停止")
    budget.check_work(asked + weight(template, budget.limits.value) + weight(values, budget.limits.value))


def _guard_filter(environment: BoundedEnvironment, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that counts as a step, is checked before it runs and weighed after (never folded at compile time)."""
    pass_arg = _PassArg.from_obj(func)

    @pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = environment.budget()
        budget.step()
        if name == "format" and isinstance(value, str):
            check_percent_format(budget, value, tuple(kwargs.values()) or args)
        environment.check_arguments(budget, value, args, kwargs)
        if pass_arg is _PassArg.context:
            result = func(context, value, *args, **kwargs)
        elif pass_arg is _PassArg.eval_context:
            result = func(context.eval_ctx, value, *args, **kwargs)
        elif pass_arg is _PassArg.environment:
            result = func(context.environment, value, *args, **kwargs)
        else:
            result = func(value, *args, **kwargs)
        return budget.account(result)

    guarded.__name__ = f"bounded_{name}"
    return guarded
