"""The intent classifier: TF-IDF features and a linear SVM with calibrated confidence, trained on load.

Confidence is a softmax of the SVM's decision values with a temperature fitted on out-of-fold
predictions of the training data (each fold's features and model fitted without the messages it is
tested on). The fallback threshold is the lowest confidence at which those out-of-fold predictions
reach the target precision (default 95%) on the messages accepted, with a margin: the one-sided 90%
Wilson lower bound of that precision must reach the target, so that the threshold holds on messages
the model never saw rather than only just on the data it was chosen on. Both are stored with the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from bot.nlu.features import LinearScorer, make_features, refit_rows
from bot.nlu.intents import FALLBACK, Intent
from bot.nlu.normalise import normalise

CALIBRATION_SAMPLE = 4000  # larger training sets calibrate on a stratified sample, to keep start-up fast
CALIBRATION_ROWS = 12000  # calibration folds: this // examples, from 3 to 10 (10 up to 1,200 examples, 3 above 3,000)
MIN_FOLDS, MAX_FOLDS = 3, 10
LOWER_BOUND_Z = 1.2816  # one-sided 90% Wilson lower bound of the precision on accepted messages


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
    precision_lower_bound: float = 0.0  # Wilson lower bound of accuracy_on_accepted (z = LOWER_BOUND_Z)


def choose_threshold(
    confidences: Sequence[float], correct: Sequence[bool], target: float, *, z: float = LOWER_BOUND_Z
) -> float:
    """The lowest confidence at which the accepted messages are at least `target` correct, with a margin.

    The Wilson lower bound (`z` standard errors; 0 for the plain share) of the share correct among
    the messages at or above the threshold must reach `target`. Choosing the lowest threshold whose
    plain share just reaches the target picks a cut where that share is high by chance, so new
    messages fall short of it.

    >>> choose_threshold([0.9, 0.8, 0.6, 0.4], [True, True, False, True], target=0.95, z=0)
    0.8
    """
    conf = np.asarray(confidences, dtype=float)
    order = np.argsort(-conf, kind="stable")
    conf = conf[order]
    hits = np.cumsum(np.asarray(correct, dtype=float)[order])
    bound = wilson_lower_bound(hits, np.arange(1, len(conf) + 1), z)
    # a threshold accepts every message at or above it, so only the last of equal confidences is a cut
    valid = np.append(conf[1:] < conf[:-1], True)
    ok = np.flatnonzero((bound >= target) & valid)
    if len(ok) == 0:
        return 1.0
    return float(round(conf[ok[-1]], 4))


def wilson_lower_bound(hits: np.ndarray | float, total: np.ndarray | float, z: float = LOWER_BOUND_Z) -> np.ndarray:
    """Wilson score lower bound of a proportion, `hits` of `total` (`z` = 0 gives `hits / total`).

    >>> round(float(wilson_lower_bound(95, 100, 1.2816)), 4)
    0.9141
    """
    hits, total = np.asarray(hits, dtype=float), np.asarray(total, dtype=float)
    share = hits / total
    z2 = z * z
    centre = share + z2 / (2 * total)
    spread = z * np.sqrt(share * (1 - share) / total + z2 / (4 * total * total))
    bound: np.ndarray = (centre - spread) / (1 + z2 / total)
    return bound


def calibration_folds(rows: int, smallest_class: int) -> int:
    """Folds for calibrating on `rows` examples: more for small sets, so fold models are close to the final one."""
    folds = min(MAX_FOLDS, max(MIN_FOLDS, CALIBRATION_ROWS // max(rows, 1)))
    return max(2, min(folds, smallest_class))


def fit_temperature(decisions: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature that makes decision values the most likely probabilities (min NLL)."""

    def nll(log_t: float) -> float:
        return float(-log_softmax(decisions * np.exp(log_t), axis=1)[np.arange(len(truth)), truth].mean())

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

        Each calibration fold sees features fitted on its own training part only (`refit_rows`),
        like the final model sees new messages. A given `threshold` replaces the chosen one (the
        temperature is still fitted).
        """
        names, truth = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
        features = make_features()
        matrix = features.fit_transform([normalise(text) for text in texts])
        sample = _stratified_sample(truth, CALIBRATION_SAMPLE, seed)
        sample_matrix, sample_truth = matrix[sample], truth[sample]
        folds = calibration_folds(len(sample_truth), min(Counter(sample_truth.tolist()).values()))
        decisions = np.zeros((len(sample_truth), len(names)))
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(sample_matrix, sample_truth):
            fold_matrix = refit_rows(features, sample_matrix, train)
            fold_model = LinearSVC(C=1.0, random_state=seed).fit(fold_matrix[train], sample_truth[train])
            decisions[test] = _decision_matrix(fold_model, fold_matrix[test], len(names))
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
            precision_lower_bound=round(float(wilson_lower_bound(correct[accepted].sum(), accepted.sum(), LOWER_BOUND_Z)), 4)
            if accepted.any() else 0.0,
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
        row: np.ndarray = softmax(self._scorer.decision(normalise(text)) * self.calibration.temperature)
        return row

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


def _decision_matrix(model: LinearSVC, matrix: sp.csr_matrix, classes: int) -> np.ndarray:
    values = model.decision_function(matrix)
    if values.ndim == 1:  # binary: one score, for the second class
        values = np.column_stack([-values, values])
    full = np.full((matrix.shape[0], classes), -1e3)
    full[:, model.classes_] = values
    return full
