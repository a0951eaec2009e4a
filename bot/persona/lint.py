"""The linter behind `draftbot check`: every intent x persona x variation renders, voice and service rules hold."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bot.nlu.entities import ENTITY_SAMPLES
from bot.nlu.intents import FALLBACK, MAX_ANSWER_CHARS, Intent
from bot.persona.bounds import BoundsExceeded
from bot.persona.render import Renderer, relative_name
from bot.persona.styles import PersonaBook
from bot.policy.marketing import promotional_words

RECOMMENDED_EXAMPLES = 20
# Each render is bounded (bot.persona.bounds); this bounds the whole check, however many templates time out.
LINT_SECONDS = 30.0
# Replies where selling has no place, whatever the persona (the customer needs service, or wants quiet).
NO_SELLING = ("complaint", "after_sales", "refund_return", "opt_out", "human_agent")
# Replies that must apologise and commit to a concrete next step.
APOLOGISE = ("complaint", "after_sales")
APOLOGY = re.compile("抱歉|对不起|不好意思|致歉|歉意")
NEXT_STEP = re.compile(r"\d+\s*(?:分钟|小时|个小时|天|个工作日)|今天|今晚|明天|马上|立刻|立即|尽快|回电|回复您|回复你|联系您|联系你")

EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
# Each variation renders with every entity present, and with none: a template that uses an entity
# must also say something sensible when the customer gave none.
# A brand answer (intents/<intent>.yml `answers:`) as long as the loader allows. Intents with answers
# render each variation with their own longest answer instead (see `lint`), so the length, address and
# emoji rules and "says the answer whole" are checked on what drafts will really say.
SAMPLE_ANSWER = (
    "门店营业时间是每天 10:00-22:00，节假日照常营业；商场地下停车场 B2 层，当日消费满 200 元可免费停车 3 小时，"
    "超出部分每小时 10 元，凭小票在收银台办理；地铁 2 号线南京西路站 3 号口出站，步行约 5 分钟即到。"
)[:MAX_ANSWER_CHARS]
# An order as the order system sends it (every field the shipped templates use, at a realistic length).
SAMPLE_ORDER = {
    "status": "已发货，运输中", "carrier": "顺丰速运", "tracking_no": "SF1428803921077", "eta": "2026-11-25",
    "updated_at": "2026-11-23 09:40", "items": ["经典拿铁挂耳 10 包", "随行杯"],
}
FACTS = ("order", "order_missing")  # context the order lookup gives, only when it has an answer
NO_NAME_MARK = "〔没有名字〕"


class _NoName(str):
    """A customer whose name nobody knows: empty (falsy) to `{% if customer.name %}`, a visible mark when printed anyway."""

    def __str__(self) -> str:
        return NO_NAME_MARK


NO_NAME = _NoName("")
SAMPLE_CUSTOMER = {"name": "王女士", "tags": ["老客户", "VIP"], "id": "wmSampleCustomer"}
SAMPLE_CONTEXTS: tuple[dict[str, object], ...] = (
    {"customer_name": "王女士", "customer": SAMPLE_CUSTOMER, "message": "订单 202611220001 周六下午3点能送到吗", **ENTITY_SAMPLES},
    # a customer WeCom could not name: a template that needs the name must have a wording without it
    {"customer_name": NO_NAME, "customer": {"name": NO_NAME, "tags": [], "id": "wmSampleCustomer"}, "message": "在吗"},
    # live facts from the order system (bot.services.facts.orders): an order it knows, and a number it does not
    {"customer_name": "王女士", "message": "订单 202611220001 到哪了", **ENTITY_SAMPLES, "order": SAMPLE_ORDER},
    {"customer_name": "王女士", "message": "订单 202611220001 到哪了", **ENTITY_SAMPLES, "order_missing": True},
)
# Intents with answers also render with one (and with none: the contexts above).
ANSWER_CONTEXT: dict[str, object] = {"customer_name": "王女士", "message": "你们几点开门，停车方便吗", "answer": SAMPLE_ANSWER, "answer_id": "sample"}


@dataclass(frozen=True)
class Problem:
    """One linter finding, naming the file and the item.

    `message` is in Chinese because the admins who fix templates read it, in the console and in
    `draftbot check`; `rule` says which check found it, so callers can pick findings without
    matching the wording.
    """

    severity: str  # "error" | "warning"
    path: str
    item: str
    message: str
    rule: str  # template, variations, entity, name, renders, bounds, max_chars, address, emoji, selling, apology, next_step, examples

    def __str__(self) -> str:
        return f"{self.path}: {self.item}: {self.message}"


def lint(book: PersonaBook, renderer: Renderer, intents: list[Intent], *, seconds: float = LINT_SECONDS) -> list[Problem]:
    """Check the intents, then render every intent (and fallback) for every persona and variation.

    Every render is bounded in time and memory like a draft's. A variation past its bounds is not
    rendered again for the other sample context; past `seconds` in all, the templates not yet
    rendered are left unchecked and that is an error.
    """
    deadline = time.monotonic() + seconds
    intents = [i for i in intents if i.enabled]  # a disabled intent is not classified, so it needs no templates
    problems = lint_intents(intents)
    if any(i.answers for i in intents):
        from bot.persona.answer_lint import lint_answers  # it imports Problem from here

        problems.extend(lint_answers(intents))
    # each intent's longest answer: what its templates must say whole within every persona's length limit
    with_answers = {i.intent: max(i.answers, key=lambda a: len(a.answer)) for i in intents if i.answers}
    for name in book.names():
        persona = book[name]
        for intent in [*(i.intent for i in intents), FALLBACK]:
            try:
                variations = renderer.variations(name, intent)
                template = renderer.template_for(name, intent).filename or f"{name}/{intent}.j2"
            except Exception as exc:
                problems.append(Problem("error", f"{persona.where}/templates/{intent}.j2", intent, f"话术模板无法读取：{exc}", "template"))
                continue
            if len(variations) < 2 and intent != FALLBACK:
                problems.append(Problem("warning", template, intent,
                                        f"只有 {len(variations)} 种说法：至少写两种（v1、v2），客户才不会每次收到一样的话。", "variations"))
            where = relative_name(template)
            for variation in variations:
                if time.monotonic() > deadline:
                    problems.append(Problem("error", where, f"{intent} {variation}",
                                            f"检查超时：渲染话术累计超过 {seconds:g} 秒，这条及之后的话术没有检查。", "renders"))
                    return _unique(problems)
                longest = with_answers.get(intent)
                answered = {**ANSWER_CONTEXT, "answer": longest.answer, "answer_id": longest.id} if longest else None
                for context in (*SAMPLE_CONTEXTS, answered) if answered else SAMPLE_CONTEXTS:
                    found = _check_one(renderer, book, name, intent, variation, context, where)
                    problems.extend(found)
                    if any(p.rule == "bounds" for p in found):
                        break
    return _unique(problems)


def _check_one(renderer: Renderer, book: PersonaBook, name: str, intent: str, variation: str, context: dict[str, object],
               template: str) -> list[Problem]:
    persona = book[name]
    try:
        rendered = renderer.render(persona=name, intent=intent, context=context, previous=None, seed="", only=variation)
    except BoundsExceeded as exc:
        return [Problem("error", template, f"{intent} {variation}", f"无法渲染：{exc}", "bounds")]
    except Exception as exc:
        missing = next((e for e in (*ENTITY_SAMPLES, *FACTS) if e not in context and f"'{e}' is undefined" in str(exc)), None)
        if missing:
            hint = (f"用到了 {missing}，但客户没提到 {missing} 时没有备用说法："
                    f"请写成 {{% if {missing} is defined %}}…{{% else %}}…{{% endif %}}。")
            return [Problem("error", f"{name}/{intent}", variation, hint, "entity")]
        return [Problem("error", f"{name}/{intent}", variation, f"无法渲染：{exc}", "renders")]
    where, item, text = rendered.template, f"{intent} {variation}", rendered.text
    found = []
    if "answer" in context and str(context["answer"]) not in text:
        found.append(Problem("warning", where, item, "这个意图有答案，但这条话术没有完整说出答案，草稿不会用到它：请写成 "
                             "{% if answer is defined %}…{{ answer }}…{% else %}…{% endif %}。", "answer"))
    if NO_NAME_MARK in text:
        found.append(Problem("error", where, item, "用到了客户的名字，但不知道名字时没有备用说法：请写成 "
                             "{% if customer.name %}…{% else %}…{% endif %}（customer_name 同理）。", "name"))
        text = text.replace(NO_NAME_MARK, "")
    # The persona is named: the template may be one it inherits (the path then names another persona).
    if len(text) > persona.max_chars:
        found.append(Problem("error", where, item, f"共 {len(text)} 个字，超过了人设 {name} 的字数上限 {persona.max_chars}。", "max_chars"))
    wrong = {"您": "你", "你": "您"}.get(persona.address)
    if wrong and wrong in text:
        found.append(Problem("error", where, item, f"人设 {name} 称呼客户为“{persona.address}”，但话术里出现了“{wrong}”。", "address"))
    if not persona.emoji and (emoji := EMOJI.search(text)):
        found.append(Problem("error", where, item, f"人设 {name} 不用表情，但话术里有 {emoji.group()}。", "emoji"))
    if intent in NO_SELLING and promotional_words(text):
        words = "、".join(promotional_words(text))
        found.append(Problem("error", where, item, f"这类回复（{intent}）不能推销，但出现了：{words}。", "selling"))
    if intent in APOLOGISE and not APOLOGY.search(text):
        found.append(Problem("error", where, item, f"这类回复（{intent}）必须先道歉（抱歉、对不起……）。", "apology"))
    if intent in APOLOGISE and not NEXT_STEP.search(text):
        found.append(Problem("warning", where, item, f"这类回复（{intent}）最好给出具体的下一步和时间（今天内回电、30 分钟内……）。",
                             "next_step"))
    return found


def lint_intents(intents: list[Intent]) -> list[Problem]:
    """Intents with too few examples to learn from. (Schema and duplicates are checked when loading.)"""
    problems = []
    for intent in intents:
        if len(intent.examples) < RECOMMENDED_EXAMPLES:
            problems.append(Problem("warning", intent.path or f"{intent.intent}.yml", "examples",
                                    few_examples(len(intent.examples)), "examples"))
    return problems


def few_examples(count: int) -> str:
    """Why an intent with fewer than RECOMMENDED_EXAMPLES examples is a warning (also on the console's intent pages)."""
    return f"只有 {count} 条例句；{RECOMMENDED_EXAMPLES} 条以上、说法多样，识别才可靠。"


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
