"""Clauses of a customer's message: where one question ends and the next begins (另外, 还有, 顺便, ？, 。, line breaks)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu.classifier import IntentClassifier
from bot.nlu.intents import FALLBACK

_BOUNDARY = re.compile(r"[？?。！!；;\n]+|另外|还有|顺便|再问一下|还想问")
_EDGES = " \t，,、～~…"
NOT_A_QUESTION = frozenset({FALLBACK, "greeting", "thanks"})  # never a part of their own in a combined reply
DECIDES_ALONE = frozenset({"opt_out", "complaint"})  # anywhere in the conversation: the draft is decided as one intent


def split_clauses(text: str) -> list[str]:
    """The clauses of `text` in the customer's order, without their boundary words and empty ones.

    >>> split_clauses("我的快递到哪了？订单 12345678\\n另外能开发票吗")
    ['我的快递到哪了', '订单 12345678', '能开发票吗']
    """
    return [clause for part in _BOUNDARY.split(text) if (clause := part.strip(_EDGES))]


@dataclass(frozen=True)
class Asked:
    """An intent a clause asks, with the clause and the classifier's confidence."""

    intent: str
    clause: str
    confidence: float


def asked_intents(classifier: IntentClassifier, text: str) -> list[Asked]:
    """Every intent some clause of `text` asks above the threshold, first occurrence each, in the customer's order.

    Greetings, thanks and fallback are not questions of their own. An opt-out or complaint in any
    clause is returned alone: such a conversation is decided as one intent.
    """
    found: dict[str, Asked] = {}
    for clause in split_clauses(text):
        prediction = classifier.predict(clause)
        if prediction.intent in DECIDES_ALONE and prediction.accepted:
            return [Asked(prediction.intent, clause, prediction.confidence)]
        if prediction.accepted and prediction.intent not in NOT_A_QUESTION and prediction.intent not in found:
            found[prediction.intent] = Asked(prediction.intent, clause, prediction.confidence)
    return list(found.values())
