"""Persona styles: load and validate persona_styles/<persona>/persona.yml and find bound personas."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.errors import DataFileError

DEFAULT = "_default"
ARCHETYPES = ("knowledge_expert", "enthusiast", "advisor", "deals_officer")
_KEYS = {
    "persona", "display_name", "archetype", "promise", "character", "voice",
    "address", "emoji", "max_chars", "sign_off", "binds", "extends",
}
_ID = re.compile(r"^_?[a-z][a-z0-9_]*$")


class PersonaLinkError(DataFileError):
    """Personas that do not fit together. `owner` is the persona whose file is named; `other` the
    persona on the other side (an unknown parent, a binding's first owner; empty for a circle of
    `extends`); `value` the id bound twice."""

    def __init__(self, path: Path, item: str, problem: str, *, owner: str, other: str = "", value: str = "") -> None:
        super().__init__(path, item, problem)
        self.owner, self.other, self.value = owner, other, value


@dataclass(frozen=True)
class Persona:
    """A designed service character: who speaks, how, and to whom it is bound."""

    persona: str
    display_name: str
    directory: Path
    archetype: str = ""
    promise: str = ""
    character: str = ""
    voice: str = ""
    address: str = "您"
    emoji: bool = False
    max_chars: int = 300
    sign_off: str = ""
    extends: str | None = None
    kf_accounts: tuple[str, ...] = field(default=())
    staff: tuple[str, ...] = field(default=())

    @property
    def templates_dir(self) -> Path:
        return self.directory / "templates"

    def as_context(self) -> dict[str, str]:
        """What templates may read as `persona.*`."""
        return {
            "name": self.persona,
            "display_name": self.display_name,
            "promise": self.promise,
            "character": self.character,
            "sign_off": self.sign_off,
        }


class PersonaBook:
    """All personas, with the lookup from a kf account or a staff member to its persona."""

    def __init__(self, personas: dict[str, Persona]) -> None:
        self.personas = personas
        self._by_kf = {kf: p.persona for p in personas.values() for kf in p.kf_accounts}
        self._by_staff = {s: p.persona for p in personas.values() for s in p.staff}

    def __contains__(self, name: str) -> bool:
        return name in self.personas

    def __getitem__(self, name: str) -> Persona:
        return self.personas[name]

    def names(self) -> list[str]:
        return sorted(self.personas)

    def chain(self, name: str) -> list[Persona]:
        """The persona, then the one it extends, ..., ending with _default."""
        chain = [self.personas[name]]
        while chain[-1].extends:
            chain.append(self.personas[chain[-1].extends])
        return chain

    def choose(self, *, kf_account: str | None, staff: str | None, default: str) -> str:
        """The persona bound to the kf account, else to the staff member, else the default."""
        if kf_account and kf_account in self._by_kf:
            return self._by_kf[kf_account]
        if staff and staff in self._by_staff:
            return self._by_staff[staff]
        return default


def load_personas(directory: Path) -> PersonaBook:
    """Load every persona folder; raise DataFileError naming the file and item on a problem."""
    if not directory.is_dir():
        raise DataFileError(directory, None, "persona_styles folder not found")
    personas = {}
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        persona = load_persona(folder / "persona.yml")
        personas[persona.persona] = persona
    if DEFAULT not in personas:
        raise DataFileError(directory, DEFAULT, "the shared _default persona is missing")
    _check_links(directory, personas)
    return PersonaBook(personas)


def load_persona(path: Path) -> Persona:
    """Load one persona.yml."""
    if not path.is_file():
        raise DataFileError(path, None, "persona.yml not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataFileError(path, None, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise DataFileError(path, None, "expected a mapping")
    unknown = set(data) - _KEYS
    if unknown:
        raise DataFileError(path, ", ".join(sorted(unknown)), "unknown key")
    name = path.parent.name
    if data.get("persona") != name:
        raise DataFileError(path, "persona", f"must equal the folder name {name!r}, got {data.get('persona')!r}")
    if not _ID.match(name):
        raise DataFileError(path, "persona", f"{name!r} is not a valid id (lower-case letters, digits, _)")
    _require_text(path, data, "display_name")
    archetype = data.get("archetype") or ""
    if archetype and archetype not in ARCHETYPES:
        raise DataFileError(path, "archetype", f"must be one of {', '.join(ARCHETYPES)}")
    address = data.get("address", "您")
    if address not in ("您", "你"):
        raise DataFileError(path, "address", "must be 您 or 你")
    emoji = data.get("emoji", False)
    if not isinstance(emoji, bool):
        raise DataFileError(path, "emoji", "must be true or false")
    max_chars = data.get("max_chars", 300)
    if not isinstance(max_chars, int) or max_chars < 20:
        raise DataFileError(path, "max_chars", "must be a whole number of at least 20")
    binds = data.get("binds") or {}
    if not isinstance(binds, dict) or set(binds) - {"kf_accounts", "staff"}:
        raise DataFileError(path, "binds", "must be a mapping with kf_accounts and staff lists")
    kf_accounts = _string_list(path, binds, "kf_accounts")
    staff = _string_list(path, binds, "staff")
    extends = data.get("extends", None if name == DEFAULT else DEFAULT)
    return Persona(
        persona=name,
        display_name=str(data["display_name"]),
        directory=path.parent,
        archetype=archetype,
        promise=str(data.get("promise") or ""),
        character=str(data.get("character") or ""),
        voice=str(data.get("voice") or ""),
        address=address,
        emoji=emoji,
        max_chars=max_chars,
        sign_off=str(data.get("sign_off") or ""),
        extends=extends,
        kf_accounts=kf_accounts,
        staff=staff,
    )


def _require_text(path: Path, data: dict, key: str) -> None:
    if not isinstance(data.get(key), str) or not data[key].strip():
        raise DataFileError(path, key, "must be a non-empty text")


def _string_list(path: Path, binds: dict, key: str) -> tuple[str, ...]:
    values = binds.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise DataFileError(path, f"binds.{key}", "must be a list of ids")
    return tuple(values)


def _check_links(directory: Path, personas: dict[str, Persona]) -> None:
    owners: dict[tuple[str, str], str] = {}
    for persona in personas.values():
        path = persona.directory / "persona.yml"
        if persona.extends and persona.extends not in personas:
            raise PersonaLinkError(path, "extends", f"unknown persona {persona.extends!r}",
                                   owner=persona.persona, other=persona.extends)
        seen = {persona.persona}
        parent = persona.extends
        while parent:
            if parent in seen:
                raise PersonaLinkError(path, "extends", "personas extend each other in a circle", owner=persona.persona)
            seen.add(parent)
            parent = personas[parent].extends
        for kind, ids in (("kf_accounts", persona.kf_accounts), ("staff", persona.staff)):
            for bound in ids:
                other = owners.setdefault((kind, bound), persona.persona)
                if other != persona.persona:
                    raise PersonaLinkError(path, f"binds.{kind}", f"{bound!r} is already bound to {other!r}",
                                           owner=persona.persona, other=other, value=bound)
