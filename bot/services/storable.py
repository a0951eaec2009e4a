"""What the database can hold: text without U+0000 or lone surrogates, and values that fit their columns.

PostgreSQL text cannot hold U+0000, and neither database driver can encode a lone surrogate (JSON
can carry both, as "\\u0000" and "\\ud800"). Intake replaces them with U+FFFD on both databases
alike, so a message is stored the same way wherever it runs and one odd character never stops it:

    >>> storable_text("在吗\\x00我的快递")
    '在吗\\ufffd我的快递'

Replacing one character with one keeps every length, so input already checked against a column's
length still fits it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from sqlalchemy import ColumnElement, String

from bot.db.models import Message
from bot.drafts.pipeline import Inbound
from bot.errors import Refused

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"
_REQUIRED = ("msg_id", "customer_id")  # a message without them cannot be told apart or answered


class UnstorableMessage(Refused):
    """A customer message that cannot be stored even with its text made storable; the message says why."""


def storable_text(value: str) -> str:
    """`value` with U+0000 and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, value)


def storable_inbound(inbound: Inbound) -> Inbound:
    """`inbound` with every text field made storable; `UnstorableMessage` if an id is empty or a field too long."""
    changes: dict[str, Any] = {
        field.name: storable_text(value)
        for field in dataclasses.fields(inbound)
        if isinstance(value := getattr(inbound, field.name), str) and _UNSTORABLE.search(value)
    }
    cleaned = dataclasses.replace(inbound, **changes) if changes else inbound
    for name in _REQUIRED:
        if not getattr(cleaned, name):
            raise UnstorableMessage(f"{name} is empty")
    for name, limit in _COLUMN_LIMITS.items():
        value = getattr(cleaned, name, None)
        if isinstance(value, str) and len(value) > limit:
            raise UnstorableMessage(f"{name} is {len(value)} characters, over the {limit} its column holds")
    return cleaned


def column_length(column: ColumnElement[Any]) -> int | None:
    """The most characters a text column holds; None when its type sets no limit."""
    return column.type.length if isinstance(column.type, String) else None


_COLUMN_LIMITS = {
    column.name: limit
    for column in Message.__table__.columns
    if (limit := column_length(column)) and column.name in {field.name for field in dataclasses.fields(Inbound)}
}
