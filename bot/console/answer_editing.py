"""Editing an intent's brand answers in a draft configuration, and trying a message against them.

Pure functions from ConfigFiles to an `Edit`, like `intent_editing`: an answer's id is unique across
every intent (drafts name it), it needs MIN_QUESTIONS ways of asking and a non-empty answer of at
most MAX_ANSWER_CHARS, and a question may not be an example of another intent. Problems are in
Chinese, for the admin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.console.intent_editing import ID_PATTERN, MAX_ID, Edit, _quote, _with, split_examples
from bot.console.intent_files import EditRefused, IntentDoc, read_intents
from bot.nlu.answers import ANSWER_THRESHOLD, AnswerIndex, AnswerMatch
from bot.nlu.intents import MAX_ANSWER_CHARS, MIN_QUESTIONS, Answer, Intent
from bot.nlu.normalise import normalise
from bot.services.configuration import ConfigFiles

MAX_QUESTION = 100
MAX_QUESTIONS = 50


def _checked(files: ConfigFiles, doc: IntentDoc, answer_id: str, questions: str, text: str, *, replacing: str | None) -> Answer:
    intents = read_intents(files)
    answer_id = answer_id.strip()
    if not answer_id:
        raise EditRefused("请填写答案编号（例如 opening_hours）。", field="answer_id")
    if len(answer_id) > MAX_ID or not ID_PATTERN.match(answer_id):
        raise EditRefused(f"答案编号只能用小写英文字母、数字和下划线，以字母开头，最多 {MAX_ID} 个字符（例如 opening_hours）。",
                          field="answer_id")
    if answer_id != replacing:
        owner = next((d.intent for d in intents.docs.values() for a in d.answers if a.id == answer_id), None)
        if owner:
            raise EditRefused(f"答案编号 {answer_id} 已在意图 {owner} 里用过，请换一个：草稿靠编号说明用的是哪条答案。",
                              field="answer_id", kind="conflict")
    asked = split_examples(questions)
    if len(asked) < MIN_QUESTIONS:
        raise EditRefused(f"请至少写 {MIN_QUESTIONS} 种客户的问法，一行一种（现在有 {len(asked)} 种）。", field="questions")
    if len(asked) > MAX_QUESTIONS:
        raise EditRefused(f"问法最多 {MAX_QUESTIONS} 种，现在有 {len(asked)} 种。", field="questions")
    too_long = [q for q in asked if len(q) > MAX_QUESTION]
    if too_long:
        raise EditRefused([f"问法{_quote(q)}太长了（{len(q)} 字，最多 {MAX_QUESTION} 字）。" for q in too_long], field="questions")
    elsewhere = {normalise(e): d.intent for d in intents.docs.values() if d.intent != doc.intent and d.enabled for e in d.examples}
    clashes = [f"问法{_quote(q)}是意图 {elsewhere[normalise(q)]} 的例句：同一句话不能同时属于两个意图。"
               for q in asked if normalise(q) in elsewhere]
    if clashes:
        raise EditRefused(clashes, field="questions", kind="conflict")
    answer = " ".join(text.split())
    if not answer:
        raise EditRefused("请填写答案：一句中性的事实，例如“门店营业时间是每天 10:00-22:00。”", field="answer")
    if len(answer) > MAX_ANSWER_CHARS:
        raise EditRefused(f"答案太长了（{len(answer)} 字，最多 {MAX_ANSWER_CHARS} 字）：话术要完整说出答案，还要留出人设的称呼和落款。",
                          field="answer")
    return Answer(answer_id, tuple(asked), answer)


def add_answer(files: ConfigFiles, intent: str, answer_id: str, questions: str, answer: str) -> Edit:
    """A new answer at the end of the intent's list."""
    doc = read_intents(files).get(intent)
    new = _checked(files, doc, answer_id, questions, answer, replacing=None)
    return Edit(_with(files, replace(doc, answers=doc.answers + (new,))), f"意图 {intent}：添加答案 {new.id}", intent)


def edit_answer(files: ConfigFiles, intent: str, old_id: str, answer_id: str, questions: str, answer: str) -> Edit:
    """Replace answer `old_id` (its id, questions and text) in place."""
    doc = read_intents(files).get(intent)
    position = _position(doc, old_id)
    new = _checked(files, doc, answer_id, questions, answer, replacing=old_id)
    if new == doc.answers[position]:
        return Edit(files, f"意图 {intent}：答案 {old_id} 未改动", intent)
    answers = list(doc.answers)
    answers[position] = new
    renamed = f"（编号改为 {new.id}）" if new.id != old_id else ""
    return Edit(_with(files, replace(doc, answers=tuple(answers))), f"意图 {intent}：修改答案 {old_id}{renamed}", intent)


def delete_answer(files: ConfigFiles, intent: str, answer_id: str) -> Edit:
    doc = read_intents(files).get(intent)
    position = _position(doc, answer_id)
    answers = doc.answers[:position] + doc.answers[position + 1:]
    return Edit(_with(files, replace(doc, answers=answers)), f"意图 {intent}：删除答案 {answer_id}", intent)


def _position(doc: IntentDoc, answer_id: str) -> int:
    for position, answer in enumerate(doc.answers):
        if answer.id == answer_id:
            return position
    raise EditRefused(f"意图 {doc.intent} 里没有答案 {answer_id}（可能其他管理员刚改过），请刷新页面后再试。", kind="missing")


@dataclass(frozen=True)
class Tried:
    """What a message gets within an intent: every answer with its similarity, and the one a draft would use."""

    message: str
    ranked: list[AnswerMatch]
    chosen: AnswerMatch | None
    threshold: float


def try_message(files: ConfigFiles, intent: str, message: str) -> Tried:
    """Match `message` against the intent's answers as they stand in the draft (the examples count toward the weights)."""
    doc = read_intents(files).get(intent)
    text = " ".join(message.split())
    if not text:
        raise EditRefused("请输入一句客户可能说的话。", field="message")
    index = AnswerIndex.build([Intent(doc.intent, doc.description, doc.marketing, doc.examples, answers=doc.answers)])
    return Tried(text, index.rank(intent, text), index.match(intent, text), ANSWER_THRESHOLD)
