"""Editing persona styles in the console: persona.yml fields, templates, and live previews of drafts.

Everything here works on the draft configuration's files (`ConfigFiles`), never on the live
pipeline: a preview materialises the draft's persona_styles with the edited template substituted
and renders it with the real `Renderer` and linter, in a child process with hard limits
(`template_sandbox`), because a template typed in a browser is untrusted code.

Persona fields are validated by `load_persona` itself (the same code that loads a published
version), and its `DataFileError` is mapped back to the form field it names, in Chinese.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.config_store import INTENTS, PERSONAS, ConfigFiles
from bot.console import template_sandbox
from bot.db.models import Draft
from bot.errors import DataFileError
from bot.nlu.entities import Catalog, extract_entities
from bot.nlu.intents import FALLBACK
from bot.persona.lint import SAMPLE_CONTEXTS
from bot.persona.styles import ARCHETYPES, DEFAULT, Persona, load_persona, load_personas

ARCHETYPE_LABELS = {"knowledge_expert": "知识专家", "enthusiast": "种草达人", "advisor": "专属顾问", "deals_officer": "福利官 / 购物参谋"}
assert set(ARCHETYPE_LABELS) == set(ARCHETYPES)
TEXT_FIELDS = ("display_name", "promise", "character", "voice", "sign_off")
FIELDS = (*TEXT_FIELDS, "archetype", "address", "emoji", "max_chars", "extends", "kf_accounts", "staff")
MAX_FIELD_CHARS = 500
MAX_TEMPLATE_CHARS = 20_000
PREVIEW_MESSAGES = 5
SAMPLE_NAME = "王女士"  # the first sample message carries a name, so the preview shows how a template greets


# ----- reading the draft's persona files -----------------------------------------------------------


def persona_yml(name: str) -> str:
    return f"{PERSONAS}/{name}/persona.yml"


def template_path(persona: str, intent: str) -> str:
    return f"{PERSONAS}/{persona}/templates/{intent}.j2"


def persona_names(files: ConfigFiles) -> list[str]:
    """Every folder of persona_styles/ that has a persona.yml."""
    return sorted(p.split("/")[1] for p in files.files if p.startswith(f"{PERSONAS}/") and p.count("/") == 2
                  and p.endswith("/persona.yml"))


def _intent_files(files: ConfigFiles) -> list[str]:
    return sorted(p[len(INTENTS) + 1:-4] for p in files.files if p.startswith(f"{INTENTS}/") and p.endswith(".yml")
                  and p.count("/") == 1)


def _intent_data(files: ConfigFiles, intent: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(files.files.get(f"{INTENTS}/{intent}.yml", "")) or {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def disabled_intents(files: ConfigFiles) -> list[str]:
    """Intents switched off (`enabled: false`): not classified, so no persona needs their template."""
    return [name for name in _intent_files(files) if _intent_data(files, name).get("enabled", True) is False]


def intent_names(files: ConfigFiles, *, include_disabled: bool = False) -> list[str]:
    """The intents of the draft (one file each), then fallback: the templates a persona can have."""
    off = set() if include_disabled else set(disabled_intents(files))
    return [*(name for name in _intent_files(files) if name not in off), FALLBACK]


def _raw(files: ConfigFiles, name: str) -> dict[str, Any]:
    """persona.yml as written (tolerant: a broken file reads as empty), for forms and inheritance."""
    try:
        data = yaml.safe_load(files.files.get(persona_yml(name), "")) or {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _check(name: str, text: str) -> Persona:
    """Load one persona.yml text with the real loader (it needs the folder to carry the persona's name)."""
    with tempfile.TemporaryDirectory(prefix="draftbot-persona-") as folder:
        path = Path(folder) / name / "persona.yml"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        try:
            persona = load_persona(path)
        except DataFileError as exc:
            raise DataFileError(persona_yml(name), exc.item, exc.problem) from None
    return dataclasses.replace(persona, directory=Path(persona_yml(name)).parent)


@dataclass(frozen=True)
class PersonaInfo:
    """One persona as the list and the form show it; `error` when its persona.yml does not load."""

    name: str
    display_name: str
    archetype: str = ""
    promise: str = ""
    character: str = ""
    voice: str = ""
    address: str = "您"
    emoji: bool = False
    max_chars: int = 300
    sign_off: str = ""
    extends: str | None = None
    kf_accounts: tuple[str, ...] = ()
    staff: tuple[str, ...] = ()
    own_templates: tuple[str, ...] = ()
    error: str | None = None

    @property
    def archetype_label(self) -> str:
        return ARCHETYPE_LABELS.get(self.archetype, self.archetype)


def persona_info(files: ConfigFiles, name: str) -> PersonaInfo:
    prefix = f"{PERSONAS}/{name}/templates/"
    own = tuple(sorted(p[len(prefix):-3] for p in files.files if p.startswith(prefix) and p.endswith(".j2") and p.count("/") == 3))
    try:
        persona = _check(name, files.files[persona_yml(name)])
    except DataFileError as exc:
        raw = _raw(files, name)
        return PersonaInfo(name=name, display_name=str(raw.get("display_name") or name), own_templates=own,
                           error=f"{exc.item + ': ' if exc.item else ''}{exc.problem}")
    return PersonaInfo(
        name=name, display_name=persona.display_name, archetype=persona.archetype, promise=persona.promise,
        character=persona.character, voice=persona.voice, address=persona.address, emoji=persona.emoji,
        max_chars=persona.max_chars, sign_off=persona.sign_off, extends=persona.extends,
        kf_accounts=persona.kf_accounts, staff=persona.staff, own_templates=own,
    )


def personas(files: ConfigFiles) -> list[PersonaInfo]:
    return [persona_info(files, name) for name in persona_names(files)]


def chain(files: ConfigFiles, name: str) -> list[str]:
    """The persona, the one it extends, ..., as the renderer looks templates up (stops at a loop)."""
    names = [name]
    while True:
        raw = _raw(files, names[-1])
        parent = raw.get("extends", None if names[-1] == DEFAULT else DEFAULT)
        if not isinstance(parent, str) or parent in names or persona_yml(parent) not in files.files:
            return names
        names.append(parent)


# ----- persona fields --------------------------------------------------------------------------------


class FieldErrors(Exception):
    """The form's problems: field name (or '' for the whole form) -> a Chinese message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def form_values(files: ConfigFiles, name: str) -> dict[str, str]:
    """The form's values from persona.yml as written (so a broken file can still be repaired)."""
    raw = _raw(files, name)
    binds = raw.get("binds") if isinstance(raw.get("binds"), dict) else {}

    def text(value: object) -> str:
        return "" if value is None else str(value)

    def ids(value: object) -> str:
        return "\n".join(str(v) for v in value) if isinstance(value, list) else text(value)

    values = {key: text(raw.get(key)) for key in TEXT_FIELDS}
    values.update(
        archetype=text(raw.get("archetype")), address=text(raw.get("address", "您")),
        emoji="on" if raw.get("emoji") is True else "", max_chars=text(raw.get("max_chars", 300)),
        extends=text(raw.get("extends")) if name != DEFAULT and raw.get("extends") not in (None, DEFAULT) else "",
        kf_accounts=ids(binds.get("kf_accounts")), staff=ids(binds.get("staff")),
    )
    return values


_SEPARATORS = re.compile(r"[\s,，、;；]+")

_FIELD_MESSAGES = {
    "display_name": "请填写名称：客户看到的署名，例如“专属顾问 林舟”。",
    "archetype": "请选择列表中的一种人设类型。",
    "address": "称呼只能是“您”或“你”。",
    "emoji": "请选择是否使用表情。",
    "max_chars": "请填写不小于 20 的整数。",
    "binds.kf_accounts": "请填写客服账号 ID，每行一个或用逗号分隔。",
    "binds.staff": "请填写员工的企业微信账号，每行一个或用逗号分隔。",
}
_ITEM_FIELDS = {"binds.kf_accounts": "kf_accounts", "binds.staff": "staff", "binds": "kf_accounts"}


def apply_form(files: ConfigFiles, name: str, values: Mapping[str, str]) -> ConfigFiles:
    """The draft's files with persona.yml rewritten from the form; raises FieldErrors (nothing changes then).

    The new text is checked by `load_persona`, then the whole persona_styles folder by `load_personas`
    (bindings used twice, unknown or circular `extends`). When the persona means the same as before,
    the file is left byte for byte as it was.
    """
    if persona_yml(name) not in files.files:
        raise FieldErrors({"": f"没有人设 {name}。"})
    errors: dict[str, str] = {}
    clean = {key: str(values.get(key) or "").replace("\r\n", "\n").strip() for key in FIELDS}
    for key in (*TEXT_FIELDS, "extends"):
        if len(clean[key]) > MAX_FIELD_CHARS:
            errors[key] = f"最多 {MAX_FIELD_CHARS} 个字。"
    max_chars: object = clean["max_chars"]
    if re.fullmatch(r"\d{1,6}", clean["max_chars"]):
        max_chars = int(clean["max_chars"])
    else:
        errors["max_chars"] = _FIELD_MESSAGES["max_chars"]
    if errors:
        raise FieldErrors(errors)
    kf_accounts = list(dict.fromkeys(v for v in _SEPARATORS.split(clean["kf_accounts"]) if v))
    staff = list(dict.fromkeys(v for v in _SEPARATORS.split(clean["staff"]) if v))
    data: dict[str, Any] = {"persona": name, "display_name": clean["display_name"], "archetype": clean["archetype"],
                            "promise": clean["promise"], "character": clean["character"], "voice": clean["voice"],
                            "address": clean["address"], "emoji": clean["emoji"] in ("on", "true", "1", "yes"),
                            "max_chars": max_chars, "sign_off": clean["sign_off"]}
    if clean["extends"] and name != DEFAULT:
        data["extends"] = clean["extends"]
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    text += "binds: " + yaml.safe_dump({"kf_accounts": kf_accounts, "staff": staff}, allow_unicode=True,
                                       default_flow_style=True, width=1000)
    try:
        edited = _check(name, text)
    except DataFileError as exc:
        item = exc.item or ""
        where = _ITEM_FIELDS.get(item, item if item in FIELDS else "")
        raise FieldErrors({where: _FIELD_MESSAGES.get(item, f"persona.yml 无法保存：{exc.problem}")}) from None
    try:
        unchanged = _check(name, files.files[persona_yml(name)]) == edited
    except DataFileError:
        unchanged = False
    if unchanged:
        return files
    changed = ConfigFiles({**files.files, persona_yml(name): text})
    problem = _book_problem(changed)
    if problem is not None and str(problem) != str(_book_problem(files)):  # only problems this edit brings
        raise FieldErrors(_link_error(name, problem))
    return changed


def _book_problem(files: ConfigFiles) -> DataFileError | None:
    """Why the draft's personas do not load together (bindings, extends), or None."""
    subset = ConfigFiles({p: t for p, t in files.files.items() if p.startswith(f"{PERSONAS}/")})
    with subset.materialise() as folder:
        try:
            load_personas(folder.personas_dir)
        except DataFileError as exc:
            where = Path(exc.path)
            owner = where.parent.name if where.name == "persona.yml" else ""
            return DataFileError(persona_yml(owner) if owner else PERSONAS, exc.item, exc.problem)
    return None


def _link_error(name: str, problem: DataFileError) -> dict[str, str]:
    """A problem across personas, as the field of `name` that caused it."""
    owner = Path(problem.path).parent.name
    bound = re.fullmatch(r"'(.+)' is already bound to '(.+)'", problem.problem)
    if bound and problem.item in _ITEM_FIELDS:
        other = bound.group(2) if owner == name else owner
        return {_ITEM_FIELDS[problem.item]: f"{bound.group(1)} 已绑定到人设 {other}：一个账号只能对应一个人设。"}
    if problem.item == "extends":
        unknown = re.fullmatch(r"unknown persona '(.+)'", problem.problem)
        return {"extends": f"没有人设 {unknown.group(1)}。" if unknown else "人设之间不能循环继承（A 继承 B，B 又继承 A）。"}
    return {"": f"{problem.path}: {problem.item or ''} {problem.problem}".strip()}


# ----- templates --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateSource:
    """The text the editor starts from: the persona's own template, else the one it inherits."""

    persona: str
    intent: str
    text: str
    own: bool
    used: str | None  # the file the renderer uses today (relative to the configuration)

    @property
    def inherited_from(self) -> str | None:
        return None if self.own or not self.used else self.used.split("/")[1]

    @property
    def falls_back(self) -> bool:
        """No template for the intent along the chain: the renderer uses fallback.j2."""
        return bool(self.used) and self.intent != FALLBACK and self.used.endswith(f"/{FALLBACK}.j2")


def template_source(files: ConfigFiles, persona: str, intent: str) -> TemplateSource:
    for name in (intent, FALLBACK):
        for owner in chain(files, persona):
            path = template_path(owner, name)
            if path in files.files:
                return TemplateSource(persona, intent, files.files[path], own=owner == persona and name == intent, used=path)
    return TemplateSource(persona, intent, "", own=False, used=None)


def inheritors(files: ConfigFiles, persona: str, intent: str) -> list[str]:
    """Other personas that use this persona's template for the intent (they have none of their own)."""
    path = template_path(persona, intent)
    return [name for name in persona_names(files)
            if name != persona and template_source(files, name, intent).used == path]


def with_template(files: ConfigFiles, persona: str, intent: str, text: str) -> ConfigFiles:
    return ConfigFiles({**files.files, template_path(persona, intent): normalise_source(text)})


def normalise_source(text: str) -> str:
    """Browsers send CRLF from a textarea; files use LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ----- messages to preview with -------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A customer message the preview renders a draft for: a real one from the drafts, or a sample."""

    message: str
    customer_name: str = ""
    entities: Mapping[str, str] = field(default_factory=dict)
    real: bool = False
    draft_id: int | None = None
    at: datetime | None = None

    def context(self) -> dict[str, str]:
        """What the pipeline passes to the renderer (see bot.pipeline.Pipeline.plan)."""
        return {"customer_name": self.customer_name, "message": self.message, **self.entities}


def latest_messages(session: Session, intent: str, limit: int = PREVIEW_MESSAGES) -> list[Example]:
    """The newest drafted messages of the intent (staff's correction of the intent wins)."""
    rows = session.scalars(
        select(Draft)
        .where(or_(Draft.corrected_intent == intent, and_(Draft.intent == intent, Draft.corrected_intent.is_(None))),
               Draft.message_text != "")
        .order_by(Draft.created_at.desc(), Draft.id.desc())
        .limit(limit)
    )
    return [Example(message=d.message_text, customer_name=d.customer_name or "",
                    entities={str(k): str(v) for k, v in (d.entities or {}).items()}, real=True, draft_id=d.id,
                    at=d.created_at) for d in rows]


def sample_messages(files: ConfigFiles, intent: str, catalog: Catalog = Catalog(), limit: int = PREVIEW_MESSAGES) -> list[Example]:
    """The intent's first examples with their entities; the linter's samples for fallback or an unreadable file."""
    examples = _intent_data(files, intent).get("examples")
    texts = [str(e).strip() for e in examples if str(e).strip()][:limit] if isinstance(examples, list) else []
    if not texts:
        return [Example(message=str(c.get("message", "")), customer_name=str(c.get("customer_name", "")),
                        entities={k: str(v) for k, v in c.items() if k not in ("message", "customer_name")})
                for c in SAMPLE_CONTEXTS]
    return [Example(message=text, customer_name=SAMPLE_NAME if index == 0 else "", entities=extract_entities(text, catalog))
            for index, text in enumerate(texts)]


def preview_messages(session: Session, files: ConfigFiles, intent: str, catalog: Catalog = Catalog()) -> list[Example]:
    """Real messages of the intent when there are any, else samples."""
    return latest_messages(session, intent) or sample_messages(files, intent, catalog)


# ----- previews ------------------------------------------------------------------------------------------

_ISSUE_LABELS = {
    "syntax": "语法错误", "undefined": "用到了没有的变量", "security": "安全限制：不允许的操作",
    "range": "循环次数过多", "timeout": "渲染超时，已停止", "memory": "占用内存过多，已停止",
    "recursion": "调用层次过深（可能无限递归）", "variations": "没有找到说法", "data": "人设文件有误",
    "sandbox": "预览失败", "error": "渲染时出错",
}
_ISSUE_HINTS = {
    "undefined": "可用的变量：customer_name、message、intent、persona.display_name、persona.sign_off、persona.promise、"
                 "persona.character；实体（order_no、phone、date、time、amount、product）要写在 {% if order_no is defined %} 里。",
    "security": "话术只能使用变量和简单的判断、循环，不能访问内部属性。",
    "variations": "每种说法写在 {% block v1 %}…{% endblock %}、{% block v2 %}…{% endblock %} 里。",
    "timeout": "每条话术最多渲染 1 秒；请检查循环。",
}


@dataclass(frozen=True)
class Issue:
    """A template that does not compile or render, with the file and line to look at."""

    kind: str
    message: str
    file: str | None = None
    line: int | None = None
    variation: str = ""
    here: bool = False  # in the template being edited (the file need not be named; the line points into the editor)

    @property
    def label(self) -> str:
        return _ISSUE_LABELS.get(self.kind, _ISSUE_LABELS["error"])

    @property
    def hint(self) -> str:
        return _ISSUE_HINTS.get(self.kind, "")

    @property
    def where(self) -> str:
        parts = [f"说法 {self.variation}" if self.variation else "", "" if self.here else self.file or "",
                 f"第 {self.line} 行" if self.line else ""]
        return " · ".join(p for p in parts if p)

    def __str__(self) -> str:
        return f"{self.label}（{self.where}）：{self.message}" if self.where else f"{self.label}：{self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "message": self.message, "file": self.file, "line": self.line,
                "variation": self.variation, "here": self.here, "text": str(self)}

    @classmethod
    def of(cls, data: Mapping[str, Any], variation: str = "", *, edited: str | None = None) -> "Issue":
        """From the sandbox's answer (files there are relative to persona_styles/)."""
        file = _in_config(data.get("file"))
        return cls(kind=str(data.get("kind") or "error"), message=str(data.get("message") or ""), file=file,
                   line=data.get("line"), variation=str(data.get("variation") or variation),
                   here=edited is not None and file == edited)


def _in_config(file: str | None) -> str | None:
    """A file named by the sandbox (relative to persona_styles/) as the configuration names it."""
    return f"{PERSONAS}/{file}" if file and "/" in file else file


_FINDINGS = (
    (re.compile(r"only (\d+) variation; .*"), "只有 {0} 种说法：至少写两种（v1、v2），客户才不会每次收到一样的话。"),
    (re.compile(r"uses (\w+) with no wording for when the customer gave none.*"),
     "用到了 {0}，但客户没提到 {0} 时没有备用说法：请写成 {{% if {0} is defined %}}…{{% else %}}…{{% endif %}}。"),
    (re.compile(r"(\d+) characters, over \S+ max_chars (\d+)"), "共 {0} 个字，超过了这个人设的字数上限 {1}。"),
    (re.compile(r"\S+ addresses customers as (您|你) but the draft says (您|你)"), "这个人设称呼客户为“{0}”，但话术里出现了“{1}”。"),
    (re.compile(r"\S+ uses no emoji but the draft has (.+)"), "这个人设不用表情，但话术里有 {0}。"),
    (re.compile(r"a (\w+) reply must not promote anything, but says (.+)"), "这类回复（{0}）不能推销，但出现了：{1}。"),
    (re.compile(r"a (\w+) reply must apologise.*"), "这类回复（{0}）必须先道歉（抱歉、对不起……）。"),
    (re.compile(r"a (\w+) reply should commit to a concrete next step.*"), "这类回复（{0}）最好给出具体的下一步和时间（今天内回电、30 分钟内……）。"),
)


@dataclass(frozen=True)
class Finding:
    """A linter finding for one persona x intent, in Chinese (the linter's own words when unknown)."""

    severity: str
    message: str
    variation: str = ""

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Finding":
        text = str(data.get("message", ""))
        for pattern, chinese in _FINDINGS:
            match = pattern.fullmatch(text)
            if match:
                text = chinese.format(*match.groups())
                break
        return cls(severity=str(data.get("severity", "error")), message=text, variation=str(data.get("variation") or ""))

    def as_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Cell:
    """One variation rendered for one message."""

    variation: str
    text: str | None
    chars: int
    over: bool
    issue: Issue | None = None


@dataclass(frozen=True)
class Preview:
    """A template rendered for messages: per message one cell per variation, failures and lint findings."""

    persona: str
    intent: str
    examples: list[Example]
    variations: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    error: Issue | None = None  # the template as a whole: does not compile, no variations, timed out
    broken: list[Issue] = field(default_factory=list)  # renders that failed (shown messages and the linter's samples)
    findings: list[Finding] = field(default_factory=list)
    max_chars: int = 0
    template: str | None = None

    @property
    def path(self) -> str:
        """The edited file (an issue's line number points into it when the issue names it)."""
        return template_path(self.persona, self.intent)

    @property
    def ok(self) -> bool:
        """The template renders everywhere (lint findings are shown but do not stop a save)."""
        return self.error is None and not self.broken

    @property
    def real(self) -> bool:
        return any(e.real for e in self.examples)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "error"]

    @property
    def issues(self) -> list[Issue]:
        return ([self.error] if self.error else []) + self.broken

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "persona": self.persona, "intent": self.intent, "template": self.template,
            "source": "real" if self.real else "sample", "variations": self.variations, "max_chars": self.max_chars,
            "error": self.error.as_json() if self.error else None,
            "broken": [b.as_json() for b in self.broken],
            "findings": [f.as_json() for f in self.findings],
            "messages": [
                {"message": e.message, "customer_name": e.customer_name, "entities": dict(e.entities), "real": e.real,
                 "draft_id": e.draft_id,
                 "renders": [{"variation": c.variation, "text": c.text, "chars": c.chars, "over": c.over,
                              "error": c.issue.as_json() if c.issue else None} for c in row]}
                for e, row in zip(self.examples, self.rows, strict=False)
            ],
        }


def _persona_styles(files: ConfigFiles) -> ConfigFiles:
    return ConfigFiles({p: t for p, t in files.files.items() if p.startswith(f"{PERSONAS}/")})


def _sandboxed(files: ConfigFiles, task: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    """Materialise the draft's persona_styles and run a task on it in the child process."""
    with _persona_styles(files).materialise() as folder:
        options = {} if timeout is None else {"timeout": timeout}
        return template_sandbox.run({**task, "personas_dir": str(folder.personas_dir)}, **options)


def preview(files: ConfigFiles, persona: str, intent: str, text: str, examples: list[Example], *,
            timeout: float | None = None) -> Preview:
    """Render `text` as persona's template for intent, in the draft's configuration, for each example.

    Never raises for a bad template: every failure is in `error` or `broken`.
    """
    empty = Preview(persona=persona, intent=intent, examples=examples)
    if not normalise_source(text).strip():
        return dataclasses.replace(empty, error=Issue("variations", "话术是空的。"))
    if len(text) > MAX_TEMPLATE_CHARS:
        return dataclasses.replace(empty, error=Issue("error", f"话术太长（{len(text)} 个字符，最多 {MAX_TEMPLATE_CHARS}）。"))
    try:
        answer = _sandboxed(with_template(files, persona, intent, text),
                            {"op": "preview", "persona": persona, "intent": intent,
                             "contexts": [e.context() for e in examples]}, timeout)
    except template_sandbox.SandboxFailed as exc:
        return dataclasses.replace(empty, error=Issue("sandbox", str(exc)))
    edited = template_path(persona, intent)
    if answer.get("error"):
        return dataclasses.replace(empty, error=_answer_issue(answer["error"], edited), template=_in_config(answer.get("template")),
                                   max_chars=answer.get("max_chars", 0))
    max_chars = int(answer["max_chars"])
    rows = [[Cell(variation=c["variation"], text=c["text"], chars=c["chars"], over=c["chars"] > max_chars,
                  issue=Issue.of(c["error"], c["variation"], edited=edited) if c["error"] else None) for c in row]
            for row in answer["renders"]]
    return Preview(persona=persona, intent=intent, examples=examples, variations=answer["variations"], rows=rows,
                   broken=[Issue.of(b, edited=edited) for b in answer["broken"]],
                   findings=[Finding.of(p) for p in answer["problems"]], max_chars=max_chars, template=_in_config(answer.get("template")))


def _answer_issue(data: Mapping[str, Any], edited: str | None = None) -> Issue:
    """The sandbox's answer when nothing could be rendered (a persona file that does not load names its item)."""
    if data.get("kind") == "data":
        item = f"{data['item']}: " if data.get("item") else ""
        return Issue("data", f"{item}{data.get('message', '')}", file=Issue.of(data).file)
    return Issue.of(data, edited=edited)


@dataclass(frozen=True)
class TemplateStatus:
    """One intent's template for a persona, as the persona page lists it."""

    intent: str
    own: bool
    used: str | None
    variations: int
    findings: list[Finding]
    error: Issue | None = None

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings) + (self.error is not None)

    @property
    def warnings(self) -> int:
        return sum(f.severity != "error" for f in self.findings)


def survey(files: ConfigFiles, persona: str, *, timeout: float | None = None) -> tuple[list[TemplateStatus], Issue | None]:
    """Every intent's template for the persona with its variation count and lint status.

    The second value says why the templates could not be checked at all (then the list has no lint status).
    """
    intents = intent_names(files)
    sources = {intent: template_source(files, persona, intent) for intent in intents}
    try:
        answer = _sandboxed(files, {"op": "survey", "persona": persona, "intents": intents}, timeout)
    except template_sandbox.SandboxFailed as exc:
        answer = {"error": {"kind": "sandbox", "message": str(exc)}}
    checked = answer.get("templates", {})
    statuses = []
    for intent in intents:
        entry = checked.get(intent, {})
        statuses.append(TemplateStatus(
            intent=intent, own=sources[intent].own, used=sources[intent].used, variations=int(entry.get("variations", 0)),
            findings=[Finding.of(p) for p in entry.get("problems", [])],
            error=Issue.of(entry["error"]) if entry.get("error") else None,
        ))
    return statuses, _answer_issue(answer["error"]) if answer.get("error") else None
