"""Persona styles: load and validate persona_styles/<persona>/persona.yml and find bound personas."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import DataFileError, schema_error

DEFAULT = "_default"
ARCHETYPES = ("knowledge_expert", "enthusiast", "advisor", "deals_officer")
_ID = re.compile(r"^_?[a-z][a-z0-9_]*$")


class PersonaLinkError(DataFileError):
    """Personas that do not fit together. `owner` is the persona whose file is named; `other` the
    persona on the other side (an unknown parent, a binding's first owner; empty for a circle of
    `extends`); `value` the id bound twice."""

    def __init__(self, path: Path | str, item: str, problem: str, *, owner: str, other: str = "", value: str = "") -> None:
        super().__init__(path, item, problem)
        self.owner, self.other, self.value = owner, other, value


@dataclass(frozen=True)
class Persona:
    """A designed service character: who speaks, how, and to whom it is bound."""

    persona: str
    display_name: str
    where: str  # the persona's folder as admins know it, e.g. persona_styles/lucky (for messages)
    archetype: str = ""
    promise: str = ""
    character: str = ""
    voice: str = ""
    address: str = "您"
    emoji: bool = False
    address_by_name: bool = True  # the greeting names the customer when their name is known (王女士，…)
    max_chars: int = 300
    sign_off: str = ""
    extends: str | None = None
    kf_accounts: tuple[str, ...] = field(default=())
    staff: tuple[str, ...] = field(default=())
    templates: Mapping[str, str] = field(default_factory=dict)  # file name (greeting.j2) -> template text

    @property
    def path(self) -> str:
        """Its persona.yml, named for admins."""
        return f"{self.where}/persona.yml"

    def as_context(self) -> dict[str, object]:
        """What templates may read as `persona.*`."""
        return {
            "name": self.persona,
            "display_name": self.display_name,
            "promise": self.promise,
            "character": self.character,
            "sign_off": self.sign_off,
            "address_by_name": self.address_by_name,
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


class Binds(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    kf_accounts: list[str] = []
    staff: list[str] = []

    @field_validator("kf_accounts", "staff")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        if not all(values):
            raise ValueError("must be a list of ids")
        return values


class PersonaFile(BaseModel):
    """The schema of persona_styles/<persona>/persona.yml, used by the loader, the console and import."""

    model_config = ConfigDict(extra="forbid", strict=True)

    persona: str
    display_name: str
    archetype: Literal["", "knowledge_expert", "enthusiast", "advisor", "deals_officer"] = ""
    promise: str = ""
    character: str = ""
    voice: str = ""
    address: Literal["您", "你"] = "您"
    emoji: bool = False
    address_by_name: bool = True
    max_chars: int = Field(300, ge=20)
    sign_off: str = ""
    binds: Binds = Binds()
    extends: str | None = None

    @field_validator("persona")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not a valid id (lower-case letters, digits, _)")
        return value

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a non-empty text")
        return value


def load_personas(directory: Path) -> PersonaBook:
    """Load every persona folder under `directory` (see `personas_from`)."""
    if not directory.is_dir():
        raise DataFileError(directory, None, "persona_styles folder not found")
    files = {
        path.relative_to(directory).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(directory.glob("*/**/*")) if path.is_file() and not any(p.startswith(".") for p in path.parts)
    }
    folders = [p.name for p in sorted(directory.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    return personas_from(files, where=str(directory), folders=folders)


def personas_from(files: Mapping[str, str], *, where: str = "persona_styles", folders: list[str] | None = None) -> PersonaBook:
    """Parse personas from their files (path under persona_styles/ -> text); raise DataFileError naming the file and item.

    `<persona>/persona.yml` describes a persona, `<persona>/templates/<name>.j2` are its templates.
    """
    names = sorted(set(folders or ()) | {path.split("/", 1)[0] for path in files if "/" in path})
    personas = {}
    for name in names:
        templates = {path.rsplit("/", 1)[1]: text for path, text in files.items()
                     if path.startswith(f"{name}/templates/") and path.count("/") == 2}
        persona = parse_persona(name, files.get(f"{name}/persona.yml"), where=f"{where}/{name}", templates=templates)
        personas[persona.persona] = persona
    if DEFAULT not in personas:
        raise DataFileError(where, DEFAULT, "the shared _default persona is missing")
    _check_links(personas)
    return PersonaBook(personas)


def parse_persona(name: str, text: str | None, *, where: str, templates: Mapping[str, str] | None = None) -> Persona:
    """One persona.yml text of the folder `name`, checked against `PersonaFile`."""
    path = f"{where}/persona.yml"
    if text is None:
        raise DataFileError(path, None, "persona.yml not found")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataFileError(path, None, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise DataFileError(path, None, "expected a mapping")
    if data.get("persona") != name:
        raise DataFileError(path, "persona", f"must equal the folder name {name!r}, got {data.get('persona')!r}")
    try:
        parsed = PersonaFile.model_validate({**data, "binds": data.get("binds") or {}})
    except ValidationError as exc:
        raise schema_error(path, exc) from None
    return Persona(
        persona=name, display_name=parsed.display_name, where=where, archetype=parsed.archetype,
        promise=parsed.promise, character=parsed.character, voice=parsed.voice, address=parsed.address,
        emoji=parsed.emoji, address_by_name=parsed.address_by_name, max_chars=parsed.max_chars, sign_off=parsed.sign_off,
        extends=parsed.extends if "extends" in data else (None if name == DEFAULT else DEFAULT),
        kf_accounts=tuple(parsed.binds.kf_accounts), staff=tuple(parsed.binds.staff), templates=dict(templates or {}),
    )


def _check_links(personas: dict[str, Persona]) -> None:
    owners: dict[tuple[str, str], str] = {}
    for persona in personas.values():
        path = persona.path
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
