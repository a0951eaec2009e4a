"""Intent files of a draft configuration as the console edits them: read leniently, written as shipped.

Reading is lenient where the service's loader is strict (any number of examples, so a new intent
can be built up), and refuses only what cannot be edited safely; an unreadable file is listed in
`IntentSet.broken` rather than hiding the others. Files are written the way the shipped ones read:
the header through `yaml.safe_dump`, the examples as a block list of double-quoted strings with
only what YAML requires escaped (so emoji and Chinese stay as they are), so a saved draft diffs
cleanly against what it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from pydantic import ValidationError

from bot.services.configuration import ConfigFiles
from bot.console.config_paths import intent_files, intent_path
from bot.errors import Refused, schema_error
from bot.nlu.intents import MIN_EXAMPLES, Answer, IntentFile
from bot.persona.lint import NO_SELLING, RECOMMENDED_EXAMPLES, few_examples
from bot.services.drafting import OPT_OUT_INTENT, URGENT_INTENTS

# Why an intent's name matters to the service itself (renaming it would silently switch that off).
SPECIAL = {
    OPT_OUT_INTENT: "客户说退订时，系统据此自动登记退订，之后不再向他推送营销内容",
    **{i: "系统据此把草稿标为紧急，超时未处理会提醒管理员；话术必须道歉" for i in URGENT_INTENTS},
    **{i: "话术检查据此禁止在回复里推销" for i in NO_SELLING if i not in URGENT_INTENTS and i != OPT_OUT_INTENT},
}
# What a field that does not fit the schema should hold, in the admins' words.
FIELD_PROBLEMS = {
    "examples": "应为文字列表",
    "marketing": "只能是 true 或 false",
    "enabled": "只能是 true 或 false",
    "display_name": "应为一行文字（中文名称，最多 20 个字）",
    "description": "应为一段文字",
}
# Intents that may not be switched off: opt-outs must always be recognised and honoured.
ALWAYS_ON = (OPT_OUT_INTENT,)


class EditRefused(Refused):
    """An edit that was not made. `field` is the form field the problems belong next to;
    `kind` is "invalid" (bad input), "conflict" (clashes with what is there) or "missing"."""

    def __init__(self, problems: list[str] | str, *, field: str = "", kind: str = "invalid") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.field = field
        self.kind = kind
        super().__init__("；".join(self.problems))


@dataclass(frozen=True)
class IntentDoc:
    """One intent file as the console edits it (tolerant: a new intent may have no examples yet)."""

    intent: str
    description: str
    marketing: bool
    enabled: bool
    examples: tuple[str, ...]
    display_name: str = ""  # the Chinese name staff see; the id stays in files and code
    answers: tuple[Answer, ...] = ()  # brand facts (bot.console.answer_editing edits them)

    @property
    def name(self) -> str:
        """The display name, else the id."""
        return self.display_name or self.intent

    @property
    def path(self) -> str:
        return intent_path(self.intent)

    @property
    def special(self) -> str:
        """Why the service relies on this intent's name ('' for an ordinary intent)."""
        return SPECIAL.get(self.intent, "")

    @property
    def always_on(self) -> bool:
        """May not be disabled or deleted (see ALWAYS_ON)."""
        return self.intent in ALWAYS_ON

    def warnings(self) -> list[str]:
        """What keeps this intent from being published or working well, in plain words."""
        count = len(self.examples)
        if not self.enabled:
            return []
        if count < MIN_EXAMPLES:
            return [f"只有 {count} 条例句，至少要 {MIN_EXAMPLES} 条才能发布。请再添加 {MIN_EXAMPLES - count} 条，或先停用这个意图。"]
        if count < RECOMMENDED_EXAMPLES:
            return [few_examples(count)]
        return []


@dataclass(frozen=True)
class IntentSet:
    """Every intent file of a configuration: the readable ones, and the paths that could not be read."""

    docs: dict[str, IntentDoc]
    broken: dict[str, str]  # path -> what is wrong

    def get(self, intent: str) -> IntentDoc:
        doc = self.docs.get(intent)
        if doc is None:
            raise EditRefused(f"没有意图 {intent}。", kind="missing")
        return doc

    def enabled(self) -> list[str]:
        return [i for i, doc in self.docs.items() if doc.enabled]


def read_intents(files: ConfigFiles) -> IntentSet:
    """Every intents/*.yml of the files; one that cannot be read is in `broken`, not fatal."""
    docs: dict[str, IntentDoc] = {}
    broken: dict[str, str] = {}
    for intent in intent_files(files):
        try:
            doc = parse_intent(intent, files.files[intent_path(intent)])
        except EditRefused as exc:
            broken[intent_path(intent)] = exc.problems[0]
        else:
            docs[doc.intent] = doc
    return IntentSet(docs, broken)


def parse_intent(intent: str, text: str) -> IntentDoc:
    """Read one intent file with the service's schema (`IntentFile`), leniently: any number of examples."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EditRefused(f"不是有效的 YAML：{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise EditRefused("内容应为包含 intent、description、examples 的映射")
    if data.get("intent") != intent:
        raise EditRefused(f"intent 应与文件名 {intent} 相同")
    try:
        parsed = IntentFile.model_validate(data, context={"drafting": True})
    except ValidationError as exc:
        problem = schema_error(intent_path(intent), exc)
        raise EditRefused(f"{problem.item or '文件'}：{FIELD_PROBLEMS.get(problem.item or '', problem.problem)}") from None
    return IntentDoc(intent=intent, description=parsed.description, marketing=parsed.marketing, enabled=parsed.enabled,
                     examples=tuple(s for e in parsed.examples if (s := str(e).strip())), display_name=parsed.display_name,
                     answers=tuple(a.to_answer() for a in parsed.answers))


def dump_intent(doc: IntentDoc) -> str:
    """The file text: a readable header, then one double-quoted example per line (as shipped)."""
    header = {"intent": doc.intent, **({"display_name": doc.display_name} if doc.display_name else {}),
              "description": doc.description, "marketing": doc.marketing}
    if not doc.enabled:
        header["enabled"] = False
    text = yaml.safe_dump(header, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False)
    if not doc.examples:
        return text + "examples: []\n" + _dump_answers(doc.answers)
    return text + "examples:\n" + "".join(f"  - {_double_quoted(e)}\n" for e in doc.examples) + _dump_answers(doc.answers)


def _dump_answers(answers: tuple[Answer, ...]) -> str:
    """The `answers:` block as shipped: id, questions on one line, the answer double-quoted."""
    if not answers:
        return ""
    return "answers:\n" + "".join(
        f"  - id: {a.id}\n    questions: [{', '.join(_double_quoted(q) for q in a.questions)}]\n    answer: {_double_quoted(a.answer)}\n"
        for a in answers
    )


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\0"}


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar escaping only backslash, quote and characters YAML may not carry."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or 0xD800 <= code <= 0xDFFF or code in (0xFEFF, 0xFFFE, 0xFFFF, 0x2028, 0x2029):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'

