"""Customer words quoted in a configuration: intent examples and answer questions equal to a customer's message.

Admins teach the classifier with real messages (the learning inbox adds them as examples), so a
customer's words can live on in the configuration draft and in published versions. Deleting the
customer removes those items. Each file stays valid YAML and keeps its layout: the quoted lines are
dropped where the file is a block list (as shipped and as the console writes it) and a one-line flow
list is written again without the item; when the result would not read back as the same data
minus the removed items, the file is written again as plain YAML.

>>> text = 'intent: a\\nexamples:\\n  - "我的订单到哪了"\\n  - "订单 20261122001 到哪了"\\n'
>>> print(remove_quotes(text, {"订单 20261122001 到哪了"}).text, end="")
intent: a
examples:
  - "我的订单到哪了"
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from bot.nlu.normalise import normalise

_ITEM = re.compile(r"^(?P<indent>\s*)-\s+(?P<value>.+?)\s*$")  # a block list item on one line
_FLOW = re.compile(r"^(?P<head>\s*(?:-\s+)?questions:\s*)(?P<value>\[.*\])\s*$")  # questions: [..] on one line


@dataclass(frozen=True)
class Scrubbed:
    """A file with the customer's words removed: the new text and how many items went."""

    text: str
    removed: int


def quoted_keys(texts: Iterable[str]) -> set[str]:
    """The normalised forms of a customer's messages, split into lines (a draft joins several)."""
    return {key for text in texts for line in text.splitlines() if (key := normalise(line))}


def _matches(value: Any, keys: set[str]) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and normalise(str(value)) in keys


def _without(data: Any, keys: set[str]) -> tuple[Any, int]:
    """The intent data without the examples and answer questions that quote the customer."""
    if not isinstance(data, dict):
        return data, 0
    removed = 0
    result = dict(data)
    if isinstance(data.get("examples"), list):
        result["examples"] = [e for e in data["examples"] if not _matches(e, keys)]
        removed += len(data["examples"]) - len(result["examples"])
    if isinstance(data.get("answers"), list):
        answers = []
        for answer in data["answers"]:
            if isinstance(answer, dict) and isinstance(answer.get("questions"), list):
                kept = [q for q in answer["questions"] if not _matches(q, keys)]
                removed += len(answer["questions"]) - len(kept)
                answer = {**answer, "questions": kept}
            answers.append(answer)
        result["answers"] = answers
    return result, removed


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _edit_lines(text: str, keys: set[str]) -> str:
    """Drop block list items that quote the customer; write one-line question lists again without them."""
    lines = []
    for line in text.splitlines(keepends=True):
        flow = _FLOW.match(line.rstrip("\r\n"))
        if flow:
            values = _scalar(flow["value"])
            if isinstance(values, list) and any(_matches(v, keys) for v in values):
                kept = [v for v in values if not _matches(v, keys)]
                line = flow["head"] + json.dumps(kept, ensure_ascii=False) + "\n"
            lines.append(line)
            continue
        item = _ITEM.match(line.rstrip("\r\n"))
        if item and not item["value"].lstrip().startswith(("-", "[", "{")) and ":" not in _plain_key(item["value"]):
            if _matches(_scalar(item["value"]), keys):
                continue
        lines.append(line)
    return "".join(lines)


def _plain_key(value: str) -> str:
    """The part of an item that could make it a mapping (`- id: x`): empty for a quoted scalar."""
    return "" if value.startswith(('"', "'")) else value


def remove_quotes(text: str, keys: set[str]) -> Scrubbed:
    """`text` (an intent file) without the examples and questions whose normalised form is in `keys`."""
    data = _scalar(text)
    expected, removed = _without(data, keys)
    if removed == 0:
        return Scrubbed(text, 0)
    edited = _edit_lines(text, keys)
    if _scalar(edited) == expected:
        return Scrubbed(edited, removed)
    return Scrubbed(yaml.safe_dump(expected, allow_unicode=True, sort_keys=False, width=1_000_000), removed)


def scrub_files(files: dict[str, str], keys: set[str]) -> tuple[dict[str, str], int]:
    """Every intent file of a configuration (path -> text) without the customer's words; how many items went."""
    if not keys:
        return files, 0
    result, removed = dict(files), 0
    for path, text in files.items():
        if path.startswith("intents/") and path.endswith((".yml", ".yaml")) and isinstance(text, str):
            scrubbed = remove_quotes(text, keys)
            if scrubbed.removed:
                result[path] = scrubbed.text
                removed += scrubbed.removed
    return result, removed
