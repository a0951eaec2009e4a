"""Which template a persona uses for an intent in the draft, and writing one.

A persona need not have a template for every intent: the renderer looks along the `extends`
chain, then falls back to fallback.j2. The editor starts from the template the renderer would use,
so the admin sees what customers get today and saving makes it the persona's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.configuration import ConfigFiles
from bot.console.config_paths import intent_files, persona_names, template_path
from bot.console.intent_files import read_intents
from bot.console.persona_fields import chain
from bot.nlu.intents import FALLBACK


def disabled_intents(files: ConfigFiles) -> list[str]:
    """Intents switched off (`enabled: false`): not classified, so no persona needs their template."""
    return [name for name, doc in read_intents(files).docs.items() if not doc.enabled]


def intent_names(files: ConfigFiles, *, include_disabled: bool = False) -> list[str]:
    """The intents of the draft (one file each), then fallback: the templates a persona can have."""
    off = set() if include_disabled else set(disabled_intents(files))
    return [*(name for name in intent_files(files) if name not in off), FALLBACK]


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
        return self.used is not None and self.intent != FALLBACK and self.used.endswith(f"/{FALLBACK}.j2")


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
