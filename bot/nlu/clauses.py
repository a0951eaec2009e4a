"""Clauses of a customer's message: where one question ends and the next begins (另外, 还有, 顺便, ？, 。, line breaks)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu.answers import AnswerIndex, vouched
from bot.nlu.classifier import IntentClassifier, Prediction
from bot.nlu.intents import FALLBACK

_BOUNDARY = re.compile(r"[？?。！!；;\n]+|另外|还有|顺便|再问一下|还想问")
_EDGES = " \t，,、～~…"
_COMMA = re.compile(r"[，,]")
NOT_A_QUESTION = frozenset({FALLBACK, "greeting", "thanks"})  # never a part of their own in a combined reply
DECIDES_ALONE = frozenset({"opt_out", "complaint"})  # anywhere in the conversation: the draft is decided as one intent


def split_clauses(text: str) -> list[str]:
    """The clauses of `text` in the customer's order, without their boundary words and empty ones.

    >>> split_clauses("我的快递到哪了？订单 12345678\\n另外能开发票吗")
    ['我的快递到哪了', '订单 12345678', '能开发票吗']
    """
    return [clause for part in _BOUNDARY.split(text) if (clause := part.strip(_EDGES))]


def _predict(classifier: IntentClassifier, text: str, answers: AnswerIndex | None) -> Prediction:
    """The classifier's reading of `text`, a doubted best guess kept when one of its intent's answers vouches for it."""
    return vouched(classifier.predict(text), answers, text)


def _readings(classifier: IntentClassifier, text: str, answers: AnswerIndex | None) -> list[str]:
    """The clauses of `text`; one unclear as a whole is read by its comma-separated pieces instead."""
    readings = []
    for clause in split_clauses(text):
        pieces = [piece for part in _COMMA.split(clause) if (piece := part.strip(_EDGES))]
        if len(pieces) > 1 and not _predict(classifier, clause, answers).accepted:
            readings.extend(pieces)
        else:
            readings.append(clause)
    return readings


@dataclass(frozen=True)
class Asked:
    """An intent a clause asks, with the clause and the classifier's confidence."""

    intent: str
    clause: str
    confidence: float


def asked_intents(classifier: IntentClassifier, text: str, answers: AnswerIndex | None = None) -> list[Asked]:
    """Every intent some clause of `text` asks above the threshold, first occurrence each, in the customer's order.

    Greetings, thanks and fallback are not questions of their own. An opt-out or complaint in any
    clause is returned alone: such a conversation is decided as one intent.
    """
    found: dict[str, Asked] = {}
    for clause in _readings(classifier, text, answers):
        prediction = _predict(classifier, clause, answers)
        if prediction.intent in DECIDES_ALONE and prediction.accepted:
            return [Asked(prediction.intent, clause, prediction.confidence)]
        if prediction.accepted and prediction.intent not in NOT_A_QUESTION and prediction.intent not in found:
            found[prediction.intent] = Asked(prediction.intent, clause, prediction.confidence)
    return list(found.values())


def questions(classifier: IntentClassifier, prediction: Prediction, text: str,
              answers: AnswerIndex | None = None) -> tuple[Prediction, list[Asked]]:
    """The primary intent and every intent the conversation `text` asks (empty: a single question).

    `prediction` is the primary reading. A second intent counts only when some clause asks it above
    the threshold and it is not the same intent; an opt-out or complaint anywhere leaves the primary
    alone. A conversation unclear as a whole whose clauses are clear takes its first clause's intent.

    >>> # questions(model, model.predict(t), t) for t = "多少钱？店在哪里" -> price_inquiry, [price_inquiry, store_info]
    """
    if prediction.intent in DECIDES_ALONE:
        return prediction, []
    asked = asked_intents(classifier, text, answers)
    if any(a.intent in DECIDES_ALONE for a in asked):
        return prediction, []
    if prediction.intent == FALLBACK and asked:
        prediction = _predict(classifier, asked[0].clause, answers)
    if len({a.intent for a in asked} | {prediction.intent}) < 2:
        return prediction, []
    return prediction, asked


def answered_intents(classifier: IntentClassifier, text: str, answers: AnswerIndex | None = None) -> list[str]:
    """Every intent a reply to the single message `text` answers, the primary first (what `draftbot eval` measures)."""
    prediction, asked = questions(classifier, _predict(classifier, text, answers), text, answers)
    return [prediction.intent, *(a.intent for a in asked if a.intent != prediction.intent)]
