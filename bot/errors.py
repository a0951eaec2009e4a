"""The one root error of draftbot and the tree under it; every error draftbot raises on purpose is in it.

    DraftbotError
    ├── SettingsError          a DRAFTBOT_* variable is missing or wrong
    ├── DataFileError          an intents/ or persona_styles/ file is wrong (carries path and item)
    │   └── PersonaLinkError       personas that do not fit together (bot.persona.styles)
    ├── RenderError            a template failed to render a draft
    │   └── BoundsExceeded         a template went past its time or memory bounds (bot.persona.bounds)
    ├── TransitionError        a draft cannot move to the requested state
    │   ├── NotAllowed             the user may not decide this draft
    │   └── EmptyText              an edited reply has no text
    ├── WeComError             the WeCom API answered with an error or could not be reached
    │   └── ArchiveError           the chat archive's SDK failed: its code and meaning (bot.wecom.archive)
    ├── RetryLater             a job should run again later (a held promotion, a send worth retrying)
    ├── Refused                an input refused with a reason for the person who gave it (also a ValueError)
    │   ├── CallbackRefused        a WeCom callback request: HTTP status and reason (bot.wecom.callback)
    │   ├── Unstorable             one callback's data cannot be stored (bot.services.callbacks)
    │   ├── UnstorableMessage      a customer message cannot be stored (bot.services.storable)
    │   ├── ConfigRefused          a configuration version may not be published (bot.services.configuration)
    │   │   └── ObligationRefused      it would stop recognising opt-outs, complaints or hand-offs
    │   ├── EditRefused            a console edit of an intent file (bot.console.intent_files)
    │   └── FieldErrors            a console form's fields (bot.console.persona_fields)
    ├── SandboxFailed          the template preview's child process gave no answer (bot.console.template_sandbox)
    └── ConsoleAccess          the admin console's sign-in flow (bot.api.admin.common)
        ├── SignInRequired         no session: go to the sign-in page
        ├── NotAdmin               a signed-in account whose role may not open the page
        └── CsrfFailed             a write without the session's CSRF token

The web layer also raises BodyTimedOut (bot.api.body_timeout), a DraftbotError that is Starlette's
HTTPException too, so the framework answers it 408.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


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


_TYPE_PROBLEMS = {
    "bool_type": "must be true or false",
    "string_type": "must be a text",
    "list_type": "must be a list",
    "int_type": "must be a whole number",
    "dict_type": "must be a mapping",
}


def schema_error(path: Path | str, exc: ValidationError) -> DataFileError:
    """A data file's first schema problem (a pydantic ValidationError) as a DataFileError naming the file and item."""
    problems = exc.errors()
    first = next((p for p in problems if p.get("type") == "extra_forbidden"), problems[0])  # an unknown key explains the rest
    location = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
    message = str(first.get("msg", "")).removeprefix("Value error, ")
    if first.get("type") == "extra_forbidden":
        message = "unknown key"
    elif first.get("type") == "missing":
        message = "is required"
    elif first.get("type") in _TYPE_PROBLEMS:
        message = _TYPE_PROBLEMS[first["type"]]
    elif str(first.get("type", "")).endswith(("_type", "_parsing")):
        message = f"has the wrong type ({message})"
    if not location and ":" in message.split(" ", 1)[0]:
        location, message = message.split(":", 1)[0], message.split(":", 1)[1].strip()
    return DataFileError(path, location or None, message)


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


class ArchiveError(WeComError):
    """The chat-archive SDK (libWeWorkFinanceSdk_C.so) returned an error code, or did not answer in time (errcode None).

    Its message is the Chinese one alone, e.g. "GetChatData 返回 10001（网络错误）".
    """

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.args = (errmsg,)

    def __str__(self) -> str:
        return self.errmsg

    @property
    def retryable(self) -> bool:
        """Network and system failures, and calls that did not return in time, are worth another try soon."""
        return self.errcode in (None, 10001, 10002, 10003)


class RetryLater(DraftbotError):
    """The job should run again after `delay` seconds; the message says why."""

    def __init__(self, delay: float, reason: str) -> None:
        self.delay = delay
        super().__init__(reason)


class Refused(DraftbotError, ValueError):
    """An input refused with a reason for the person who gave it (the message says why)."""


class ConsoleAccess(DraftbotError):
    """The admin console's sign-in flow: the app answers with a page or a redirect."""
