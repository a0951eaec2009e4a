"""Text normalisation before classification: 繁→简, full-width→half-width, case, repeated punctuation."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_REPEATED_PUNCTUATION = re.compile(r"([!?.,~。，、！？…~\-])\1+")
_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """Return the canonical form of a customer message.

    >>> normalise("我的訂單到哪了？？？ ＡＢＣ")
    '我的订单到哪了? abc'
    """
    text = unicodedata.normalize("NFKC", text)
    text = _t2s().convert(text)
    text = text.lower()
    text = _REPEATED_PUNCTUATION.sub(r"\1", text)
    return _WHITESPACE.sub(" ", text).strip()
