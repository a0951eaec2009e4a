"""Brand answers: find the fact an intent's message asks for, by char n-gram TF-IDF similarity to its questions.

Each intent with `answers:` gets its own small index, built with the classifier at training time:
character 1-2-grams within words (like the classifier's char features) weighted by TF-IDF over the
questions and the answer's own text, with document frequencies counted over the intent's questions,
answers and examples, so the words every message of the intent shares ("退货", "营业") weigh little
and the words that tell its facts apart weigh much. A message's similarity to an answer is the best
cosine over that answer's questions (and text); the best answer is used when it reaches
`ANSWER_THRESHOLD`, measured on held-out questions (tests/bench/answer_bench.py prints it).
Matching takes tens of microseconds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.nlu.classifier import Prediction
from bot.nlu.intents import Answer, Intent
from bot.nlu.normalise import normalise

# Measured on held-out customer questions, with and without an answer (tests/bench/answer_bench.py prints
# it): the similarity at which right answers most outnumber wrong ones. Every draft is still reviewed,
# and staff see which answer it used.
ANSWER_THRESHOLD = 0.19
# A message the classifier is unsure of (below its threshold) still counts as its best-guess intent when
# that intent has an answer this close: two weak signals that agree. Measured with tests/bench/answer_bench.py:
# the lowest similarity at which no shipped held-out message changes to a wrong intent.
VOUCH_THRESHOLD = 0.35
NGRAMS = (1, 2)  # char 1-2-grams: on held-out questions, trigrams matched fewer paraphrases
UNSEEN_IN_NORM = True  # n-grams no question has count toward a message's length (see IntentAnswers._vector)


@dataclass(frozen=True)
class AnswerMatch:
    """The answer a message asks for, how similar it is (cosine, 0-1) and the question it is closest to."""

    answer_id: str
    answer: str
    similarity: float
    question: str


class IntentAnswers:
    """The answers of one intent as unit TF-IDF vectors of their questions."""

    def __init__(self, answers: Sequence[Answer], *, corpus: Iterable[str] = (), with_answer: bool = True) -> None:
        self.answers = tuple(answers)
        questions = [(a, q) for a in self.answers for q in (*a.questions, *((a.answer,) if with_answer else ()))]
        texts = [normalise(q) for _, q in questions]
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, lowercase=False)
        vectorizer.fit([*texts, *(normalise(t) for t in corpus)])
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_.astype(np.float64)
        self._unseen_idf = float(self._idf.max())  # an n-gram no question or example has is at least as rare as the rarest
        self._matrix = np.asarray(vectorizer.transform(texts).todense(), dtype=np.float64)  # rows: questions
        self._owner = np.array([self.answers.index(a) for a, _ in questions], dtype=np.intp)
        self._questions = [q for _, q in questions]

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The message's unit vector over the known n-grams; n-grams never seen still count toward its length.

        Without them, a message sharing only "吗" with a question would be a unit vector on "吗".
        """
        counts = Counter(self._analyze(normalise(text)))
        known = {self._vocabulary[gram]: n for gram, n in counts.items() if gram in self._vocabulary}
        if not known:
            return None
        unseen = np.array([math.log(n) + 1.0 for gram, n in counts.items() if gram not in self._vocabulary]) * self._unseen_idf
        index = np.fromiter(known.keys(), np.intp, len(known))
        values = (np.log(np.fromiter(known.values(), np.float64, len(known))) + 1.0) * self._idf[index]
        return index, values / math.sqrt(values @ values + (unseen @ unseen if UNSEEN_IN_NORM else 0.0))

    def rank(self, text: str) -> list[AnswerMatch]:
        """Every answer with its similarity to `text`, most similar first."""
        vector = self._vector(text)
        scores = self._matrix[:, vector[0]] @ vector[1] if vector else np.zeros(len(self._owner))
        best: dict[int, tuple[float, int]] = {}
        for row in np.argsort(-scores, kind="stable"):
            best.setdefault(int(self._owner[row]), (float(scores[row]), int(row)))
        return [
            AnswerMatch(self.answers[a].id, self.answers[a].answer, round(score, 4), self._questions[row])
            for a, (score, row) in sorted(best.items(), key=lambda item: -item[1][0])
        ]

    def best(self, text: str) -> AnswerMatch | None:
        """The most similar answer, whatever its similarity."""
        vector = self._vector(text)
        if vector is None:
            return None
        scores = self._matrix[:, vector[0]] @ vector[1]
        row = int(np.argmax(scores))
        answer = self.answers[int(self._owner[row])]
        return AnswerMatch(answer.id, answer.answer, round(float(scores[row]), 4), self._questions[row])


class AnswerIndex:
    """Every intent's answers; `match` gives the answer a message of that intent asks for, or None."""

    def __init__(self, by_intent: dict[str, IntentAnswers], *, threshold: float = ANSWER_THRESHOLD) -> None:
        self.by_intent = by_intent
        self.threshold = threshold

    @classmethod
    def build(cls, intents: Iterable[Intent], *, threshold: float = ANSWER_THRESHOLD) -> "AnswerIndex":
        """An index for every enabled intent that has answers (its examples count toward the idf)."""
        return cls(
            {i.intent: IntentAnswers(i.answers, corpus=i.examples) for i in intents if i.enabled and i.answers},
            threshold=threshold,
        )

    def match(self, intent: str, text: str) -> AnswerMatch | None:
        """The answer `text` asks for within `intent` when its similarity reaches the threshold, else None.

        >>> from bot.nlu.intents import Answer, Intent
        >>> hours = Answer("hours", ("几点开门", "营业时间是几点"), "每天 10:00-22:00 营业。")
        >>> park = Answer("parking", ("有停车场吗", "停车免费吗"), "商场地下停车场，消费满 100 元免费停 2 小时。")
        >>> index = AnswerIndex.build([Intent("store_info", "门店", False, ("店在哪",), answers=(hours, park))])
        >>> index.match("store_info", "你们早上几点开门呀").answer_id
        'hours'
        >>> index.match("store_info", "今天下雨了") is None
        True
        """
        answers = self.by_intent.get(intent)
        found = answers.best(text) if answers else None
        return found if found and found.similarity >= self.threshold else None

    def vouches(self, intent: str, text: str) -> AnswerMatch | None:
        """An answer of `intent` close enough to `text` (VOUCH_THRESHOLD) to vouch for a best guess the classifier doubts."""
        answers = self.by_intent.get(intent)
        found = answers.best(text) if answers else None
        return found if found and found.similarity >= VOUCH_THRESHOLD else None

    def rank(self, intent: str, text: str) -> list[AnswerMatch]:
        """Every answer of `intent` with its similarity to `text` (the console's "try a message")."""
        answers = self.by_intent.get(intent)
        return answers.rank(text) if answers else []

    def __len__(self) -> int:
        return sum(len(a.answers) for a in self.by_intent.values())


def vouched(prediction: Prediction, answers: AnswerIndex | None, text: str) -> Prediction:
    """`prediction`, with its best guess accepted when the classifier doubts it but one of that intent's answers vouches for it."""
    if prediction.accepted or answers is None or not answers.vouches(prediction.best, text):
        return prediction
    return replace(prediction, intent=prediction.best)


def held_out_matches(intent: Intent) -> list[tuple[str, AnswerMatch | None]]:
    """Leave one question out: each question matched against the intent's answers without it.

    Returns (the right answer id, the best match) per question; every answer keeps at least one question.
    """
    results: list[tuple[str, AnswerMatch | None]] = []
    for answer in intent.answers:
        for index, question in enumerate(answer.questions):
            rest = answer.questions[:index] + answer.questions[index + 1:]
            if not rest:
                continue
            others = [Answer(answer.id, rest, answer.answer) if a.id == answer.id else a for a in intent.answers]
            results.append((answer.id, IntentAnswers(others, corpus=intent.examples).best(question)))
    return results


def measure_threshold(pairs: Sequence[tuple[str, AnswerMatch | None]], *, target: float = 0.95) -> float:
    """The lowest similarity at which the best matches at or above it are right at least `target` of the time.

    >>> m = lambda i, s: AnswerMatch(i, "", s, "")
    >>> measure_threshold([("a", m("a", 0.9)), ("b", m("a", 0.5)), ("c", m("c", 0.4))], target=0.95)
    0.9
    """
    scored = sorted(((m.similarity, m.answer_id == truth) for truth, m in pairs if m is not None), key=lambda p: -p[0])
    chosen, hits = 1.0, 0
    for count, (similarity, right) in enumerate(scored, start=1):
        hits += right
        last_of_equal = count == len(scored) or scored[count][0] < similarity
        if last_of_equal and hits / count >= target:
            chosen = similarity
    return round(chosen, 4)


@dataclass(frozen=True)
class AnswerEvaluation:
    """Answer retrieval on held-out question variants (each question left out in turn): what `draftbot eval` reports."""

    questions: int
    threshold: float
    top1_accuracy: float  # the best match is the right answer, whatever its similarity
    coverage: float  # share of questions whose best match reaches the threshold
    accuracy_on_accepted: float  # of those, the share matched to the right answer

    def summary(self) -> dict[str, float]:
        return {"questions": self.questions, "threshold": self.threshold, "top1_accuracy": self.top1_accuracy,
                "coverage": self.coverage, "accuracy_on_accepted": self.accuracy_on_accepted}


def evaluate_answers(intents: Iterable[Intent], *, threshold: float = ANSWER_THRESHOLD) -> AnswerEvaluation | None:
    """Leave-one-question-out over every intent's answers; None when no intent has answers."""
    pairs = [pair for intent in intents if intent.enabled and intent.answers for pair in held_out_matches(intent)]
    if not pairs:
        return None
    accepted = [(truth, m) for truth, m in pairs if m is not None and m.similarity >= threshold]
    return AnswerEvaluation(
        questions=len(pairs),
        threshold=threshold,
        top1_accuracy=round(sum(m is not None and m.answer_id == truth for truth, m in pairs) / len(pairs), 4),
        coverage=round(len(accepted) / len(pairs), 4),
        accuracy_on_accepted=round(sum(m.answer_id == truth for truth, m in accepted) / len(accepted), 4) if accepted else 0.0,
    )
