"""Template previews in the console: a template rendered in the draft's configuration, with its problems.

A preview takes the draft's persona_styles with the edited template substituted and renders
it with the real `Renderer` and linter, in a child process with hard limits (`template_sandbox`),
because a template typed in a browser is untrusted code. Nothing here raises for a bad template:
every failure becomes an `Issue` (a Chinese label, the file and line, a hint) the page can show
next to the editor, and the linter's findings are shown but do not stop a save.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.services.configuration import PERSONAS, ConfigFiles
from bot.console import template_sandbox
from bot.console.config_paths import template_path
from bot.console.persona_templates import intent_names, normalise_source, template_source, with_template
from bot.console.preview_messages import Example
from bot.persona.bounds import Limits

MAX_TEMPLATE_CHARS = 20_000

_ISSUE_LABELS = {
    "syntax": "语法错误", "undefined": "用到了没有的变量", "security": "安全限制：不允许的操作",
    "range": "循环次数过多", "timeout": "渲染超时，已停止", "memory": "占用内存过多，已停止",
    "recursion": "调用层次过深（可能无限递归）", "output": "生成的话术过长，已停止", "template": "话术文件过长",
    "variations": "没有找到说法", "data": "人设文件有误",
    "sandbox": "预览失败", "error": "渲染时出错",
}
_ISSUE_HINTS = {
    "undefined": "可用的变量：customer.name（客户名字，不知道时为空）、customer.tags（员工给客户打的标签）、customer_name、message、intent、persona.display_name、persona.sign_off、persona.promise、"
                 "persona.character；实体（order_no、phone、date、time、amount、product）要写在 {% if order_no is defined %} 里。",
    "security": "话术只能使用变量和简单的判断、循环，不能访问内部属性。",
    "variations": "每种说法写在 {% block v1 %}…{% endblock %}、{% block v2 %}…{% endblock %} 里。",
    "timeout": f"每条话术最多渲染 {Limits.seconds:g} 秒、{Limits.steps} 步；请检查循环和递归。",
    "range": f"range() 最多 {Limits.range} 次。",
    "memory": f"话术里的任何文字或列表最多 {Limits.value} 个字或元素。",
    "output": f"一条话术最多 {Limits.output} 个字。",
}


@dataclass(frozen=True)
class Issue:
    """A template that does not compile or render, with the file and line to look at."""

    kind: str
    message: str
    file: str | None = None
    line: int | None = None
    variation: str = ""
    here: bool = False  # in the template being edited (the file need not be named; the line points into the editor)

    @property
    def label(self) -> str:
        return _ISSUE_LABELS.get(self.kind, _ISSUE_LABELS["error"])

    @property
    def hint(self) -> str:
        return _ISSUE_HINTS.get(self.kind, "")

    @property
    def where(self) -> str:
        parts = [f"说法 {self.variation}" if self.variation else "", "" if self.here else self.file or "",
                 f"第 {self.line} 行" if self.line else ""]
        return " · ".join(p for p in parts if p)

    def __str__(self) -> str:
        return f"{self.label}（{self.where}）：{self.message}" if self.where else f"{self.label}：{self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "message": self.message, "file": self.file, "line": self.line,
                "variation": self.variation, "here": self.here, "text": str(self)}

    @classmethod
    def of(cls, data: Mapping[str, Any], variation: str = "", *, edited: str | None = None) -> "Issue":
        """From the sandbox's answer (files there are relative to persona_styles/)."""
        file = _in_config(data.get("file"))
        return cls(kind=str(data.get("kind") or "error"), message=str(data.get("message") or ""), file=file,
                   line=data.get("line"), variation=str(data.get("variation") or variation),
                   here=edited is not None and file == edited)


def _in_config(file: str | None) -> str | None:
    """A file named by the sandbox (relative to persona_styles/) as the configuration names it."""
    return f"{PERSONAS}/{file}" if file and "/" in file else file


@dataclass(frozen=True)
class Finding:
    """A linter finding for one persona x intent (the linter writes it in Chinese, see `bot.persona.lint`)."""

    severity: str
    message: str
    variation: str = ""

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Finding":
        """From the sandbox's answer."""
        return cls(severity=str(data.get("severity", "error")), message=str(data.get("message", "")),
                   variation=str(data.get("variation") or ""))

    def as_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Cell:
    """One variation rendered for one message."""

    variation: str
    text: str | None
    chars: int
    over: bool
    issue: Issue | None = None


@dataclass(frozen=True)
class Preview:
    """A template rendered for messages: per message one cell per variation, failures and lint findings."""

    persona: str
    intent: str
    examples: list[Example]
    variations: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    error: Issue | None = None  # the template as a whole: does not compile, no variations, timed out
    broken: list[Issue] = field(default_factory=list)  # renders that failed (shown messages and the linter's samples)
    findings: list[Finding] = field(default_factory=list)
    max_chars: int = 0
    template: str | None = None

    @property
    def path(self) -> str:
        """The edited file (an issue's line number points into it when the issue names it)."""
        return template_path(self.persona, self.intent)

    @property
    def ok(self) -> bool:
        """The template renders everywhere (lint findings are shown but do not stop a save)."""
        return self.error is None and not self.broken

    @property
    def real(self) -> bool:
        return any(e.real for e in self.examples)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "error"]

    @property
    def issues(self) -> list[Issue]:
        return ([self.error] if self.error else []) + self.broken

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "persona": self.persona, "intent": self.intent, "template": self.template,
            "source": "real" if self.real else "sample", "variations": self.variations, "max_chars": self.max_chars,
            "error": self.error.as_json() if self.error else None,
            "broken": [b.as_json() for b in self.broken],
            "findings": [f.as_json() for f in self.findings],
            "messages": [
                {"message": e.message, "customer_name": e.customer_name, "entities": dict(e.entities), "real": e.real,
                 "draft_id": e.draft_id,
                 "renders": [{"variation": c.variation, "text": c.text, "chars": c.chars, "over": c.over,
                              "error": c.issue.as_json() if c.issue else None} for c in row]}
                for e, row in zip(self.examples, self.rows, strict=False)
            ],
        }


def _sandboxed(files: ConfigFiles, task: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    """Run a task on the draft's persona_styles files in the child process."""
    options = {} if timeout is None else {"timeout": timeout}
    return template_sandbox.run({**task, "persona_files": files.persona_texts()}, **options)


def preview(files: ConfigFiles, persona: str, intent: str, text: str, examples: list[Example], *,
            timeout: float | None = None) -> Preview:
    """Render `text` as persona's template for intent, in the draft's configuration, for each example.

    Never raises for a bad template: every failure is in `error` or `broken`.
    """
    empty = Preview(persona=persona, intent=intent, examples=examples)
    if not normalise_source(text).strip():
        return dataclasses.replace(empty, error=Issue("variations", "话术是空的。"))
    if len(text) > MAX_TEMPLATE_CHARS:
        return dataclasses.replace(empty, error=Issue("error", f"话术太长（{len(text)} 个字符，最多 {MAX_TEMPLATE_CHARS}）。"))
    try:
        answer = _sandboxed(with_template(files, persona, intent, text),
                            {"op": "preview", "persona": persona, "intent": intent,
                             "contexts": [e.context() for e in examples]}, timeout)
    except template_sandbox.SandboxFailed as exc:
        return dataclasses.replace(empty, error=Issue("sandbox", str(exc)))
    edited = template_path(persona, intent)
    if answer.get("error"):
        return dataclasses.replace(empty, error=_answer_issue(answer["error"], edited), template=_in_config(answer.get("template")),
                                   max_chars=answer.get("max_chars", 0))
    max_chars = int(answer["max_chars"])
    rows = [[Cell(variation=c["variation"], text=c["text"], chars=c["chars"], over=c["chars"] > max_chars,
                  issue=Issue.of(c["error"], c["variation"], edited=edited) if c["error"] else None) for c in row]
            for row in answer["renders"]]
    return Preview(persona=persona, intent=intent, examples=examples, variations=answer["variations"], rows=rows,
                   broken=[Issue.of(b, edited=edited) for b in answer["broken"]],
                   findings=[Finding.of(p) for p in answer["problems"]], max_chars=max_chars, template=_in_config(answer.get("template")))


def _answer_issue(data: Mapping[str, Any], edited: str | None = None) -> Issue:
    """The sandbox's answer when nothing could be rendered (a persona file that does not load names its item)."""
    if data.get("kind") == "data":
        item = f"{data['item']}: " if data.get("item") else ""
        return Issue("data", f"{item}{data.get('message', '')}", file=Issue.of(data).file)
    return Issue.of(data, edited=edited)


@dataclass(frozen=True)
class TemplateStatus:
    """One intent's template for a persona, as the persona page lists it."""

    intent: str
    own: bool
    used: str | None
    variations: int
    findings: list[Finding]
    error: Issue | None = None

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings) + (self.error is not None)

    @property
    def warnings(self) -> int:
        return sum(f.severity != "error" for f in self.findings)


def survey(files: ConfigFiles, persona: str, *, timeout: float | None = None) -> tuple[list[TemplateStatus], Issue | None]:
    """Every intent's template for the persona with its variation count and lint status.

    The second value says why the templates could not be checked at all (then the list has no lint status).
    """
    intents = intent_names(files)
    sources = {intent: template_source(files, persona, intent) for intent in intents}
    try:
        answer = _sandboxed(files, {"op": "survey", "persona": persona, "intents": intents}, timeout)
    except template_sandbox.SandboxFailed as exc:
        answer = {"error": {"kind": "sandbox", "message": str(exc)}}
    checked = answer.get("templates", {})
    statuses = []
    for intent in intents:
        entry = checked.get(intent, {})
        statuses.append(TemplateStatus(
            intent=intent, own=sources[intent].own, used=sources[intent].used, variations=int(entry.get("variations", 0)),
            findings=[Finding.of(p) for p in entry.get("problems", [])],
            error=Issue.of(entry["error"]) if entry.get("error") else None,
        ))
    return statuses, _answer_issue(answer["error"]) if answer.get("error") else None
