"""The obligation gate: a configuration goes live only if it still recognises the messages the service must act on.

An opt-out must be recorded and honoured, a complaint is urgent and apologised for, a request for a
person must reach one. A configuration whose classifier drafts such a message as another intent, or
as fallback, breaks that without anyone noticing (one inbox click once put "退订，别再给我发广告了"
into `greeting`: the next opt-out drafted a fallback reply and was never recorded). Held-out
accuracy hardly moves for one example, so before a version goes live (publish, import, rollback)
its classifier is trained exactly as the service trains it and every guarded message must still be
read as its intent:

- every example of a guarded intent in the new configuration, and every live one that the new
  configuration moved to another intent;
- every message the service acted on as one: the customer opt-outs in the ledger (`OptOut.reason`
  holds the message), and messages drafted as, or corrected by staff to, a guarded intent (a message
  staff corrected to another intent is not guarded).

A message that the live configuration does not read as its intent either is not held against the new
one (a new example the model still misses, a fragment read with the lines before it): the gate
refuses what a change makes worse. A guarded intent that is live may not be removed or disabled.
The refusal names every message in Chinese and, unlike the accuracy check, cannot be forced.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.services.configuration.files import INTENTS, ConfigFiles
from bot.services.configuration.store import ConfigRefused
from bot.db.models import Draft, Message, OptOut
from bot.errors import DataFileError
from bot.nlu.classifier import IntentClassifier, Prediction
from bot.nlu.intents import FALLBACK, Intent, intents_from
from bot.nlu.normalise import normalise

GUARDED = ("opt_out", "complaint", "human_agent")  # opt-out ledger, urgent apology, hand-off to a person
SCANNED = 5000  # newest rows read per source of guarded messages
SHOWN = 20  # problems listed in a refusal; the rest are counted
QUOTED = 60  # characters of a message quoted in a refusal
CACHED = 4  # trained classifiers kept per process (publishing right after evaluating trains once)
CUSTOMER = "customer"  # OptOut.recorded_by when the customer's own message opted them out


class ObligationRefused(ConfigRefused):
    """A configuration that would stop recognising guarded messages; never overridable by force."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems, overridable=False)


@dataclass(frozen=True)
class Guarded:
    """A message that must be read as `intent`, and where it comes from (in Chinese)."""

    text: str
    intent: str
    source: str


def guard(session: Session, files: ConfigFiles, settings: Settings, *, live: ConfigFiles | None) -> None:
    """Raise ObligationRefused when `files` would no longer read a guarded message as its intent.

    `live` is the configuration now active (None before the first version). Files that do not load
    are left to `configuration.check`, which refuses them with the file and item named.
    """
    new_intents = _intents(files)
    if new_intents is None:
        return
    live_intents = _intents(live) if live is not None else None
    names = {i.intent: i.name for i in [*(live_intents or []), *new_intents]}
    problems = _removed(new_intents, live_intents, names)
    items = _examples(new_intents) + _moved(new_intents, live_intents or [], names) + ledger(session)
    kept = {i.intent for i in new_intents}
    failing = _misread(items, _classifier(files, new_intents, settings), kept)
    if failing and live is not None and live_intents is not None:
        before = _classifier(live, live_intents, settings)
        failing = [(item, got) for item, got in failing if before.predict(item.text).intent == item.intent]
    problems += [_describe(item, got, names) for item, got in failing[:SHOWN]]
    if len(failing) > SHOWN:
        problems.append(f"另有 {len(failing) - SHOWN} 条这样的消息没有列出。")
    if problems:
        raise ObligationRefused(problems)


def ledger(session: Session) -> list[Guarded]:
    """Messages the service acted on as a guarded intent, newest first, each text once.

    Staff corrections come first (a person said so), then the opt-out ledger, then what was drafted.
    """
    corrected_away = {
        normalise(text) for text in session.scalars(
            select(Message.text).join(Draft, Draft.message_id == Message.id)
            .where(Draft.intent.in_(GUARDED), Draft.corrected_intent.is_not(None), Draft.corrected_intent.not_in(GUARDED))
            .order_by(Draft.id.desc()).limit(SCANNED)
        )
    }
    found: list[Guarded] = []
    corrected = session.execute(
        select(Message.text, Draft.corrected_intent).join(Draft, Draft.message_id == Message.id)
        .where(Draft.corrected_intent.in_(GUARDED)).order_by(Draft.id.desc()).limit(SCANNED)
    )
    found += [Guarded(text, intent, "员工纠正过意图的客户消息") for text, intent in corrected if intent is not None]
    trusted = len(found)
    opt_outs = session.scalars(
        select(OptOut.reason).where(OptOut.recorded_by == CUSTOMER, OptOut.opted_out.is_(True))
        .order_by(OptOut.id.desc()).limit(SCANNED)
    )
    found += [Guarded(text, GUARDED[0], "客户发来并已登记为退订的消息") for text in opt_outs]
    drafted = session.execute(
        select(Message.text, Draft.intent).join(Draft, Draft.message_id == Message.id)
        .where(Draft.intent.in_(GUARDED), or_(Draft.corrected_intent.is_(None), Draft.corrected_intent == Draft.intent))
        .order_by(Draft.id.desc()).limit(SCANNED)
    )
    found += [Guarded(text, intent, "机器人按这个意图处理过的客户消息") for text, intent in drafted if intent is not None]
    unique: dict[str, Guarded] = {}
    for index, item in enumerate(found):
        key = normalise(item.text or "")
        if key and (index < trusted or key not in corrected_away):
            unique.setdefault(key, item)
    return list(unique.values())


def _intents(files: ConfigFiles) -> list[Intent] | None:
    try:
        return intents_from(files.intent_texts(), where=INTENTS)
    except DataFileError:
        return None


def _examples(intents: list[Intent]) -> list[Guarded]:
    return [Guarded(example, i.intent, f"意图「{i.name}」的例句") for i in intents if i.intent in GUARDED for example in i.examples]


def _moved(new: list[Intent], live: list[Intent], names: dict[str, str]) -> list[Guarded]:
    """Live examples of a guarded intent that the new configuration teaches as another intent (deleting one is allowed)."""
    owner = {normalise(example): i.intent for i in new for example in i.examples}
    return [
        Guarded(example, i.intent, f"线上版本里意图「{i.name}」的例句，新配置把它放进了「{names.get(other, other)}」")
        for i in live if i.intent in GUARDED for example in i.examples
        if (other := owner.get(normalise(example))) not in (None, i.intent)
    ]


def _removed(new: list[Intent], live: list[Intent] | None, names: dict[str, str]) -> list[str]:
    """A guarded intent that is live and missing (deleted or disabled) from the new configuration."""
    kept = {i.intent for i in new}
    return [f"意图「{names[i.intent]}」（{i.intent}）在线上版本中启用，新配置删除或停用了它：这类消息将不再被识别和处理。"
            for i in live or [] if i.intent in GUARDED and i.intent not in kept]


def _misread(items: list[Guarded], classifier: IntentClassifier, kept: set[str]) -> list[tuple[Guarded, Prediction]]:
    """The items the classifier does not read as their intent (those of an intent gone are `_removed`'s)."""
    return [(item, got) for item in items if item.intent in kept and (got := classifier.predict(item.text)).intent != item.intent]


def _describe(item: Guarded, got: Prediction, names: dict[str, str]) -> str:
    text = " ".join(item.text.split())
    quoted = text if len(text) <= QUOTED else text[:QUOTED] + "…"
    if got.intent == FALLBACK:
        read = f"未识别（会用兜底回复；最接近「{names.get(got.best, got.best)}」，把握 {got.confidence:.0%}）"
    else:
        read = f"「{names.get(got.intent, got.intent)}」（{got.intent}，把握 {got.confidence:.0%}）"
    return f"「{quoted}」（{item.source}）应识别为「{names.get(item.intent, item.intent)}」（{item.intent}），新配置识别为{read}。"


_cache: OrderedDict[tuple[str, float, float | None], IntentClassifier] = OrderedDict()
_cache_lock = threading.Lock()


def _classifier(files: ConfigFiles, intents: list[Intent], settings: Settings) -> IntentClassifier:
    """The classifier the service would build from these files (deterministic, so kept per digest)."""
    key = (files.digest, settings.target_precision, settings.fallback_threshold)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    classifier = IntentClassifier.train(intents, target_precision=settings.target_precision,
                                        threshold=settings.fallback_threshold)
    with _cache_lock:
        _cache[key] = classifier
        while len(_cache) > CACHED:
            _cache.popitem(last=False)
    return classifier
