"""Editing intents in a draft configuration: pure functions from ConfigFiles to an `Edit`.

The console's intent pages call these and save the result with `workspace.save`. The rules live
here, not in the routes, so they are tested without a server:

- an example may stand in one intent only (equal after `normalise`: 繁简, 全半角, case); a refusal
  names both places;
- an enabled intent needs MIN_EXAMPLES examples to be published, so an edit that takes it below
  that is refused (a new intent may sit below it while the admin fills it in: its page warns);
- renaming moves the intent file and every persona's template, or lint would miss them;
- the intents the service itself acts on by name (opt-out ledger, urgent complaints, no selling)
  cannot be renamed, and the opt-out intent cannot be disabled or deleted.

Problems are in Chinese, for the admin. Reading and writing the files is `intent_files`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from bot.services.configuration import ConfigFiles
from bot.console.config_paths import intent_path, persona_names, template_path
from bot.console.intent_files import ALWAYS_ON, EditRefused, IntentDoc, IntentSet, dump_intent, read_intents
from bot.nlu.intents import FALLBACK, MAX_DISPLAY_NAME, MIN_EXAMPLES
from bot.nlu.normalise import normalise

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_ID = 40
MAX_DESCRIPTION = 300
MAX_EXAMPLE = 300
MAX_BATCH = 500


@dataclass(frozen=True)
class Edit:
    """An edit made: the new files, the audit line, and the intent whose page to show next."""

    files: ConfigFiles
    what: str
    intent: str
    count: int = 1  # how many examples an add or a create added


def _with(files: ConfigFiles, *docs: IntentDoc, remove: tuple[str, ...] = (), add: dict[str, str] | None = None) -> ConfigFiles:
    """The files with these intent docs written, `remove` paths gone and `add` files put in."""
    new = {path: text for path, text in files.files.items() if path not in remove}
    new.update({doc.path: dump_intent(doc) for doc in docs})
    new.update(add or {})
    return ConfigFiles(new)


# ----- examples ------------------------------------------------------------------------------------


def clean_example(text: str) -> str:
    """One example on one line: whitespace runs (newlines too) become one space."""
    return " ".join(text.split())


def split_examples(text: str) -> list[str]:
    """The lines of a textarea as examples: cleaned, empty lines dropped, repeats within it once."""
    seen: dict[str, str] = {}
    for line in text.splitlines():
        example = clean_example(line)
        if example:
            seen.setdefault(normalise(example), example)
    return list(seen.values())


def _quote(text: str, limit: int = 40) -> str:
    return f"「{text if len(text) <= limit else text[:limit] + '…'}」"


def _index(docs: Iterable[IntentDoc]) -> dict[str, tuple[str, str]]:
    """Normalised example -> (intent, the example as written there): who owns each way of saying it."""
    index: dict[str, tuple[str, str]] = {}
    for doc in docs:
        for example in doc.examples:
            index.setdefault(normalise(example), (doc.intent, example))
    return index


def _clash(index: dict[str, tuple[str, str]], example: str, into: str) -> str | None:
    """Why `example` cannot go into intent `into`, naming where it already is; None when it can."""
    owner = index.get(normalise(example))
    if owner is None:
        return None
    where, written = owner
    also = "" if written == example else f"（写作{_quote(written)}，繁简、全半角和大小写不同也算同一句）"
    if where == into:
        return f"{_quote(example)}已在 {into} 的例句里{also}。"
    return f"{_quote(example)}已在 {where} 的例句里{also}，不能再加到 {into}：同一句话只能属于一个意图。"


def _check_length(examples: list[str], field: str) -> None:
    too_long = [e for e in examples if len(e) > MAX_EXAMPLE]
    if too_long:
        raise EditRefused([f"{_quote(e)}太长了（{len(e)} 字，最多 {MAX_EXAMPLE} 字）。" for e in too_long], field=field)


def add_examples(files: ConfigFiles, intent: str, text: str) -> Edit:
    """Add one example per line; all or nothing, so the admin fixes the named lines and sends again."""
    intents = read_intents(files)
    doc = intents.get(intent)
    examples = split_examples(text)
    if not examples:
        raise EditRefused("请输入例句：一行一句客户可能说的话。", field="text")
    if len(examples) > MAX_BATCH:
        raise EditRefused(f"一次最多添加 {MAX_BATCH} 条例句，这次有 {len(examples)} 条。", field="text")
    _check_length(examples, "text")
    index = _index(intents.docs.values())
    clashes = [c for e in examples if (c := _clash(index, e, intent))]
    if clashes:
        raise EditRefused(clashes, field="text", kind="conflict")
    new = replace(doc, examples=doc.examples + tuple(examples))
    what = f"意图 {intent}：添加例句{_quote(examples[0])}" if len(examples) == 1 else \
        f"意图 {intent}：添加 {len(examples)} 条例句{_quote(examples[0])}等"
    return Edit(_with(files, new), what, intent, count=len(examples))


def _locate(doc: IntentDoc, index: int, old: str) -> int:
    """The position of the example the admin saw at `index`; refuses when someone changed it meanwhile."""
    if 0 <= index < len(doc.examples) and doc.examples[index] == old:
        return index
    if old in doc.examples:
        return doc.examples.index(old)
    raise EditRefused("这条例句已被修改或删除（可能是其他管理员刚改过），请刷新页面后再试。", kind="conflict")


def _without(doc: IntentDoc, position: int) -> IntentDoc:
    return replace(doc, examples=doc.examples[:position] + doc.examples[position + 1:])


def _keep_enough(doc: IntentDoc, remaining: int, action: str) -> None:
    """Refuse taking a publishable enabled intent below MIN_EXAMPLES (one already below may shrink: it is being built)."""
    if doc.enabled and len(doc.examples) >= MIN_EXAMPLES > remaining:
        raise EditRefused(f"不能{action}：{doc.intent} 只剩 {len(doc.examples)} 条例句，至少要保留 {MIN_EXAMPLES} 条才能发布。"
                          "请先添加新的例句，或停用这个意图。", kind="conflict")


def edit_example(files: ConfigFiles, intent: str, index: int, old: str, text: str) -> Edit:
    intents = read_intents(files)
    doc = intents.get(intent)
    position = _locate(doc, index, old)
    example = clean_example(text)
    if not example:
        raise EditRefused("例句不能为空；要去掉它请点“删除”。", field="text")
    _check_length([example], "text")
    if example == old:
        return Edit(files, f"意图 {intent}：例句未改动", intent)
    others = {**intents.docs, intent: _without(doc, position)}
    clash = _clash(_index(others.values()), example, intent)
    if clash:
        raise EditRefused(clash, field="text", kind="conflict")
    examples = list(doc.examples)
    examples[position] = example
    return Edit(_with(files, replace(doc, examples=tuple(examples))), f"意图 {intent}：把例句{_quote(old)}改为{_quote(example)}", intent)


def delete_example(files: ConfigFiles, intent: str, index: int, old: str) -> Edit:
    doc = read_intents(files).get(intent)
    position = _locate(doc, index, old)
    _keep_enough(doc, len(doc.examples) - 1, "删除")
    new = _without(doc, position)
    return Edit(_with(files, new), f"意图 {intent}：删除例句{_quote(old)}", intent)


def move_example(files: ConfigFiles, intent: str, index: int, old: str, target: str) -> Edit:
    intents = read_intents(files)
    doc = intents.get(intent)
    position = _locate(doc, index, old)
    if not target:
        raise EditRefused("请选择要移到哪个意图。", field="target")
    if target == intent:
        raise EditRefused(f"例句已在 {intent} 里，请选择另一个意图。", field="target")
    if target not in intents.docs:
        raise EditRefused(f"没有意图 {target}。", field="target")
    destination = intents.docs[target]
    if any(normalise(e) == normalise(old) for e in destination.examples):
        raise EditRefused(f"{target} 已有{_quote(old)}，不必移动；要去掉 {intent} 里的这一条请点“删除”。", field="target", kind="conflict")
    _keep_enough(doc, len(doc.examples) - 1, "移走这条例句")
    source = _without(doc, position)
    destination = replace(destination, examples=destination.examples + (old,))
    return Edit(_with(files, source, destination), f"意图 {intent}：把例句{_quote(old)}移到 {target}", intent)


# ----- intents -------------------------------------------------------------------------------------


def _check_description(description: str) -> str:
    description = " ".join(description.split())
    if not description:
        raise EditRefused("请写一句说明：客户说什么话时属于这个意图（会显示给其他管理员）。", field="description")
    if len(description) > MAX_DESCRIPTION:
        raise EditRefused(f"说明太长了（{len(description)} 字，最多 {MAX_DESCRIPTION} 字）。", field="description")
    return description


def _check_new_id(files: ConfigFiles, intents: IntentSet, new_id: str, field: str) -> None:
    if not new_id:
        raise EditRefused("请填写意图名。", field=field)
    if len(new_id) > MAX_ID or not ID_PATTERN.match(new_id):
        raise EditRefused(f"意图名只能用小写英文字母、数字和下划线，以字母开头，最多 {MAX_ID} 个字符（例如 gift_card）。", field=field)
    if new_id == FALLBACK:
        raise EditRefused("fallback 是保留名：置信度不够时使用的兜底话术。请换一个名字。", field=field)
    if new_id in intents.docs or intent_path(new_id) in files.files:
        raise EditRefused(f"已经有意图 {new_id} 了，请换一个名字。", field=field, kind="conflict")
    taken = [p for p in persona_names(files) if template_path(p, new_id) in files.files]
    if taken:
        raise EditRefused(f"人设 {'、'.join(taken)} 已有话术模板 {new_id}.j2，请换一个名字。", field=field, kind="conflict")


def create_intent(files: ConfigFiles, intent: str, description: str, marketing: bool, examples: str = "",
                  display_name: str = "") -> Edit:
    """A new intent, with every persona's fallback wording copied as its starter template."""
    intents = read_intents(files)
    intent = intent.strip()
    _check_new_id(files, intents, intent, "intent")
    doc = IntentDoc(intent=intent, description=_check_description(description), marketing=marketing, enabled=True, examples=(),
                    display_name=check_display_name(display_name))
    starters = {template_path(p, intent): files.files[template_path(p, FALLBACK)]
                for p in persona_names(files) if template_path(p, FALLBACK) in files.files}
    files = _with(files, doc, add=starters)
    count = 0
    if examples.strip():
        try:
            added = add_examples(files, intent, examples)
        except EditRefused as exc:
            raise EditRefused(exc.problems, field="examples", kind=exc.kind) from None
        files, count = added.files, added.count
    return Edit(files, f"新建意图 {intent}（{doc.description[:40]}）" + (f"，{count} 条例句" if count else ""), intent, count=count)


def check_display_name(text: str) -> str:
    """A display name as the loader accepts it: one line of at most MAX_DISPLAY_NAME characters ("" for none)."""
    name = " ".join(text.split())
    if len(name) > MAX_DISPLAY_NAME:
        raise EditRefused(f"中文名称最多 {MAX_DISPLAY_NAME} 个字，现在有 {len(name)} 个。", field="display_name")
    return name


def update_settings(files: ConfigFiles, intent: str, description: str, marketing: bool, display_name: str | None = None) -> Edit:
    """Description, marketing and (unless None) the Chinese display name of an intent."""
    doc = read_intents(files).get(intent)
    name = doc.display_name if display_name is None else check_display_name(display_name)
    new = replace(doc, description=_check_description(description), marketing=marketing, display_name=name)
    changes = []
    if new.display_name != doc.display_name:
        changes.append(f"中文名称改为“{name}”" if name else "去掉中文名称")
    if new.description != doc.description:
        changes.append("修改说明")
    if new.marketing != doc.marketing:
        changes.append("设为营销" if marketing else "取消营销")
    return Edit(_with(files, new), f"意图 {intent}：{'、'.join(changes) or '设置未改动'}", intent)


def rename_intent(files: ConfigFiles, intent: str, new_id: str) -> Edit:
    """Rename the file and every persona's template of the intent, so nothing is left behind."""
    intents = read_intents(files)
    doc = intents.get(intent)
    new_id = new_id.strip()
    if new_id == intent:
        raise EditRefused("新名字和原来的一样。", field="new_id")
    if doc.special:
        raise EditRefused(f"{intent} 不能改名：{doc.special}。", field="new_id", kind="conflict")
    _check_new_id(files, intents, new_id, "new_id")
    moved = {template_path(p, new_id): files.files[template_path(p, intent)]
             for p in persona_names(files) if template_path(p, intent) in files.files}
    old_templates = tuple(template_path(p, intent) for p in persona_names(files))
    new_files = _with(files, replace(doc, intent=new_id), remove=(doc.path, *old_templates), add=moved)
    return Edit(new_files, f"意图 {intent} 改名为 {new_id}" + (f"（连同 {len(moved)} 个话术模板）" if moved else ""), new_id)


def set_enabled(files: ConfigFiles, intent: str, enabled: bool) -> Edit:
    intents = read_intents(files)
    doc = intents.get(intent)
    if doc.enabled == enabled:
        return Edit(files, f"意图 {intent}：已是{'启用' if enabled else '停用'}状态", intent)
    if not enabled:
        _may_switch_off(intents, doc, "停用")
        return Edit(_with(files, replace(doc, enabled=False)), f"停用意图 {intent}", intent)
    index = _index(d for i, d in intents.docs.items() if i != intent and d.enabled)
    clashes = [c for e in doc.examples if (c := _clash(index, e, intent))]
    if clashes:
        raise EditRefused(["不能启用：有例句与其他启用的意图重复。", *clashes], kind="conflict")
    return Edit(_with(files, replace(doc, enabled=True)), f"启用意图 {intent}", intent)


def _may_switch_off(intents: IntentSet, doc: IntentDoc, action: str) -> None:
    if doc.intent in ALWAYS_ON:
        raise EditRefused(f"不能{action} {doc.intent}：{doc.special}。", kind="conflict")
    if doc.enabled and len(intents.enabled()) <= 2:
        raise EditRefused(f"不能{action}：至少要有两个启用的意图，系统才能区分客户的话。", kind="conflict")


def delete_intent(files: ConfigFiles, intent: str, confirm: str) -> Edit:
    """Delete the intent file and its templates in every persona; the admin types the name to confirm."""
    intents = read_intents(files)
    doc = intents.get(intent)
    if confirm.strip() != intent:
        raise EditRefused(f"请在框里输入 {intent} 确认删除。", field="confirm")
    _may_switch_off(intents, doc, "删除")
    templates = tuple(p for p in (template_path(x, intent) for x in persona_names(files)) if p in files.files)
    return Edit(_with(files, remove=(doc.path, *templates)),
                f"删除意图 {intent}（{len(doc.examples)} 条例句" + (f"、{len(templates)} 个话术模板）" if templates else "）"), intent)
