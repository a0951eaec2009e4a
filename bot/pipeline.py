"""Inbound message -> draft plan: normalise, classify, pick persona, render, flag marketing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.drafts.lifecycle import Status
from bot.errors import DraftbotError
from bot.nlu.classifier import IntentClassifier
from bot.nlu.entities import Catalog, extract_entities
from bot.nlu.intents import FALLBACK, Intent
from bot.persona.render import Renderer
from bot.persona.styles import PersonaBook
from bot.policy.marketing import marketing_reason

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    """What the pipeline needs to know about a customer message."""

    msg_id: str
    channel: str
    customer_id: str
    text: str
    msg_type: str = "text"
    customer_name: str = ""
    open_kfid: str | None = None
    staff_id: str | None = None


@dataclass(frozen=True)
class DraftPlan:
    """Everything decided about a draft before it is stored."""

    status: Status
    persona: str
    text: str = ""
    intent: str | None = None
    confidence: float | None = None
    runners_up: list = field(default_factory=list)
    entities: dict = field(default_factory=dict)
    template: str | None = None
    variation: str | None = None
    marketing: bool = False
    flags: list = field(default_factory=list)
    manual_reason: str | None = None


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
    ) -> None:
        self.classifier = classifier
        self.intents = {intent.intent: intent for intent in intents}
        self.book = book
        self.renderer = renderer
        self.default_persona = default_persona
        self.catalog = catalog

    def choose_persona(self, inbound: Inbound) -> str:
        return self.book.choose(kf_account=inbound.open_kfid, staff=inbound.staff_id, default=self.default_persona)

    def plan(self, inbound: Inbound, *, persona: str | None = None, previous: tuple[str, str] | None = None) -> DraftPlan:
        """Draft a reply for `inbound`; `previous` is the customer's last (template, variation)."""
        persona = persona or self.choose_persona(inbound)
        if inbound.msg_type != "text":
            return DraftPlan(
                status=Status.NEEDS_MANUAL,
                persona=persona,
                manual_reason=f"the customer sent a {inbound.msg_type} message: please reply by hand",
            )
        if not inbound.text.strip():
            return DraftPlan(status=Status.NEEDS_MANUAL, persona=persona, manual_reason="empty message")
        try:
            prediction = self.classifier.predict(inbound.text)
        except Exception as exc:  # a broken model must not lose the message
            log.exception("classification failed for message %s", inbound.msg_id)
            return DraftPlan(status=Status.NEEDS_MANUAL, persona=persona, manual_reason=f"classification failed: {exc}")
        entities = extract_entities(inbound.text, self.catalog)
        base = dict(
            persona=persona,
            entities=entities,
            intent=prediction.intent,
            confidence=prediction.confidence,
            runners_up=[[name, p] for name, p in prediction.runners_up],
        )
        try:
            rendered = self.renderer.render(
                persona=persona,
                intent=prediction.intent,
                context={"customer_name": inbound.customer_name, "message": inbound.text, **entities},
                previous=previous,
                seed=inbound.msg_id,
            )
        except DraftbotError as exc:
            log.warning("rendering failed for message %s: %s", inbound.msg_id, exc)
            return DraftPlan(status=Status.NEEDS_MANUAL, manual_reason=f"the template failed: {exc}", **base)
        intent = self.intents.get(prediction.intent)
        reason = marketing_reason(
            intent_marketing=bool(intent and intent.marketing), intent=prediction.intent, text=rendered.text
        )
        flags = [{"code": "marketing", "reason": reason}] if reason else []
        if prediction.intent == FALLBACK:
            guess = f"best guess {prediction.best} at {prediction.confidence:.2f}"
            flags.append({"code": "low_confidence", "reason": f"no intent is certain enough ({guess})"})
        return DraftPlan(
            status=Status.PENDING,
            text=rendered.text,
            template=rendered.template,
            variation=rendered.variation,
            marketing=reason is not None,
            flags=flags,
            **base,
        )
