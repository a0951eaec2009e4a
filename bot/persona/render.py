"""Render a persona's draft for an intent: bounded sandboxed jinja2, StrictUndefined, the fallback chain.

Every render runs in `BoundedEnvironment` under a fresh `Budget` (`bot.persona.bounds`), so a
template from admins' hands cannot run long or grow large wherever it renders: the worker, the
console, `draftbot check`, `draftbot draft` and `config import`. Past its limits a render raises
`BoundsExceeded`, a `RenderError` with a Chinese message.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, StrictUndefined, Template, TemplateError

from bot.errors import RenderError
from bot.persona.bounds import BoundsExceeded, Limits, budget
from bot.persona.sandbox import BoundedEnvironment, BoundedLoader
from bot.persona.styles import PersonaBook

FALLBACK_TEMPLATE = "fallback.j2"
_VARIATION = re.compile(r"^v\d+$")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# How a part may open ("收到。", "好的，", "您好，"): said once, by the first part of a reply to several questions.
_OPENER = re.compile(r"^(?:您好|你好|好的|好嘞|好呀|好哒|收到|哈喽|嗨|在的|没问题)[，,。.!！~～\s]*")


@dataclass(frozen=True)
class Rendered:
    """A rendered draft and where it came from."""

    text: str
    template: str
    variation: str


class Renderer:
    """Renders drafts for every persona; one bounded environment per persona, built once."""

    def __init__(self, book: PersonaBook, *, limits: Limits = Limits()) -> None:
        self.book = book
        self.limits = limits
        self._environments = {name: self._environment(name) for name in book.names()}

    def _environment(self, name: str) -> BoundedEnvironment:
        loaders = [BoundedLoader(p.templates, where=p.where, limit=self.limits.template_chars) for p in self.book.chain(name)]
        return BoundedEnvironment(
            limits=self.limits,
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            auto_reload=False,
        )

    def template_for(self, persona: str, intent: str) -> Template:
        """The persona's template for the intent, else its parent's, else _default's, else fallback.j2."""
        environment = self._environments[persona]
        try:
            return environment.get_template(f"{intent}.j2")
        except TemplateError as exc:
            if type(exc).__name__ != "TemplateNotFound" or getattr(exc, "name", None) != f"{intent}.j2":
                raise RenderError(f"{persona}/{intent}.j2: {exc}") from exc
        try:
            return environment.get_template(FALLBACK_TEMPLATE)
        except TemplateError as exc:
            raise RenderError(f"{persona}: no template for {intent!r} and no {FALLBACK_TEMPLATE}: {exc}") from exc

    def variations(self, persona: str, intent: str) -> list[str]:
        """The variation blocks (v1, v2, ...) of the template used for (persona, intent)."""
        template = self.template_for(persona, intent)
        return sorted((b for b in template.blocks if _VARIATION.match(b)), key=lambda b: int(b[1:]))

    def _candidates(
        self, persona: str, intent: str, previous: tuple[str, str] | None,
    ) -> tuple[Template, str, list[str], list[str]]:
        """The template for (persona, intent), its name, its variations, and those a new draft may use
        (not the customer's previous one, unless it is the only one)."""
        template = self.template_for(persona, intent)
        variations = self.variations(persona, intent)
        if not variations:
            raise RenderError(f"{template.filename}: no variation blocks (v1, v2, ...)")
        name = relative_name(template.filename)
        avoid = previous[1] if previous and previous[0] == name else None
        return template, name, variations, [v for v in variations if v != avoid] or variations

    def render(
        self,
        *,
        persona: str,
        intent: str,
        context: dict[str, object],
        previous: tuple[str, str] | None = None,
        seed: str = "",
        only: str | None = None,
    ) -> Rendered:
        """Render one draft; `previous` is the customer's last (template, variation), never repeated.

        `only` forces one variation (the linter renders each in turn).
        """
        if persona not in self.book:
            raise RenderError(f"unknown persona {persona!r}")
        where = f"{persona}/{intent}"
        try:
            template, name, variations, candidates = self._candidates(persona, intent, previous)
            if only is not None:
                if only not in variations:
                    raise RenderError(f"{name}: no variation {only!r}")
                candidates = [only]
            variation = candidates[zlib.crc32(seed.encode()) % len(candidates)]
            where = f"{persona}/{intent} {variation}"
            values = {
                "customer_name": "",
                "message": "",
                **context,
                "customer": customer_context(context),
                "intent": intent,
                "persona": self.book[persona].as_context(),
                "variation": variation,
            }
            with budget(self.limits):
                text = template.render(values)
        except BoundsExceeded as exc:
            raise exc.at(where) from exc
        except RenderError:
            raise
        except Exception as exc:  # a template from admins' hands may raise anything
            raise RenderError(f"{persona}/{intent}: {type(exc).__name__}: {exc}") from exc
        text = _BLANK_LINES.sub("\n", text).strip()
        if not text:
            raise RenderError(f"{persona}/{intent}: the template rendered an empty draft")
        return Rendered(text=text, template=name, variation=variation)

    def render_parts(
        self,
        *,
        persona: str,
        parts: list[tuple[str, dict[str, object]]],
        previous: tuple[str, str] | None = None,
        seed: str = "",
    ) -> Rendered:
        """One reply to several questions: each (intent, context)'s variation body in turn, one greeting and sign-off.

        Each part is the body of the persona's template for its intent (the chosen `vN` block, with
        its answer when the body does not say it; after the first, without an opener such as
        "收到。"); the bodies are joined under the persona's
        `base.j2` (greeting, sign-off) as if they were one template's body. The first part names
        the template and variation the draft records.
        """
        if persona not in self.book:
            raise RenderError(f"unknown persona {persona!r}")
        if len(parts) == 1:
            intent, context = parts[0]
            return self.render(persona=persona, intent=intent, context=context, previous=previous, seed=seed)
        environment = self._environments[persona]
        bodies: list[str] = []
        first: Rendered | None = None
        for index, (intent, context) in enumerate(parts):
            where = f"{persona}/{intent}"
            try:
                template, name, _, candidates = self._candidates(persona, intent, previous)
                variation = candidates[zlib.crc32(f"{seed}#{index}".encode()) % len(candidates)]
                where = f"{persona}/{intent} {variation}"
                with budget(self.limits):
                    body = "".join(template.blocks[variation](template.new_context(self._values(persona, intent, variation, context))))
            except BoundsExceeded as exc:
                raise exc.at(where) from exc
            except RenderError:
                raise
            except Exception as exc:  # a template from admins' hands may raise anything
                raise RenderError(f"{where}: {type(exc).__name__}: {exc}") from exc
            body = _BLANK_LINES.sub("\n", body).strip()
            if bodies:
                body = _OPENER.sub("", body, count=1) or body
            answer = context.get("answer")
            if isinstance(answer, str) and answer and answer not in body:
                body = f"{body}\n{answer}".strip()
            if body:
                bodies.append(body)
            first = first or Rendered(text="", template=name, variation=variation)
        assert first is not None
        frame_context = {key: value for key, value in parts[0][1].items() if key not in ("answer", "answer_id")}
        joined = "\n".join(bodies)
        try:
            frame = environment.from_string('{% extends "base.j2" %}{% block v1 %}{{ joined_parts }}{% endblock %}')
            with budget(self.limits):
                text = frame.render(self._values(persona, parts[0][0], "v1", {**frame_context, "joined_parts": joined}))
        except BoundsExceeded as exc:
            raise exc.at(f"{persona}/base.j2") from exc
        except TemplateError as exc:
            if type(exc).__name__ != "TemplateNotFound":
                raise RenderError(f"{persona}/base.j2: {exc}") from exc
            text = joined  # no base.j2 in the persona's chain: the bodies alone
        except Exception as exc:  # a template from admins' hands may raise anything
            raise RenderError(f"{persona}/base.j2: {type(exc).__name__}: {exc}") from exc
        text = _BLANK_LINES.sub("\n", text).strip()
        if not text:
            raise RenderError(f"{persona}: the combined reply is empty")
        return Rendered(text=text, template=first.template, variation=first.variation)

    def _values(self, persona: str, intent: str, variation: str, context: dict[str, object]) -> dict[str, object]:
        """What a template reads: the context, `customer`, `intent`, `persona` and `variation`."""
        return {
            "customer_name": "",
            "message": "",
            **context,
            "customer": customer_context(context),
            "intent": intent,
            "persona": self.book[persona].as_context(),
            "variation": variation,
        }


def customer_context(context: dict[str, object]) -> dict[str, object]:
    """`customer` as templates read it: name (as `customer_name`), tags and id, each present even when unknown."""
    given = context.get("customer")
    customer = dict(given) if isinstance(given, dict) else {}
    customer.setdefault("name", context.get("customer_name", ""))
    customer.setdefault("tags", [])
    customer.setdefault("id", "")
    return customer


def relative_name(filename: str | None) -> str:
    """A template's file as drafts and findings name it: persona/templates/intent.j2."""
    if not filename:
        return "?"
    path = Path(filename)
    return "/".join(path.parts[-3:])
