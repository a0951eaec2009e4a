"""Render admin-edited persona templates in a short-lived child process, as a second wall around the bounds.

A template typed in the console is untrusted code. Every render, here as in the worker and the
CLI, runs in the bounded environment (`bot.persona.sandbox`): each render stops past its time,
steps and size limits with a `BoundsExceeded` that names what it hit, so the other variations
still show. The console also renders in a child process, because it renders whatever an admin
types next, before anything is saved; the child

- has a memory cap (RLIMIT_AS) and a CPU cap (RLIMIT_CPU), and is killed by the parent after a
  wall-clock timeout, should anything get past the bounds;
- returns at most OUTPUT_CAP characters of each draft.

The parent calls `run(task)`; the child (`python -m bot.console.template_sandbox`) reads the task
as JSON on stdin and writes the answer as JSON on stdout. Tasks carry the persona_styles files
(`persona_files`: path under persona_styles/ -> text); rendering goes through the real `Renderer` and linter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError, UndefinedError

from bot.errors import DataFileError, DraftbotError
from bot.nlu.intents import FALLBACK, Intent
from bot.persona.bounds import BoundsExceeded
from bot.persona.lint import SAMPLE_CONTEXTS, Problem, lint, lint_intents
from bot.persona.render import Renderer
from bot.persona.styles import PersonaBook, personas_from

WHERE = "persona_styles"  # how file names read: persona_styles/<persona>/templates/<intent>.j2

OUTPUT_CAP = 2000  # characters of one rendered draft sent back (its full length is reported too)
LINT_SECONDS = 4.0  # budget of the linter over one persona (each render has its own bounds)
WALL_SECONDS = 12.0  # the parent kills the child after this
MEMORY_BYTES = 512 * 2**20
CPU_SECONDS = 15


# ----- parent side ---------------------------------------------------------------------------------


class SandboxFailed(DraftbotError):
    """The child did not answer: killed for time or memory, or crashed. The message is for admins."""


def run(task: dict[str, Any], *, timeout: float = WALL_SECONDS) -> dict[str, Any]:
    """Run one task in a fresh child process; raises SandboxFailed when it gives no answer."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.console.template_sandbox"], input=json.dumps(task, ensure_ascii=False),
            capture_output=True, text=True, encoding="utf-8", timeout=timeout, env=env, check=False,
        )
    except subprocess.TimeoutExpired:
        raise SandboxFailed(f"话术渲染超过 {timeout:g} 秒仍未结束，已停止。请检查是否有过大的循环或计算。") from None
    if done.returncode != 0 or not done.stdout.strip():
        if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL) or "MemoryError" in done.stderr:
            raise SandboxFailed("话术渲染占用的时间或内存过多，已停止。请检查是否有过大的循环或计算。")
        raise SandboxFailed(f"预览程序意外退出（代码 {done.returncode}）：{done.stderr.strip()[-300:]}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SandboxFailed("预览程序的回答无法读取。") from None


# ----- child side ----------------------------------------------------------------------------------


class _OnePersonaBook(PersonaBook):
    """The whole book, but listing one persona, so the linter checks just it (its parents stay reachable)."""

    def __init__(self, book: PersonaBook, name: str) -> None:
        super().__init__(book.personas)
        self._name = name

    def names(self) -> list[str]:
        return [self._name]


def _limit_resources() -> None:
    try:
        import resource
    except ImportError:  # not POSIX: the parent's timeout still applies
        return
    for limit, value in ((resource.RLIMIT_AS, MEMORY_BYTES), (resource.RLIMIT_CPU, CPU_SECONDS)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass


def describe(exc: BaseException) -> dict[str, Any]:
    """An error as data: its kind, message, and the template file and line it happened at."""
    cause = exc.__cause__ or exc
    kind = {TemplateSyntaxError: "syntax", UndefinedError: "undefined", SecurityError: "security",
            MemoryError: "memory", RecursionError: "recursion"}.get(type(cause), "error")
    if isinstance(cause, BoundsExceeded):
        kind = cause.kind  # timeout, range, memory, output or template
    file, line = None, None
    if isinstance(cause, TemplateSyntaxError):
        file, line = cause.filename, cause.lineno
    tb = cause.__traceback__
    while tb is not None:  # jinja rewrites tracebacks: template frames carry the template's file and line
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            file, line = filename, tb.tb_lineno
        tb = tb.tb_next
    message = cause.message if isinstance(cause, TemplateSyntaxError) and cause.message else str(cause)
    return {"kind": kind, "type": type(cause).__name__, "message": message[:500] or type(cause).__name__,
            "file": _relative(file), "line": line}


def _relative(file: str | None) -> str | None:
    """A template file as named under persona_styles/ (lucky/templates/x.j2)."""
    if not file:
        return None
    return file.removeprefix(f"{WHERE}/")


def _render(renderer: Renderer, persona: str, intent: str, variation: str, context: dict) -> dict:
    try:
        text = renderer.render(persona=persona, intent=intent, context=context, only=variation).text
    except Exception as exc:
        return {"variation": variation, "text": None, "chars": 0, "error": describe(exc)}
    return {"variation": variation, "text": text[:OUTPUT_CAP], "chars": len(text), "error": None}


def _lint(book: PersonaBook, renderer: Renderer, persona: str, intents: list[str]) -> list[Problem]:
    """The linter's findings for one persona over `intents` (and fallback), without the intent-data checks."""
    stubs = [Intent(name, "", False, ()) for name in intents if name != FALLBACK]
    problems = lint(_OnePersonaBook(book, persona), renderer, stubs, seconds=LINT_SECONDS)
    about_data = set(lint_intents(stubs))
    return [p for p in problems if p not in about_data]


def _about(problem: Problem, intent: str) -> bool:
    """Whether a lint finding concerns `intent` (items are 'intent', 'intent v1' or 'v1' with path 'persona/intent')."""
    return problem.item == intent or problem.item.startswith(f"{intent} ") or problem.path.endswith(f"/{intent}")


def _problem(problem: Problem) -> dict[str, str]:
    variation = problem.item.rsplit(" ", 1)[-1] if problem.item.rsplit(" ", 1)[-1].startswith("v") else ""
    return {"severity": problem.severity, "message": problem.message, "variation": variation}


def preview(task: dict[str, Any]) -> dict[str, Any]:
    """Every variation of persona x intent for each context, the render failures, and the linter's findings."""
    persona, intent = task["persona"], task["intent"]
    book = personas_from(task["persona_files"], where=WHERE)
    renderer = Renderer(book)
    answer: dict[str, Any] = {"max_chars": book[persona].max_chars, "variations": [], "renders": [], "broken": [],
                              "problems": [], "template": None, "error": None}
    try:
        answer["template"] = _relative(renderer.template_for(persona, intent).filename)
        variations = renderer.variations(persona, intent)
    except Exception as exc:
        answer["error"] = describe(exc)
        return answer
    if not variations:
        answer["error"] = {"kind": "variations", "type": "", "message": "no variation blocks", "file": answer["template"], "line": None}
        return answer
    answer["variations"] = variations
    answer["renders"] = [[_render(renderer, persona, intent, v, context) for v in variations]
                         for context in task["contexts"]]
    broken: dict[tuple, dict] = {}
    checks = [[_render(renderer, persona, intent, v, context) for v in variations] for context in SAMPLE_CONTEXTS]
    for row in [*answer["renders"], *checks]:
        for cell in row:
            if cell["error"]:
                key = (cell["variation"], cell["error"]["message"], cell["error"]["line"])
                broken.setdefault(key, {"variation": cell["variation"], **cell["error"]})
    answer["broken"] = list(broken.values())
    if not any(b["kind"] in ("timeout", "memory", "recursion", "output") for b in answer["broken"]):
        problems = _lint(book, renderer, persona, [intent])
        answer["problems"] = [_problem(p) for p in problems  # render failures are in "broken"
                              if _about(p, intent) and p.rule not in ("renders", "bounds")]
    return answer


def survey(task: dict[str, Any]) -> dict[str, Any]:
    """For one persona and every intent: the template used, its variations, errors and lint findings."""
    persona, intents = task["persona"], task["intents"]
    book = personas_from(task["persona_files"], where=WHERE)
    renderer = Renderer(book)
    templates: dict[str, dict[str, Any]] = {}
    for intent in intents:
        entry: dict[str, Any] = {"template": None, "variations": 0, "error": None, "problems": []}
        try:
            entry["template"] = _relative(renderer.template_for(persona, intent).filename)
            entry["variations"] = len(renderer.variations(persona, intent))
        except Exception as exc:
            entry["error"] = describe(exc)
        templates[intent] = entry
    problems = _lint(book, renderer, persona, intents)
    for intent, entry in templates.items():
        entry["problems"] = [_problem(p) for p in problems if _about(p, intent)]
    return {"templates": templates}


TASKS = {"preview": preview, "survey": survey}


def main() -> None:
    _limit_resources()
    task = json.loads(sys.stdin.read())
    try:
        answer = TASKS[task["op"]](task)
    except DataFileError as exc:
        answer = {"error": {"kind": "data", "type": "DataFileError", "message": exc.problem,
                            "file": _relative(exc.path), "line": None, "item": exc.item}}
    except Exception as exc:  # the answer must always arrive: anything else becomes a described error
        answer = {"error": describe(exc)}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))


if __name__ == "__main__":
    main()
