"""The intent classifier: TF-IDF features and a linear SVM with calibrated confidence, trained on load.

Confidence is a softmax of the SVM's decision values with a temperature fitted on out-of-fold
predictions; the fallback threshold is the lowest confidence at which those out-of-fold predictions
reach the target precision (default 95%) on the messages accepted. Both are stored with the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from bot.nlu.features import LinearScorer, make_features
from bot.nlu.intents import FALLBACK, Intent
from bot.nlu.normalise import normalise

CALIBRATION_FOLDS = 3
CALIBRATION_SAMPLE = 4000  # larger training sets calibrate on a stratified sample, to keep start-up fast


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
    """Temperature and threshold, measured on out-of-fold predictions of the training data."""

    threshold: float
    target_precision: float
    temperature: float
    coverage: float
    accuracy_on_accepted: float
    folds: int


def choose_threshold(confidences: Sequence[float], correct: Sequence[bool], target: float) -> float:
    """The lowest confidence at which the accepted messages are at least `target` correct.

    >>> choose_threshold([0.9, 0.8, 0.6, 0.4], [True, True, False, True], target=0.95)
    0.8
    """
    conf = np.asarray(confidences, dtype=float)
    order = np.argsort(-conf, kind="stable")
    conf = conf[order]
    hits = np.cumsum(np.asarray(correct, dtype=float)[order])
    precision = hits / np.arange(1, len(conf) + 1)
    # a threshold accepts every message at or above it, so only the last of equal confidences is a cut
    valid = np.append(conf[1:] < conf[:-1], True)
    ok = np.flatnonzero((precision >= target) & valid)
    if len(ok) == 0:
        return 1.0
    return float(round(conf[ok[-1]], 4))


def fit_temperature(decisions: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature that makes decision values the most likely probabilities (min NLL)."""

    def nll(log_t: float) -> float:
        return -log_softmax(decisions * np.exp(log_t), axis=1)[np.arange(len(truth)), truth].mean()

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 6), method="bounded").x))


class IntentClassifier:
    """Predict an intent for a message; below the threshold the intent is `fallback`."""

    def __init__(self, scorer: LinearScorer, labels: np.ndarray, calibration: Calibration) -> None:
        self._scorer = scorer
        self._labels = labels
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
        threshold: float | None = None, seed: int = 0,
    ) -> "IntentClassifier":
        """Train on the texts; calibrate confidence and choose the threshold by cross-validation.

        A given `threshold` replaces the chosen one (the temperature is still fitted).
        """
        names, truth = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
        features = make_features()
        matrix = features.fit_transform([normalise(text) for text in texts])
        sample = _stratified_sample(truth, CALIBRATION_SAMPLE, seed)
        sample_matrix, sample_truth = matrix[sample], truth[sample]
        folds = max(2, min(CALIBRATION_FOLDS, min(Counter(sample_truth.tolist()).values())))
        decisions = np.zeros((len(sample_truth), len(names)))
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(sample_matrix, sample_truth):
            fold_model = LinearSVC(C=1.0, random_state=seed).fit(sample_matrix[train], sample_truth[train])
            decisions[test] = _decision_matrix(fold_model, sample_matrix[test], len(names))
        temperature = fit_temperature(decisions, sample_truth)
        probabilities = softmax(decisions * temperature, axis=1)
        confidences = probabilities.max(axis=1)
        correct = probabilities.argmax(axis=1) == sample_truth
        chosen = choose_threshold(confidences, correct, target_precision) if threshold is None else threshold
        accepted = confidences >= chosen
        calibration = Calibration(
            threshold=chosen,
            target_precision=target_precision,
            temperature=round(temperature, 4),
            coverage=round(float(accepted.mean()), 4),
            accuracy_on_accepted=round(float(correct[accepted].mean()), 4) if accepted.any() else 0.0,
            folds=folds,
        )
        model = LinearSVC(C=1.0, random_state=seed).fit(matrix, truth)
        return cls(LinearScorer(features, model.coef_, model.intercept_), names, calibration)

    @classmethod
    def train(cls, intents: list[Intent], *, target_precision: float = 0.95, threshold: float | None = None) -> "IntentClassifier":
        """Fit on every example of every intent."""
        from bot.nlu.datasets import from_intents

        texts, labels = from_intents(intents)
        return cls.fit(texts, labels, target_precision=target_precision, threshold=threshold)

    def probabilities(self, text: str) -> np.ndarray:
        return softmax(self._scorer.decision(normalise(text)) * self.calibration.temperature)

    def predict(self, text: str) -> Prediction:
        """Classify one message (well under a millisecond)."""
        row = self.probabilities(text)
        order = np.argsort(row)[::-1]
        best = str(self._labels[order[0]])
        confidence = round(float(row[order[0]]), 4)
        runners_up = tuple((str(self._labels[i]), round(float(row[i]), 4)) for i in order[1:3])
        intent = best if confidence >= self.threshold else FALLBACK
        return Prediction(intent, confidence, best, runners_up)

    def predict_batch(self, texts: Sequence[str]) -> list[Prediction]:
        return [self.predict(text) for text in texts]


def _stratified_sample(truth: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of at most `size` rows keeping each class's share (every row if there are fewer)."""
    if len(truth) <= size:
        return np.arange(len(truth))
    from sklearn.model_selection import train_test_split

    chosen, _ = train_test_split(np.arange(len(truth)), train_size=size, stratify=truth, random_state=seed)
    return np.sort(chosen)


def _decision_matrix(model: LinearSVC, matrix, classes: int) -> np.ndarray:  # noqa: ANN001
    values = model.decision_function(matrix)
    if values.ndim == 1:  # binary: one score, for the second class
        values = np.column_stack([-values, values])
    full = np.full((matrix.shape[0], classes), -1e3)
    full[:, model.classes_] = values
    return full
