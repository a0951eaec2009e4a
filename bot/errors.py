"""The one root error of draftbot and the short tree under it.

    DraftbotError
    ├── SettingsError        a DRAFTBOT_* variable is missing or wrong
    ├── DataFileError        an intents/ or persona_styles/ file is wrong (carries path and item)
    ├── RenderError          a template failed to render a draft
    ├── TransitionError      a draft cannot move to the requested state
    │   ├── NotAllowed       the user may not decide this draft
    │   └── EmptyText        an edited reply has no text
    ├── WeComError           the WeCom API answered with an error or could not be reached
    └── RetryLater           a job should run again later (a held promotion, a send worth retrying)
"""

from __future__ import annotations

from pathlib import Path


class DraftbotError(Exception):
    """Root of every error draftbot raises on purpose."""


class SettingsError(DraftbotError):
    """A setting is missing or invalid; the message names the variable."""


class DataFileError(DraftbotError):
    """A data file is invalid; the message names the file and the item."""

    def __init__(self, path: Path | str, item: str | None, problem: str) -> None:
        self.path = str(path)
        self.item = item
        self.problem = problem
        where = f"{self.path}: {item}" if item else self.path
        super().__init__(f"{where}: {problem}")


class RenderError(DraftbotError):
    """A template could not produce a draft."""


class TransitionError(DraftbotError):
    """A draft cannot move from its state to the requested one."""


class NotAllowed(TransitionError):
    """The user may not decide this draft."""


class EmptyText(TransitionError):
    """An edited reply is empty: there is nothing to approve."""


class WeComError(DraftbotError):
    """WeCom answered with an error code, or could not be reached (errcode is None then)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeCom error {errcode}: {errmsg}" if errcode is not None else errmsg)

    @property
    def retryable(self) -> bool:
        """Network failures, 5xx and WeCom's 'system busy' (-1) are worth another try."""
        return self.errcode is None or self.errcode == -1


class RetryLater(DraftbotError):
    """The job should run again after `delay` seconds; the message says why."""

    def __init__(self, delay: float, reason: str) -> None:
        self.delay = delay
        super().__init__(reason)
