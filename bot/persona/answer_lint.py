"""`draftbot check` on brand answers: ids, questions that belong elsewhere, answer length and wording, overlaps."""

from __future__ import annotations

from collections import Counter

from bot.nlu.answers import held_out_matches
from bot.nlu.intents import MAX_ANSWER_CHARS, Intent
from bot.nlu.normalise import normalise
from bot.persona.lint import Problem
from bot.policy.marketing import promotional_words

# An answer is "swallowed" when at least this share of its questions, each left out in turn, match
# one other answer better than what is left of its own.
SWALLOWED_SHARE = 0.5


def lint_answers(intents: list[Intent]) -> list[Problem]:
    """Every finding about the intents' `answers:` (the loader already refused what cannot load)."""
    problems: list[Problem] = []
    examples = {normalise(e): intent.intent for intent in intents for e in intent.examples}
    first_home: dict[str, str] = {}
    for intent in intents:
        path = intent.path or f"{intent.intent}.yml"
        ids = [a.id for a in intent.answers]
        for position, answer in enumerate(intent.answers):
            item = f"answers {answer.id}"
            home = first_home.setdefault(answer.id, intent.intent)
            if answer.id in ids[:position]:
                problems.append(Problem("error", path, item, f"答案编号 {answer.id} 在这个文件里出现了两次：编号要唯一，草稿才能说清用的是哪条。",
                                        "answer_id"))
            elif home != intent.intent:
                problems.append(Problem("error", path, item, f"答案编号 {answer.id} 在 {home}.yml 里也有：编号要全局唯一，草稿才能说清用的是哪条。",
                                        "answer_id"))
            for question in answer.questions:
                other = examples.get(normalise(question))
                if other and other != intent.intent:
                    problems.append(Problem("error", path, item, f"问法“{question}”也是意图 {other} 的例句：同一句话不能同时属于两个意图。",
                                            "answer_question"))
            text = answer.answer.strip()
            if not text:
                problems.append(Problem("error", path, item, "答案是空的。", "answer_text"))
            elif len(text) > MAX_ANSWER_CHARS:
                problems.append(Problem("error", path, item, f"答案共 {len(text)} 个字，超过上限 {MAX_ANSWER_CHARS}：话术要完整说出答案，太长会超出人设字数。",
                                        "answer_text"))
            if "您" in text or "你" in text:
                problems.append(Problem("warning", path, item, "答案里有“您/你”：答案要写成中性的事实，称呼交给各人设的话术。", "answer_text"))
            if not intent.marketing and promotional_words(text):
                words = "、".join(promotional_words(text))
                problems.append(Problem("warning", path, item, f"答案含促销用语（{words}），说出它的草稿会被标为营销。", "answer_text"))
        problems.extend(_swallowed(intent, path))
    return problems


def _swallowed(intent: Intent, path: str) -> list[Problem]:
    """Answers whose questions, each left out in turn, mostly match one other answer better than their own."""
    if len(intent.answers) < 2:
        return []
    elsewhere: dict[str, Counter[str]] = {a.id: Counter() for a in intent.answers}
    for truth, found in held_out_matches(intent):
        if found is not None and found.answer_id != truth:
            elsewhere[truth][found.answer_id] += 1
    problems = []
    for answer in intent.answers:
        if not elsewhere[answer.id]:
            continue
        other, count = elsewhere[answer.id].most_common(1)[0]
        if count >= SWALLOWED_SHARE * len(answer.questions):
            problems.append(Problem("warning", path, f"answers {answer.id}",
                                    f"{len(answer.questions)} 个问法里有 {count} 个更像答案 {other} 的问法：请把问法写得更能区分两条答案，或合并它们。",
                                    "answer_overlap"))
    return problems
