"""Inbound message -> draft plan: normalise, classify, pick persona, render, flag marketing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from bot.drafts.lifecycle import Status
from bot.drafts.facts import NO_FACTS, FactLookup, Facts
from bot.errors import DraftbotError
from bot.nlu.answers import AnswerIndex, AnswerMatch, vouched
from bot.nlu.classifier import IntentClassifier, Prediction
from bot.nlu.clauses import Asked, questions
from bot.nlu.conversation import conversation_entities
from bot.nlu.entities import Catalog
from bot.nlu.intents import FALLBACK, Intent
from bot.persona.render import Rendered, Renderer
from bot.persona.styles import PersonaBook
from bot.policy.marketing import marketing_reason

log = logging.getLogger(__name__)

READ_BACK_LINES = 3  # how far back a message unclear on its own is read with the unanswered ones before it

# What staff call the kinds of non-text message WeCom delivers (kf, app callbacks and chat archive).
MSG_TYPE_NAMES = {
    "image": "图片", "voice": "语音", "video": "视频", "file": "文件", "location": "位置", "link": "链接",
    "business_card": "名片", "card": "名片", "emotion": "表情", "miniprogram": "小程序", "weapp": "小程序",
    "merged_msg": "聊天记录", "chatrecord": "聊天记录", "channels": "视频号内容", "sphfeed": "视频号内容",
    "channels_shop_product": "视频号商品", "channels_shop_order": "视频号订单", "redpacket": "红包",
    "meeting": "会议", "calendar": "日程", "note": "笔记", "mixed": "图文消息",
}


@dataclass(frozen=True)
class Inbound:
    """What the pipeline needs to know about a customer message."""

    msg_id: str
    channel: str
    customer_id: str
    text: str
    msg_type: str = "text"
    earlier: str = ""  # the customer's messages before this one that no reply has answered yet
    context: str = ""  # the customer's recent messages (answered ones too), which lend the draft their entities
    customer_name: str = ""  # as staff know them: their remark, else the WeChat nickname, else what intake gave
    customer_tags: tuple[str, ...] = ()  # the responsible staff member's corp tags for the customer
    open_kfid: str | None = None
    staff_id: str | None = None
    from_customer: bool = True  # False: posted by someone who cannot vouch it is the customer's own words


@dataclass(frozen=True)
class DraftPlan:
    """Everything decided about a draft before it is stored."""

    status: Status
    persona: str
    text: str = ""
    intent: str | None = None
    confidence: float | None = None
    runners_up: list[list[str | float]] = field(default_factory=list)  # [[intent, probability], ...]
    entities: dict[str, str] = field(default_factory=dict)
    template: str | None = None
    variation: str | None = None
    marketing: bool = False
    flags: list[dict[str, Any]] = field(default_factory=list)
    manual_reason: str | None = None
    answer_id: str | None = None  # the brand answer the draft says (intents/<intent>.yml `answers:`)
    intents: list[str] = field(default_factory=list)  # every intent the draft answers, the primary (`intent`) first


class Pipeline:
    """Turns an inbound message into a draft plan; never raises for a bad message or template."""

    def __init__(
        self,
        *,
        classifier: IntentClassifier,
        intents: list[Intent],
        book: PersonaBook,
        renderer: Renderer,
        default_persona: str,
        catalog: Catalog = Catalog(),
        answers: AnswerIndex | None = None,
    ) -> None:
        self.classifier = classifier
        self.intents = {intent.intent: intent for intent in intents}
        self.book = book
        self.renderer = renderer
        self.default_persona = default_persona
        self.catalog = catalog
        self.answers = answers if answers is not None else AnswerIndex.build(intents)

    def intent_name(self, intent: str | None) -> str:
        """What staff call an intent: its display name (退款退货), 未识别 for fallback or none, else the id."""
        if not intent or intent == FALLBACK:
            return "未识别"
        known = self.intents.get(intent)
        return known.name if known is not None else intent

    def choose_persona(self, inbound: Inbound) -> str:
        return self.book.choose(kf_account=inbound.open_kfid, staff=inbound.staff_id, default=self.default_persona)

    def plan(self, inbound: Inbound, *, persona: str | None = None, previous: tuple[str, str] | None = None,
             facts: FactLookup | None = None) -> DraftPlan:
        """Draft a reply for `inbound`; `previous` is the customer's last (template, variation).

        `facts` is asked, once the intent and entities are known, for what the brand's systems say
        (e.g. the order's status); its context reaches the template and its flags the draft.
        """
        persona = persona or self.choose_persona(inbound)
        if inbound.msg_type != "text":
            return DraftPlan(
                status=Status.NEEDS_MANUAL,
                persona=persona,
                manual_reason=non_text_reason(inbound.msg_type),
            )
        if not inbound.text.strip():
            return DraftPlan(status=Status.NEEDS_MANUAL, persona=persona, manual_reason="客户发来的消息是空的")
        try:
            prediction, text = self._classify(inbound)
        except Exception as exc:  # a broken model must not lose the message
            log.exception("classification failed for message %s", inbound.msg_id)
            return DraftPlan(status=Status.NEEDS_MANUAL, persona=persona, manual_reason=f"意图识别出错：{exc}")
        entities, sources = conversation_entities(
            [*inbound.earlier.splitlines(), inbound.text], catalog=self.catalog, context=inbound.context.splitlines()
        )
        prediction, asked = self._questions(prediction, inbound)
        intents = [prediction.intent, *(a.intent for a in asked if a.intent != prediction.intent)]
        found = NO_FACTS
        for name in intents:
            more = _facts(facts, name, entities, inbound.msg_id)
            found = Facts(context={**found.context, **more.context},
                          flags=[*found.flags, *(f for f in more.flags if f not in found.flags)])
        base = DraftPlan(
            status=Status.PENDING,
            persona=persona,
            entities=entities,
            intent=prediction.intent,
            confidence=prediction.confidence,
            runners_up=[[name, p] for name, p in prediction.runners_up],
            intents=intents,
        )
        answer = self._answer(prediction.intent, inbound.text, text)
        context = {"customer_name": inbound.customer_name, "customer": _customer(inbound), "message": text,
                   **entities, **found.context}
        try:
            rendered, parts = self._render(persona, self._parts(prediction.intent, answer, asked, context),
                                           previous=previous, seed=inbound.msg_id)
        except DraftbotError as exc:
            log.warning("rendering failed for message %s: %s", inbound.msg_id, exc)
            return replace(base, status=Status.NEEDS_MANUAL, manual_reason=f"回复模板出错：{exc}")
        answered = [name for name, _ in parts]
        marketing = [name for name in answered if (known := self.intents.get(name)) is not None and known.marketing]
        reason = marketing_reason(
            intent_marketing=bool(marketing), intent="、".join(self.intent_name(n) for n in (marketing or answered)),
            text=rendered.text,
        )
        flags: list[dict[str, Any]] = [{"code": "marketing", "reason": reason}] if reason else []
        flags.extend(found.flags)
        carried = _carried(entities, sources)
        if carried:
            flags.append(carried)
        if prediction.intent == FALLBACK:
            flags.append({
                "code": "low_confidence",
                "reason": f"没有足够确定的意图（最接近 {self.intent_name(prediction.best)}，{prediction.confidence:.0%}）",
                "best": prediction.best,
                "confidence": prediction.confidence,
            })
        said = next((str(c["answer_id"]) for _, c in parts if "answer_id" in c and str(c["answer"]) in rendered.text), None)
        return replace(
            base,
            text=rendered.text,
            template=rendered.template,
            variation=rendered.variation,
            marketing=reason is not None,
            flags=flags,
            answer_id=said,  # only an answer it says
            intents=[prediction.intent, *(n for n in answered if n != prediction.intent)],
        )

    def _questions(self, prediction: Prediction, inbound: Inbound) -> tuple[Prediction, list[Asked]]:
        """The primary intent and every intent the unanswered conversation asks, in the customer's order."""
        return questions(self.classifier, prediction, "\n".join(part for part in (inbound.earlier, inbound.text) if part),
                         answers=self.answers)

    def _parts(self, primary: str, answer: AnswerMatch | None, asked: list[Asked],
               context: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(intent, template context) per part in the customer's order; the primary where it was asked, else last."""
        def known(match: AnswerMatch | None) -> dict[str, Any]:
            return {"answer": match.answer, "answer_id": match.answer_id} if match else {}

        parts = [(a.intent, {**context, **known(answer if a.intent == primary else self.answers.match(a.intent, a.clause))})
                 for a in asked]
        if primary not in {name for name, _ in parts}:
            parts.append((primary, {**context, **known(answer)}))
        return parts

    def _render(self, persona: str, parts: list[tuple[str, dict[str, Any]]], *, previous: tuple[str, str] | None,
                seed: str) -> tuple[Rendered, list[tuple[str, dict[str, Any]]]]:
        """The reply to `parts`, dropping the softest part while it is longer than the persona's limit."""
        limit = self.book[persona].max_chars
        while True:
            rendered = self.renderer.render_parts(persona=persona, parts=parts, previous=previous, seed=seed)
            if len(rendered.text) <= limit or len(parts) == 1:
                return rendered, parts
            softest = min(parts, key=self._firmness)
            parts = [part for part in parts if part is not softest]

    def _firmness(self, part: tuple[str, dict[str, Any]]) -> tuple[bool, bool]:
        """How much a part must stay: facts (an answer, an order) before the rest, promotion last."""
        name, context = part
        intent = self.intents.get(name)
        return (not (intent is not None and intent.marketing), "answer" in context or "order" in context)

    def _answer(self, intent: str, message: str, read_from: str) -> AnswerMatch | None:
        """The intent's answer the new message asks for; else the one the lines it was read with ask for."""
        found = self.answers.match(intent, message)
        if found is None and read_from != message:
            found = self.answers.match(intent, read_from)
        return found

    def _classify(self, inbound: Inbound) -> tuple[Prediction, str]:
        """The intent and the text it was read from: the new message when it is clear on its own.

        A best guess below the classifier's threshold still counts when one of that intent's answers
        vouches for it (the message asks a fact the brand wrote down in nearly those words).
        A new message that is not (a fragment such as "到哪了" after "订单 12345678") is read with
        the unanswered lines before it, one more at a time, until they make its own best guess
        clear; they never change the guess ("团购价怎么算" after a thank-you stays a price
        question). A clear message is read alone, so a second question, an opt-out or a complaint
        is not mixed up with the one before.
        """
        alone = self.classifier.predict(inbound.text)
        if alone.accepted:
            return alone, inbound.text
        lines = [line for line in inbound.earlier.splitlines() if line.strip()]
        for back in range(1, min(READ_BACK_LINES, len(lines)) + 1):
            together = "\n".join([*lines[-back:], inbound.text])
            prediction = self.classifier.predict(together)
            if prediction.accepted and prediction.intent == alone.best:
                return prediction, together
        return vouched(alone, self.answers, inbound.text), inbound.text  # "沙发框架保修几年": unsure, but a known fact


def _customer(inbound: Inbound) -> dict[str, object]:
    """What templates read as `customer`: name ("" when unknown), tags, id."""
    return {"name": inbound.customer_name, "tags": list(inbound.customer_tags), "id": inbound.customer_id}


ENTITY_NAMES = {"order_no": "订单号", "phone": "手机号", "date": "日期", "time": "时间", "amount": "金额", "product": "商品"}
_ORIGIN_NAMES = {"earlier": "客户之前还没回复的消息", "context": "客户最近已回复过的消息"}


def _carried(entities: dict[str, str], sources: dict[str, str]) -> dict[str, object] | None:
    """A flag naming the entities the draft took from the customer's earlier messages, e.g. 订单号 87654321."""
    carried = {key: origin for key, origin in sources.items() if origin != "message"}
    if not carried:
        return None
    parts = [f"{ENTITY_NAMES.get(key, key)} {entities[key]} 取自{_ORIGIN_NAMES[origin]}" for key, origin in carried.items()]
    return {"code": "carried_entities", "reason": "；".join(parts), "sources": carried}


def _facts(lookup: FactLookup | None, intent: str, entities: dict[str, str], msg_id: str) -> Facts:
    """What `lookup` says for this message; a lookup that raises gives no facts (the draft keeps its usual wording)."""
    if lookup is None:
        return NO_FACTS
    try:
        return lookup(intent, entities)
    except Exception:  # a broken fact provider must not lose the draft
        log.exception("fact lookup failed for message %s", msg_id)
        return NO_FACTS


def non_text_reason(msg_type: str) -> str:
    """Why a message of this type needs a manual reply, e.g. "客户发来的是图片，不是文字"."""
    name = MSG_TYPE_NAMES.get(msg_type)
    return f"客户发来的是{name}，不是文字" if name else f"客户发来的不是文字（消息类型 {msg_type or '未知'}）"
