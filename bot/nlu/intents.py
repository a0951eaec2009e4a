"""Intent data: load and validate intents/<intent>.yml files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.errors import DataFileError
from bot.nlu.normalise import normalise

FALLBACK = "fallback"
FALLBACK_NAME = "未识别"  # what staff see for fallback, which has no file of its own
MAX_DISPLAY_NAME = 20
MIN_EXAMPLES = 5
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Intent:
    """One thing customers ask, with the examples that teach the classifier to recognise it."""

    intent: str
    description: str
    marketing: bool
    examples: tuple[str, ...]
    path: str = ""
    enabled: bool = True  # a disabled intent keeps its file but is not trained, linted or given templates
    display_name: str = ""  # what staff and admins see, e.g. 退订; the id stays in code and files

    @property
    def name(self) -> str:
        """The display name, else the id (an intent file without one)."""
        return self.display_name or self.intent


def load_intents(directory: Path) -> list[Intent]:
    """Load every intents/*.yml file, sorted by id; raise DataFileError on the first problem.

    Every file is checked, but only enabled intents are returned: a disabled one (`enabled: false`)
    is neither trained, evaluated nor linted, and its examples may repeat those of other intents.
    """
    if not directory.is_dir():
        raise DataFileError(directory, None, "intents folder not found")
    intents = [intent for path in sorted(directory.glob("*.yml")) if (intent := load_intent(path)).enabled]
    if len(intents) < 2:
        raise DataFileError(directory, None, "need at least two enabled intents to classify")
    check_duplicates(directory, intents)
    return intents


def load_intent(path: Path) -> Intent:
    """Load one intent file, checking its schema."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        raise DataFileError(path, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise DataFileError(path, None, "expected a mapping with intent, description, marketing, examples")
    unknown = set(data) - {"intent", "display_name", "description", "marketing", "enabled", "examples"}
    if unknown:
        raise DataFileError(path, ", ".join(sorted(unknown)), "unknown key")
    intent_id = data.get("intent")
    if intent_id != path.stem:
        raise DataFileError(path, "intent", f"must equal the file name {path.stem!r}, got {intent_id!r}")
    if not _ID.match(intent_id) or intent_id == FALLBACK:
        raise DataFileError(path, "intent", f"{intent_id!r} is not allowed (lower-case id, not 'fallback')")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise DataFileError(path, "description", "must be a non-empty text")
    display_name = data.get("display_name", "")
    if not isinstance(display_name, str) or (("display_name" in data) and not display_name.strip()):
        raise DataFileError(path, "display_name", "must be a non-empty text (the intent's Chinese name, e.g. 退订)")
    if len(display_name.strip()) > MAX_DISPLAY_NAME or "\n" in display_name.strip():
        raise DataFileError(path, "display_name", f"must be one line of at most {MAX_DISPLAY_NAME} characters")
    marketing = data.get("marketing", False)
    if not isinstance(marketing, bool):
        raise DataFileError(path, "marketing", "must be true or false")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise DataFileError(path, "enabled", "must be true or false")
    examples = data.get("examples")
    if not isinstance(examples, list):
        raise DataFileError(path, "examples", "must be a list of texts")
    cleaned = []
    for index, example in enumerate(examples, start=1):
        if not isinstance(example, (str, int, float)) or not str(example).strip():
            raise DataFileError(path, f"examples[{index}]", "must be a non-empty text")
        cleaned.append(str(example).strip())
    if enabled and len(cleaned) < MIN_EXAMPLES:
        raise DataFileError(path, "examples", f"needs at least {MIN_EXAMPLES} examples, has {len(cleaned)}")
    return Intent(intent_id, description.strip(), marketing, tuple(cleaned), str(path), enabled, display_name.strip())


def check_duplicates(directory: Path, intents: list[Intent]) -> None:
    """Refuse an example that stands (after normalisation) in two intents, naming both places."""
    seen: dict[str, tuple[str, str]] = {}
    for intent in intents:
        for example in intent.examples:
            key = normalise(example)
            first = seen.get(key)
            if first and first[0] != intent.intent:
                raise DataFileError(
                    directory / f"{intent.intent}.yml",
                    f"example {example!r}",
                    f"also in {first[0]}.yml as {first[1]!r}",
                )
            seen.setdefault(key, (intent.intent, example))
