"""Sensitive words: a brand's list of words no reply may contain unless a human rewrites it."""

from __future__ import annotations

from pathlib import Path

from bot.errors import DataFileError


class SensitiveWords:
    """Words from a text file, one per line (# starts a comment)."""

    def __init__(self, words: tuple[str, ...] = ()) -> None:
        self.words = words

    @classmethod
    def load(cls, path: Path | None) -> "SensitiveWords":
        if path is None:
            return cls()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise DataFileError(path, None, f"cannot read the sensitive-word list: {exc.strerror}") from None
        words = [line.split("#", 1)[0].strip() for line in lines]
        return cls(tuple(dict.fromkeys(w for w in words if w)))

    def found(self, text: str) -> list[str]:
        lowered = text.lower()
        return [word for word in self.words if word.lower() in lowered]

    def reason(self, text: str) -> str | None:
        """Why `text` may not go out as it is (the sensitive words it contains), or None."""
        words = self.found(text)
        return f"含敏感词（{'、'.join(words)}），请修改后再发送" if words else None
