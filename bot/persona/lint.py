"""The linter behind `draftbot check`: every intent x persona x variation renders, voice and service rules hold."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu.entities import ENTITY_SAMPLES
from bot.nlu.intents import FALLBACK, Intent
from bot.persona.render import Renderer
from bot.persona.styles import PersonaBook
from bot.policy.marketing import promotional_words

RECOMMENDED_EXAMPLES = 20
# Replies where selling has no place, whatever the persona (the customer needs service, or wants quiet).
NO_SELLING = ("complaint", "after_sales", "refund_return", "opt_out", "human_agent")
# Replies that must apologise and commit to a concrete next step.
APOLOGISE = ("complaint", "after_sales")
APOLOGY = re.compile("抱歉|对不起|不好意思|致歉|歉意")
NEXT_STEP = re.compile(r"\d+\s*(?:分钟|小时|个小时|天|个工作日)|今天|今晚|明天|马上|立刻|立即|尽快|回电|回复您|回复你|联系您|联系你")

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


def lint(book: PersonaBook, renderer: Renderer, intents: list[Intent]) -> list[Problem]:
    """Check the intents, then render every intent (and fallback) for every persona and variation."""
    intents = [i for i in intents if i.enabled]  # a disabled intent is not classified, so it needs no templates
    problems = lint_intents(intents)
    for name in book.names():
        persona = book[name]
        for intent in [*(i.intent for i in intents), FALLBACK]:
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
    if intent in NO_SELLING and promotional_words(text):
        words = ", ".join(promotional_words(text))
        found.append(Problem("error", where, item, f"a {intent} reply must not promote anything, but says {words}"))
    if intent in APOLOGISE and not APOLOGY.search(text):
        found.append(Problem("error", where, item, f"a {intent} reply must apologise (抱歉, 对不起...)"))
    if intent in APOLOGISE and not NEXT_STEP.search(text):
        found.append(Problem("warning", where, item, f"a {intent} reply should commit to a concrete next step and time (今天内回电, 30 分钟内...)"))
    return found


def lint_intents(intents: list[Intent]) -> list[Problem]:
    """Intents with too few examples to learn from. (Schema and duplicates are checked when loading.)"""
    problems = []
    for intent in intents:
        if len(intent.examples) < RECOMMENDED_EXAMPLES:
            problems.append(Problem(
                "warning", intent.path or f"{intent.intent}.yml", "examples",
                f"only {len(intent.examples)} examples; {RECOMMENDED_EXAMPLES} or more make the intent reliable",
            ))
    return problems


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
