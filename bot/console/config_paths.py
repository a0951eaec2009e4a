"""Where intents, personas and templates live in a configuration's files (`ConfigFiles`).

The console edits a draft as a mapping of relative paths to texts, so every editing module
names files the same way; these are the only functions that know the layout
(intents/<intent>.yml, persona_styles/<persona>/persona.yml, .../templates/<intent>.j2).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from bot.services.configuration import INTENTS, PERSONAS, ConfigFiles


def intent_path(intent: str) -> str:
    return f"{INTENTS}/{intent}.yml"


def persona_yml(persona: str) -> str:
    return f"{PERSONAS}/{persona}/persona.yml"


def template_path(persona: str, intent: str) -> str:
    return f"{PERSONAS}/{persona}/templates/{intent}.j2"


def intent_files(files: ConfigFiles) -> list[str]:
    """The name of every intents/<name>.yml, sorted (whether or not the file reads)."""
    return sorted(PurePosixPath(p).stem for p in files.files if _folder(p) == (INTENTS,) and p.endswith(".yml"))


def persona_names(files: ConfigFiles) -> list[str]:
    """Every folder of persona_styles/ that has a persona.yml, sorted."""
    return sorted(_folder(p)[1] for p in files.files
                  if len(_folder(p)) == 2 and _folder(p)[0] == PERSONAS and p.endswith("/persona.yml"))


def own_templates(files: ConfigFiles, persona: str) -> list[str]:
    """The intents the persona has a template file of its own for (base.j2 included), sorted."""
    return sorted(PurePosixPath(p).stem for p in files.files
                  if _folder(p) == (PERSONAS, persona, "templates") and p.endswith(".j2"))


def persona_styles(files: ConfigFiles) -> ConfigFiles:
    """Only the persona_styles/ files: what loading personas or rendering templates needs."""
    return ConfigFiles({p: t for p, t in files.files.items() if p.startswith(f"{PERSONAS}/")})


def _folder(path: str) -> tuple[str, ...]:
    return PurePosixPath(path).parts[:-1]
