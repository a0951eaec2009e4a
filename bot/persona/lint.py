"""The persona linter: every intent x persona x variation renders, and the persona's voice rules hold."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu.entities import ENTITY_SAMPLES
from bot.nlu.intents import FALLBACK
from bot.persona.render import Renderer
from bot.persona.styles import PersonaBook

EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
# Each variation renders with every entity present, and with none: a template that uses an entity
# must also say something sensible when the customer gave none.
SAMPLE_CONTEXTS = (
    {"customer_name": "王女士", "message": "订单 202611220001 周六下午3点能送到吗", **ENTITY_SAMPLES},
    {"customer_name": "", "message": "在吗"},
)


@dataclass(frozen=True)
class Problem:
    """One linter finding, naming the file and the item."""

    severity: str  # "error" | "warning"
    path: str
    item: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.item}: {self.message}"


def lint(book: PersonaBook, renderer: Renderer, intents: list[str]) -> list[Problem]:
    """Render every intent (and fallback) for every persona and variation; check voice rules."""
    problems: list[Problem] = []
    for name in book.names():
        persona = book[name]
        for intent in [*intents, FALLBACK]:
            try:
                variations = renderer.variations(name, intent)
                template = renderer.template_for(name, intent).filename or f"{name}/{intent}.j2"
            except Exception as exc:
                problems.append(Problem("error", f"{persona.directory}/templates/{intent}.j2", intent, str(exc)))
                continue
            if len(variations) < 2 and intent != FALLBACK:
                problems.append(Problem("warning", template, intent, f"only {len(variations)} variation; add v2 so customers do not get the same words every time"))
            for variation in variations:
                for context in SAMPLE_CONTEXTS:
                    problems.extend(_check_one(renderer, book, name, intent, variation, context))
    return _unique(problems)


def _check_one(renderer: Renderer, book: PersonaBook, name: str, intent: str, variation: str, context: dict) -> list[Problem]:
    persona = book[name]
    try:
        rendered = renderer.render(persona=name, intent=intent, context=context, previous=None, seed="", only=variation)
    except Exception as exc:
        missing = next((e for e in ENTITY_SAMPLES if e not in context and f"'{e}' is undefined" in str(exc)), None)
        if missing:
            hint = f"uses {missing} with no wording for when the customer gave none ({{% if {missing} is defined %}}...{{% else %}}...{{% endif %}})"
            return [Problem("error", f"{name}/{intent}", variation, hint)]
        return [Problem("error", f"{name}/{intent}", variation, f"does not render: {exc}")]
    where, item, text = rendered.template, f"{intent} {variation}", rendered.text
    found = []
    if len(text) > persona.max_chars:
        found.append(Problem("error", where, item, f"{len(text)} characters, over {name}'s max_chars {persona.max_chars}"))
    if persona.address == "您" and "你" in text:
        found.append(Problem("error", where, item, f"{name} addresses customers as 您 but the draft says 你"))
    if persona.address == "你" and "您" in text:
        found.append(Problem("error", where, item, f"{name} addresses customers as 你 but the draft says 您"))
    if not persona.emoji and EMOJI.search(text):
        found.append(Problem("error", where, item, f"{name} uses no emoji but the draft has {EMOJI.search(text).group()}"))
    return found


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
