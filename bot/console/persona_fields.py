"""A persona's fields in the console: persona.yml read for the list and the form, and rewritten from the form.

Everything works on the draft's files (`ConfigFiles`), never on the live pipeline. Fields are
validated by the service's own schema (`PersonaFile`) (the code that loads a published version), so the console can
never save a persona the service would refuse; its `DataFileError` is mapped back to the form
field it names, in Chinese. The field list comes from `Persona`, so a new field cannot be
forgotten here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.services.configuration import PERSONAS, ConfigFiles
from bot.console.config_paths import own_templates, persona_names, persona_yml
from bot.errors import DataFileError, Refused
from bot.persona.styles import ARCHETYPES, DEFAULT, Persona, PersonaLinkError, parse_persona, personas_from

ARCHETYPE_LABELS = {"knowledge_expert": "知识专家", "enthusiast": "种草达人", "advisor": "专属顾问", "deals_officer": "福利官 / 购物参谋"}
assert set(ARCHETYPE_LABELS) == set(ARCHETYPES)
# The form's fields: Persona's own, minus its name (the folder), where it was loaded from and its templates.
FIELDS = tuple(f.name for f in dataclasses.fields(Persona) if f.name not in ("persona", "where", "templates"))
BINDS = ("kf_accounts", "staff")  # written under `binds:` in persona.yml, one id per line in the form
TEXT_FIELDS = ("display_name", "promise", "character", "voice", "sign_off")  # free text, length-limited
MAX_FIELD_CHARS = 500


# ----- reading ---------------------------------------------------------------------------------------


def raw_persona(files: ConfigFiles, name: str) -> dict[str, Any]:
    """persona.yml as written (tolerant: a broken file reads as empty), for forms and inheritance."""
    try:
        data = yaml.safe_load(files.files.get(persona_yml(name), "")) or {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _check(name: str, text: str) -> Persona:
    """Load one persona.yml text with the service's own schema (`PersonaFile`)."""
    return parse_persona(name, text, where=f"{PERSONAS}/{name}")


@dataclass(frozen=True)
class PersonaInfo(Persona):
    """One persona as the list and the form show it; `error` when its persona.yml does not load
    (then only the name and display name are its own, the rest are Persona's defaults)."""

    own_templates: tuple[str, ...] = ()
    error: str | None = None

    @property
    def name(self) -> str:
        return self.persona

    @property
    def archetype_label(self) -> str:
        return ARCHETYPE_LABELS.get(self.archetype, self.archetype)


def persona_info(files: ConfigFiles, name: str) -> PersonaInfo:
    own = tuple(own_templates(files, name))
    try:
        persona = _check(name, files.files[persona_yml(name)])
    except DataFileError as exc:
        return PersonaInfo(persona=name, display_name=str(raw_persona(files, name).get("display_name") or name),
                           where=f"{PERSONAS}/{name}", own_templates=own,
                           error=f"{exc.item + ': ' if exc.item else ''}{exc.problem}")
    return PersonaInfo(**vars(persona), own_templates=own)


def personas(files: ConfigFiles) -> list[PersonaInfo]:
    return [persona_info(files, name) for name in persona_names(files)]


def chain(files: ConfigFiles, name: str) -> list[str]:
    """The persona, the one it extends, ..., as the renderer looks templates up (stops at a loop)."""
    names = [name]
    while True:
        parent = raw_persona(files, names[-1]).get("extends", None if names[-1] == DEFAULT else DEFAULT)
        if not isinstance(parent, str) or parent in names or persona_yml(parent) not in files.files:
            return names
        names.append(parent)


# ----- the form --------------------------------------------------------------------------------------


class FieldErrors(Refused):
    """The form's problems: field name (or '' for the whole form) -> a Chinese message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def form_values(files: ConfigFiles, name: str) -> dict[str, str]:
    """The form's values from persona.yml as written (so a broken file can still be repaired)."""
    raw = raw_persona(files, name)
    given = raw.get("binds")
    binds = given if isinstance(given, dict) else {}

    def text(value: object) -> str:
        return "" if value is None else str(value)

    def ids(value: object) -> str:
        return "\n".join(str(v) for v in value) if isinstance(value, list) else text(value)

    values = {key: text(raw.get(key)) for key in TEXT_FIELDS}
    values.update(
        archetype=text(raw.get("archetype")), address=text(raw.get("address", "您")),
        emoji="on" if raw.get("emoji") is True else "",
        address_by_name="" if raw.get("address_by_name") is False else "on", max_chars=text(raw.get("max_chars", 300)),
        extends=text(raw.get("extends")) if name != DEFAULT and raw.get("extends") not in (None, DEFAULT) else "",
        **{key: ids(binds.get(key)) for key in BINDS},
    )
    return values


_SEPARATORS = re.compile(r"[\s,，、;；]+")

_FIELD_MESSAGES = {
    "display_name": "请填写名称：客户看到的署名，例如“专属顾问 林舟”。",
    "archetype": "请选择列表中的一种人设类型。",
    "address": "称呼只能是“您”或“你”。",
    "emoji": "请选择是否使用表情。",
    "address_by_name": "请选择是否在开头称呼客户的名字。",
    "max_chars": "请填写不小于 20 的整数。",
    "binds.kf_accounts": "请填写客服账号 ID，每行一个或用逗号分隔。",
    "binds.staff": "请填写员工的企业微信账号，每行一个或用逗号分隔。",
}
_ITEM_FIELDS = {"binds.kf_accounts": "kf_accounts", "binds.staff": "staff"}


def apply_form(files: ConfigFiles, name: str, values: Mapping[str, str]) -> ConfigFiles:
    """The draft's files with persona.yml rewritten from the form; raises FieldErrors (nothing changes then).

    The new text is checked by `parse_persona`, then every persona together by `personas_from`
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
    text = _persona_text(name, {**clean, "emoji": clean["emoji"] in ("on", "true", "1", "yes"),
                                "address_by_name": clean["address_by_name"] in ("on", "true", "1", "yes"), "max_chars": max_chars})
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
    if problem is not None and _described(problem) != _described(_book_problem(files)):  # only problems this edit brings
        raise FieldErrors(_link_error(name, problem))
    return changed


def _persona_text(name: str, values: Mapping[str, object]) -> str:
    """persona.yml as the shipped ones read: the fields in Persona's order, `extends` only when not the
    default, then the bindings on one line each. Ids are split on lines, commas and the like, once each."""
    data = {"persona": name, **{key: values[key] for key in FIELDS if key not in ("extends", *BINDS)}}
    if values["extends"] and name != DEFAULT:
        data["extends"] = values["extends"]
    binds = {key: list(dict.fromkeys(v for v in _SEPARATORS.split(str(values[key])) if v)) for key in BINDS}
    return (yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
            + "binds: " + yaml.safe_dump(binds, allow_unicode=True, default_flow_style=True, width=1000))


def _book_problem(files: ConfigFiles) -> DataFileError | None:
    """Why the draft's personas do not load together (bindings, extends), or None."""
    try:
        personas_from(files.persona_texts(), where=PERSONAS)
    except DataFileError as exc:
        return exc
    return None


def _described(problem: DataFileError | None) -> str:
    """The problem with the file named as in the configuration."""
    if problem is None:
        return ""
    where = Path(problem.path)
    return f"{persona_yml(where.parent.name) if where.name == 'persona.yml' else PERSONAS}: {problem.item or ''} {problem.problem}"


def _link_error(name: str, problem: DataFileError) -> dict[str, str]:
    """A problem across personas, as the field of `name` that caused it."""
    if not isinstance(problem, PersonaLinkError):
        return {"": _described(problem)}
    if problem.value:
        other = problem.other if problem.owner == name else problem.owner
        return {_ITEM_FIELDS.get(problem.item or "", ""): f"{problem.value} 已绑定到人设 {other}：一个账号只能对应一个人设。"}
    if problem.other:
        return {"extends": f"没有人设 {problem.other}。"}
    return {"extends": "人设之间不能循环继承（A 继承 B，B 又继承 A）。"}
