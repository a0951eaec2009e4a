"""Intent data: load and validate intents/<intent>.yml files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.errors import DataFileError, schema_error
from bot.nlu.normalise import normalise

FALLBACK = "fallback"
FALLBACK_NAME = "未识别"  # what staff see for fallback, which has no file of its own
MAX_DISPLAY_NAME = 20
MIN_EXAMPLES = 5
MIN_QUESTIONS = 2  # ways customers ask an answer's question
MAX_ANSWER_CHARS = 120  # an answer is one fact the template says whole, within every persona's length limit
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Answer:
    """A brand fact under an intent: the ways customers ask for it and the persona-neutral answer."""

    id: str
    questions: tuple[str, ...]
    answer: str


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
    answers: tuple[Answer, ...] = ()  # brand facts matched within this intent (bot.nlu.answers)

    @property
    def name(self) -> str:
        """The display name, else the id (an intent file without one)."""
        return self.display_name or self.intent


class AnswerFile(BaseModel):
    """One item of an intent file's `answers:` list: an id, the ways customers ask, the fact."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    questions: list[str | int | float]
    answer: str

    @field_validator("id")
    @classmethod
    def _answer_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not a lower-case id (letters, digits, _)")
        return value

    @field_validator("questions")
    @classmethod
    def _questions(cls, values: list[str | int | float]) -> list[str | int | float]:
        for index, question in enumerate(values, start=1):
            if not str(question).strip() or isinstance(question, bool):
                raise ValueError(f"questions[{index}] must be a non-empty text")
        if len(values) < MIN_QUESTIONS:
            raise ValueError(f"needs at least {MIN_QUESTIONS} questions, has {len(values)}")
        return values

    @field_validator("answer")
    @classmethod
    def _answer(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a non-empty text")
        return " ".join(value.split())

    def to_answer(self) -> Answer:
        return Answer(self.id, tuple(str(q).strip() for q in self.questions), self.answer)


def _drafting(info: ValidationInfo) -> bool:
    """Validating a file being edited in the console: an intent may be built up (few examples, no description yet)."""
    return bool(info.context and info.context.get("drafting"))


class IntentFile(BaseModel):
    """The schema of intents/<intent>.yml: the one model the loader, the console, the linter and import use.

    `IntentFile.model_validate(data, context={"drafting": True})` is the console's reading of a file
    being edited: the same keys and types, but any number of examples and an empty description.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    intent: str
    description: str
    display_name: str = ""
    marketing: bool = False
    enabled: bool = True
    examples: list[str | int | float]
    answers: list[AnswerFile] = []

    @field_validator("intent")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value) or value == FALLBACK:
            raise ValueError(f"{value!r} is not allowed (lower-case id, not 'fallback')")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip() and not _drafting(info):
            raise ValueError("must be a non-empty text")
        return value.strip()

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a non-empty text (the intent's Chinese name, e.g. 退订)")
        if len(value.strip()) > MAX_DISPLAY_NAME or "\n" in value.strip():
            raise ValueError(f"must be one line of at most {MAX_DISPLAY_NAME} characters")
        return value.strip()

    @field_validator("examples")
    @classmethod
    def _examples(cls, values: list[str | int | float]) -> list[str | int | float]:
        for index, example in enumerate(values, start=1):
            if not str(example).strip() or isinstance(example, bool):
                raise ValueError(f"examples[{index}] must be a non-empty text")
        return values

    @model_validator(mode="after")
    def _enough_examples(self, info: ValidationInfo) -> "IntentFile":
        if self.enabled and len(self.examples) < MIN_EXAMPLES and not _drafting(info):
            raise ValueError(f"examples: needs at least {MIN_EXAMPLES} examples, has {len(self.examples)}")
        return self

    def to_intent(self, path: str) -> Intent:
        return Intent(self.intent, self.description, self.marketing, tuple(str(e).strip() for e in self.examples),
                      path, self.enabled, self.display_name, tuple(a.to_answer() for a in self.answers))


def load_intents(directory: Path) -> list[Intent]:
    """Load every intents/*.yml file of a folder (see `intents_from`)."""
    if not directory.is_dir():
        raise DataFileError(directory, None, "intents folder not found")
    return intents_from({str(path): path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.yml"))},
                        where=str(directory))


def intents_from(files: Mapping[str, str], *, where: str = "intents") -> list[Intent]:
    """Parse intent files (path -> YAML text, the file name gives the id), sorted by id; raise DataFileError on the first problem.

    Every file is checked, but only enabled intents are returned: a disabled one (`enabled: false`)
    is neither trained, evaluated nor linted, and its examples may repeat those of other intents.
    """
    parsed = [parse_intent(path, text) for path, text in sorted(files.items(), key=lambda item: PurePosixPath(item[0]).stem)]
    intents = [intent for intent in parsed if intent.enabled]
    if len(intents) < 2:
        raise DataFileError(where, None, "need at least two enabled intents to classify")
    check_duplicates(where, intents)
    return intents


def load_intent(path: Path) -> Intent:
    """Load one intent file, checking its schema."""
    return parse_intent(str(path), path.read_text(encoding="utf-8"))


def parse_intent(path: str, text: str) -> Intent:
    """One intent file's text, checked against `IntentFile`; errors name the file and the item."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        raise DataFileError(path, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise DataFileError(path, None, "expected a mapping with intent, description, marketing, examples")
    stem = PurePosixPath(path).stem
    if data.get("intent") != stem:
        raise DataFileError(path, "intent", f"must equal the file name {stem!r}, got {data.get('intent')!r}")
    try:
        return IntentFile.model_validate(data).to_intent(path)
    except ValidationError as exc:
        raise schema_error(path, exc) from None


def check_duplicates(where: str, intents: list[Intent]) -> None:
    """Refuse an example that stands (after normalisation) in two intents, naming both places."""
    seen: dict[str, tuple[str, str]] = {}
    for intent in intents:
        for example in intent.examples:
            key = normalise(example)
            first = seen.get(key)
            if first and first[0] != intent.intent:
                raise DataFileError(
                    intent.path or f"{where}/{intent.intent}.yml",
                    f"example {example!r}",
                    f"also in {first[0]}.yml as {first[1]!r}",
                )
            seen.setdefault(key, (intent.intent, example))
