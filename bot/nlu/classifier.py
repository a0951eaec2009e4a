"""The intent classifier: TF-IDF features and a calibrated linear model, trained on load.

The fallback threshold is chosen by cross-validation on the training data: the lowest confidence at
which out-of-fold predictions reach the target precision (default 95%) on the messages accepted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from bot.nlu.intents import FALLBACK, Intent
from bot.nlu.normalise import normalise


@dataclass(frozen=True)
class Prediction:
    """The chosen intent (or fallback), its confidence, the best guess and the two runners-up."""

    intent: str
    confidence: float
    best: str
    runners_up: tuple[tuple[str, float], ...]

    @property
    def accepted(self) -> bool:
        return self.intent != FALLBACK


@dataclass(frozen=True)
class Calibration:
    """How the threshold was chosen, measured on out-of-fold predictions of the training data."""

    threshold: float
    target_precision: float
    coverage: float
    accuracy_on_accepted: float
    folds: int


def make_model(seed: int) -> Pipeline:
    """The feature extraction and linear model, chosen by cross-validation (see tests/bench/)."""
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)),
            ("model", LogisticRegression(C=20.0, max_iter=2000, random_state=seed)),
        ]
    )


def choose_threshold(confidences: Sequence[float], correct: Sequence[bool], target: float) -> float:
    """The lowest confidence at which the accepted messages are at least `target` correct.

    >>> choose_threshold([0.9, 0.8, 0.6, 0.4], [True, True, False, True], target=0.95)
    0.8
    """
    order = np.argsort(-np.asarray(confidences, dtype=float))
    conf = np.asarray(confidences, dtype=float)[order]
    hits = np.cumsum(np.asarray(correct, dtype=float)[order])
    precision = hits / np.arange(1, len(conf) + 1)
    # a threshold accepts every message at or above it; only the last of equal confidences is a valid cut
    valid = np.append(conf[1:] < conf[:-1], True)
    ok = np.flatnonzero((precision >= target) & valid)
    if len(ok) == 0:
        return 1.0
    return float(round(conf[ok[-1]], 4))


class IntentClassifier:
    """Predict an intent for a message; below the threshold the intent is `fallback`."""

    def __init__(self, model: Pipeline, calibration: Calibration) -> None:
        self._model = model
        self._labels = np.asarray(model.classes_)
        self.calibration = calibration

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    @property
    def target_precision(self) -> float:
        return self.calibration.target_precision

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self._labels]

    @classmethod
    def fit(
        cls, texts: Sequence[str], labels: Sequence[str], *, target_precision: float = 0.95,
        threshold: float | None = None, seed: int = 0, folds: int = 5,
    ) -> "IntentClassifier":
        """Train on normalised texts; choose the threshold by cross-validation unless one is given."""
        normalised = [normalise(text) for text in texts]
        labels = list(labels)
        folds = max(2, min(folds, min(Counter(labels).values())))
        if threshold is None:
            calibration = _calibrate(normalised, labels, target_precision=target_precision, seed=seed, folds=folds)
        else:
            calibration = Calibration(threshold, target_precision, float("nan"), float("nan"), 0)
        model = make_model(seed)
        model.fit(normalised, labels)
        return cls(model, calibration)

    @classmethod
    def train(cls, intents: list[Intent], *, target_precision: float = 0.95, threshold: float | None = None) -> "IntentClassifier":
        """Fit on every example of every intent."""
        from bot.nlu.datasets import from_intents

        texts, labels = from_intents(intents)
        return cls.fit(texts, labels, target_precision=target_precision, threshold=threshold)

    def predict(self, text: str) -> Prediction:
        """Classify one message."""
        return self.predict_batch([text])[0]

    def predict_batch(self, texts: Sequence[str]) -> list[Prediction]:
        probabilities = self._model.predict_proba([normalise(text) for text in texts])
        return [self._prediction(row) for row in probabilities]

    def _prediction(self, row: np.ndarray) -> Prediction:
        order = np.argsort(row)[::-1]
        best = str(self._labels[order[0]])
        confidence = round(float(row[order[0]]), 4)
        runners_up = tuple((str(self._labels[i]), round(float(row[i]), 4)) for i in order[1:3])
        intent = best if confidence >= self.threshold else FALLBACK
        return Prediction(intent, confidence, best, runners_up)


def _calibrate(texts: list[str], labels: list[str], *, target_precision: float, seed: int, folds: int) -> Calibration:
    confidences = np.zeros(len(texts))
    correct = np.zeros(len(texts), dtype=bool)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(texts, labels):
        model = make_model(seed)
        model.fit([texts[i] for i in train], [labels[i] for i in train])
        probabilities = model.predict_proba([texts[i] for i in test])
        confidences[test] = probabilities.max(axis=1)
        correct[test] = model.classes_[probabilities.argmax(axis=1)] == np.asarray(labels)[test]
    threshold = choose_threshold(confidences, correct, target_precision)
    accepted = confidences >= threshold
    return Calibration(
        threshold=threshold,
        target_precision=target_precision,
        coverage=round(float(accepted.mean()), 4),
        accuracy_on_accepted=round(float(correct[accepted].mean()), 4) if accepted.any() else 0.0,
        folds=folds,
    )
