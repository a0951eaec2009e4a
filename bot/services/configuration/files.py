"""A configuration as data: every file under intents/ and persona_styles/ (relative path -> text), held in memory."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.errors import DataFileError

INTENTS = "intents"
PERSONAS = "persona_styles"
ROOTS = (INTENTS, PERSONAS)


def _check_path(path: str) -> PurePosixPath:
    """A relative path under intents/ or persona_styles/, without '..' or absolute parts."""
    pure = PurePosixPath(path)
    if (
        not path or "\\" in path or "\x00" in path or pure.is_absolute() or any(p in ("", ".", "..") for p in path.split("/"))
        or len(pure.parts) < 2 or pure.parts[0] not in ROOTS
    ):
        raise DataFileError(path or "(empty path)", None, "not a file under intents/ or persona_styles/")
    return pure


@dataclass(frozen=True)
class ConfigFiles:
    """A whole configuration: relative posix path (intents/x.yml, persona_styles/p/...) -> text."""

    files: Mapping[str, str]

    def __post_init__(self) -> None:
        for path, text in self.files.items():
            _check_path(path)
            if not isinstance(text, str):
                raise DataFileError(path, None, "file content must be text")

    @classmethod
    def from_directories(cls, intents_dir: Path, personas_dir: Path) -> "ConfigFiles":
        """Read every file (hidden ones excepted) under the two folders, byte for byte as UTF-8 text."""
        files: dict[str, str] = {}
        for root, folder in ((INTENTS, Path(intents_dir)), (PERSONAS, Path(personas_dir))):
            if not folder.is_dir():
                raise DataFileError(folder, None, f"{root} folder not found")
            for path in sorted(folder.rglob("*")):
                relative = path.relative_to(folder)
                if not path.is_file() or any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                    continue
                try:
                    files[f"{root}/{relative.as_posix()}"] = path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    raise DataFileError(path, None, "not UTF-8 text") from None
        return cls(files)

    @classmethod
    def from_directory(cls, directory: Path) -> "ConfigFiles":
        """Read DIR/intents and DIR/persona_styles (the layout `write_to` produces)."""
        return cls.from_directories(Path(directory) / INTENTS, Path(directory) / PERSONAS)

    def intent_texts(self) -> dict[str, str]:
        """intents/<name>.yml -> text: what `bot.nlu.intents.intents_from` parses."""
        return {path: text for path, text in self.files.items()
                if path.startswith(f"{INTENTS}/") and path.count("/") == 1 and path.endswith(".yml")}

    def persona_texts(self) -> dict[str, str]:
        """<persona>/persona.yml and <persona>/templates/<name>.j2 -> text: what `personas_from` parses."""
        prefix = f"{PERSONAS}/"
        return {path[len(prefix):]: text for path, text in self.files.items() if path.startswith(prefix)}

    @property
    def digest(self) -> str:
        canonical = json.dumps(sorted(self.files.items()), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def write_to(self, directory: Path) -> None:
        """Write intents/ and persona_styles/ under `directory`; refuses paths that would leave it."""
        target = Path(directory).resolve()
        planned = []
        for path, text in sorted(self.files.items()):
            destination = (target / Path(*_check_path(path).parts)).resolve()
            if not destination.is_relative_to(target):
                raise DataFileError(path, None, f"would be written outside {target}")
            planned.append((destination, text))
        for destination, text in planned:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(text.encode("utf-8"))

    def changes_from(self, other: "ConfigFiles | None") -> dict[str, list[str]]:
        """Paths added, removed and changed compared with `other`."""
        before = dict(other.files) if other else {}
        return {
            "added": sorted(set(self.files) - set(before)),
            "removed": sorted(set(before) - set(self.files)),
            "changed": sorted(p for p in self.files if p in before and before[p] != self.files[p]),
        }
