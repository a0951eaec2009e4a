"""Labelled texts for evaluation: JSONL files ({"text", "label"} per line) and the intents folder."""

from __future__ import annotations

import json
from pathlib import Path

from bot.errors import DataFileError
from bot.nlu.intents import Intent


def load_jsonl(path: Path) -> tuple[list[str], list[str]]:
    """Read a JSONL file; a bad line is an error naming the file and the line."""
    if not path.is_file():
        raise DataFileError(path, None, "file not found")
    texts, labels = [], []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFileError(path, f"line {number}", f"not JSON ({exc.msg})") from None
            if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not isinstance(item.get("label"), str):
                raise DataFileError(path, f"line {number}", 'expected {"text": "...", "label": "..."}')
            texts.append(item["text"])
            labels.append(item["label"])
    if len(set(labels)) < 2:
        raise DataFileError(path, None, "needs at least two labels")
    return texts, labels


def from_intents(intents: list[Intent]) -> tuple[list[str], list[str]]:
    """Every example of every intent, and every question of its answers (they are ways customers ask it too)."""
    texts = [text for intent in intents for text in training_texts(intent)]
    labels = [intent.intent for intent in intents for _ in training_texts(intent)]
    return texts, labels


def training_texts(intent: Intent) -> list[str]:
    """An intent's examples, then its answers' questions that are not already examples."""
    texts = list(intent.examples)
    seen = set(texts)
    for question in (q for a in intent.answers for q in a.questions):
        if question not in seen:
            seen.add(question)
            texts.append(question)
    return texts
