"""How well replies cover two questions at once: both intents found, and no second intent for a single question."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import DataFileError
from bot.nlu.classifier import IntentClassifier
from bot.nlu.answers import AnswerIndex
from bot.nlu.clauses import answered_intents

BOTH_TARGET = 0.85  # share of two-question messages whose reply answers both
SPURIOUS_TARGET = 0.03  # share of single-question messages that gain a second intent, at most


@dataclass(frozen=True)
class TwoQuestionsResult:
    """Two-question messages answered in full, and single-question messages that gained a second intent."""

    pairs: int
    both: int
    singles: int
    spurious: int
    misses: list[dict[str, object]] = field(default_factory=list)  # the pairs not covered, with what was found
    extras: list[dict[str, object]] = field(default_factory=list)  # the single questions that gained an intent

    @property
    def both_rate(self) -> float:
        return self.both / self.pairs if self.pairs else 0.0

    @property
    def spurious_rate(self) -> float:
        return self.spurious / self.singles if self.singles else 0.0

    def summary(self) -> dict[str, object]:
        return {"pairs": self.pairs, "both": self.both, "both_rate": round(self.both_rate, 4), "both_target": BOTH_TARGET,
                "singles": self.singles, "spurious": self.spurious, "spurious_rate": round(self.spurious_rate, 4),
                "spurious_target": SPURIOUS_TARGET}


def load_two_questions(path: Path) -> list[tuple[str, list[str]]]:
    """{"text", "intents": [a, b]} per line (one intent: a single question); errors name the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataFileError(path, None, f"cannot read: {exc.strerror or exc}") from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFileError(path, f"line {number}", f"not JSON ({exc.msg})") from None
        intents = row.get("intents") if isinstance(row, dict) else None
        if not (isinstance(row.get("text"), str) and isinstance(intents, list) and intents
                and all(isinstance(i, str) for i in intents)):
            raise DataFileError(path, f"line {number}", 'expected {"text": "...", "intents": ["...", "..."]}')
        items.append((row["text"], list(dict.fromkeys(intents))))
    if not items:
        raise DataFileError(path, None, "no messages")
    return items


def evaluate_two_questions(classifier: IntentClassifier, items: Sequence[tuple[str, list[str]]],
                           singles: Sequence[str] = (), answers: AnswerIndex | None = None) -> TwoQuestionsResult:
    """Run each message through the same clause reading drafts use (with `answers`, their vouching too).

    Items with two expected intents count when the reply's intents contain both; items with one,
    and every text of `singles` (e.g. the shipped held-out messages), count as spurious when the
    reply gains a second intent.
    """
    pairs = both = spurious = 0
    misses: list[dict[str, object]] = []
    extras: list[dict[str, object]] = []
    single_texts = [text for text, expected in items if len(expected) == 1] + list(singles)
    for text, expected in items:
        if len(expected) < 2:
            continue
        pairs += 1
        found = answered_intents(classifier, text, answers)
        if set(expected) <= set(found):
            both += 1
        else:
            misses.append({"text": text, "expected": expected, "found": found})
    for text in single_texts:
        found = answered_intents(classifier, text, answers)
        if len(found) > 1:
            spurious += 1
            extras.append({"text": text, "found": found})
    return TwoQuestionsResult(pairs=pairs, both=both, singles=len(single_texts), spurious=spurious,
                              misses=misses, extras=extras)
