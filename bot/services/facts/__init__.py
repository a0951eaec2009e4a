"""Facts from the brand's own systems (orders first): providers the worker asks before a draft is rendered.

A provider says whether a message `needs` it (by intent and entities) and `lookup`s what its system
knows, as `Facts`: template context (e.g. `order`) and flags for staff (where the fact came from, or
why it could not be had). A later source (membership points, booking slots) is one more provider
class in `FactSources`, not a new pipeline. Lookups happen in the worker only, never on the
callback path, and never send anything to a customer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.drafts.facts import NO_FACTS, Facts

log = logging.getLogger(__name__)

__all__ = ["FactProvider", "FactSources", "Facts", "NO_FACTS"]


class FactProvider(Protocol):
    """One outside system draftbot asks about a customer's message."""

    def needs(self, intent: str, entities: Mapping[str, str]) -> bool:
        """Whether a draft of this intent with these entities needs this provider's facts."""
        ...

    def lookup(self, entities: Mapping[str, str]) -> Facts:
        """What the system knows: template context and flags; never raises for the system's failures."""
        ...


class FactSources:
    """Every configured provider, asked in turn; the pipeline calls it as its `facts` lookup."""

    def __init__(self, providers: Sequence[FactProvider] = ()) -> None:
        self.providers = list(providers)

    def __call__(self, intent: str, entities: Mapping[str, str]) -> Facts:
        found = NO_FACTS
        for provider in self.providers:
            if provider.needs(intent, entities):
                found = found + provider.lookup(entities)
        return found

    def __bool__(self) -> bool:
        return bool(self.providers)
