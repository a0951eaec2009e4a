"""Configuration: intents/ and persona_styles/ as one versioned, published configuration.

    files       ConfigFiles: a whole configuration in memory (relative path -> text)
    store       read, check (load + lint + obligations gate + cross-validation), publish, roll back
    obligations the gate: opt-outs, complaints and hand-offs must still be recognised (never forced)
    watcher     each instance follows the active version and swaps in its pipeline

Callers import what they use from here.
"""

from bot.services.configuration.files import INTENTS, PERSONAS, ROOTS, ConfigFiles
from bot.services.configuration.store import (
    SYSTEM_AUTHOR,
    Comparison,
    ConfigRefused,
    PublishResult,
    active,
    audit_entries,
    check,
    compare,
    ensure_initial,
    evaluate,
    files_of,
    get_version,
    is_current,
    load,
    publish,
    rollback,
    shared_accuracy,
    version_evaluation,
    versions,
)
from bot.services.configuration.watcher import ConfigWatcher

__all__ = [
    "INTENTS", "PERSONAS", "ROOTS", "SYSTEM_AUTHOR", "Comparison", "ConfigFiles", "ConfigRefused", "ConfigWatcher",
    "PublishResult", "active", "audit_entries", "check", "compare", "ensure_initial", "evaluate", "files_of",
    "get_version", "is_current", "load", "publish", "rollback", "shared_accuracy", "version_evaluation", "versions",
]
