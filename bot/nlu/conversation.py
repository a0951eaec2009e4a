"""Entities of a conversation: what every unanswered line says, newest first, filled from recent context."""

from __future__ import annotations

from collections.abc import Sequence

from bot.nlu.entities import ENTITY_SAMPLES, Catalog, extract_entities


def conversation_entities(
    lines: Sequence[str], *, catalog: Catalog = Catalog(), context: Sequence[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """The entities of `lines` (oldest first, the newest message last) and where each came from.

    A line's own entities win over older lines' when two disagree; what only the lines read
    together say (an order number sent as "订单" then "87654321") fills what no single line has;
    `context` (the customer's earlier, already answered messages, oldest first) fills only what is
    still missing. The second dict maps each entity to "message" (the newest line), "earlier" or
    "context".

    >>> conversation_entities(["订单 87654321", "到哪了"])
    ({'order_no': '87654321'}, {'order_no': 'earlier'})
    """
    found: dict[str, str] = {}
    source: dict[str, str] = {}
    lines = [line for line in lines if line.strip()]
    for index, line in enumerate(lines):
        origin = "message" if index == len(lines) - 1 else "earlier"
        for key, value in extract_entities(line, catalog).items():
            found[key] = value
            source[key] = origin
    _fill(found, source, extract_entities("\n".join(lines), catalog), "earlier")
    recent = [line for line in context if line.strip()]
    for line in reversed(recent):
        _fill(found, source, extract_entities(line, catalog), "context")
    _fill(found, source, extract_entities("\n".join(recent), catalog), "context")
    order = [key for key in ENTITY_SAMPLES if key in found]
    return {key: found[key] for key in order}, {key: source[key] for key in order}


def _fill(found: dict[str, str], source: dict[str, str], more: dict[str, str], origin: str) -> None:
    """Add the entities of `more` that `found` lacks, noting where they came from."""
    for key, value in more.items():
        if key not in found:
            found[key] = value
            source[key] = origin
