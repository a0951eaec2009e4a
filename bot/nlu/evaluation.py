"""Measuring the classifier: cross-validation, held-out tests, per-intent scores, confusion pairs, coverage."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from bot.nlu.classifier import IntentClassifier, Prediction

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Report:
    """What `draftbot eval` prints: overall and per-intent scores, confusions, coverage at the threshold."""

    accuracy: float
    macro_f1: float
    coverage: float
    accuracy_on_accepted: float
    threshold: float
    target_precision: float
    examples: int
    method: str
    per_intent: list[IntentScore]
    confusion_pairs: list[dict[str, Any]]
    labels: list[str]
    confusion: list[list[int]]
    curve: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        """The JSON form (without the per-item predictions)."""
        data = asdict(self)
        data.pop("items")
        return data


def cross_validate(
    texts: Sequence[str], labels: Sequence[str], *, folds: int = 5, target_precision: float = 0.95,
    seed: int = 0, progress: Progress | None = None, stable_folds: bool = False,
) -> Report:
    """Stratified k-fold: each fold's model (with its own threshold) predicts the fold it never saw.

    `stable_folds`: folds fixed by a hash of each text instead (see `stable_folds`), so an example is
    held out in the same fold in every version of the data. Comparing two versions (configuration
    publishing) then measures their edits, not a reshuffle: with shuffled folds, adding two examples
    moves a thousand others to other folds and accuracy changes by a point or more by chance.
    """
    texts, labels = list(texts), list(labels)
    if stable_folds:
        splits = list(_stable_splits(texts, labels, folds))
        method = f"{folds}-fold cross-validation (folds fixed by text)"
    else:
        smallest = min(Counter(labels).values())
        folds = max(2, min(folds, smallest))
        splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(texts, labels))
        method = f"stratified {folds}-fold cross-validation"
    predicted: dict[int, Prediction] = {}  # by row: every row is in one test fold
    thresholds = []
    for number, (train, test) in enumerate(splits, start=1):
        if progress:
            progress("cross-validation", number - 1, folds)
        model = IntentClassifier.fit([texts[i] for i in train], [labels[i] for i in train], target_precision=target_precision, seed=seed)
        thresholds.append(model.threshold)
        for index, prediction in zip(test, model.predict_batch([texts[i] for i in test])):
            predicted[index] = prediction
    if progress:
        progress("cross-validation", folds, folds)
    return build_report(
        texts, labels, [predicted[i] for i in range(len(texts))], threshold=float(np.mean(thresholds)), target_precision=target_precision, method=method,
    )


def stable_folds(texts: Sequence[str], labels: Sequence[str], folds: int) -> list[int]:
    """The fold of each example: within each label, examples in the order of a hash of their text are
    dealt to the folds in turn. Every label is spread over all folds (each model sees most examples of
    every intent), and an edit to one intent leaves the folds of every other intent's examples as they were."""
    def digest(text: str) -> int:
        return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")

    fold_of = [0] * len(texts)
    for label in sorted(set(labels)):
        members = sorted((i for i, name in enumerate(labels) if name == label), key=lambda i: (digest(texts[i]), i))
        for position, index in enumerate(members, start=digest(label) % folds):
            fold_of[index] = position % folds
    return fold_of


def _stable_splits(texts: list[str], labels: list[str], folds: int) -> Iterator[tuple[list[int], list[int]]]:
    """(train, test) row indices of each fold that has test rows."""
    fold_of = stable_folds(texts, labels, folds)
    for fold in range(folds):
        test = [i for i, f in enumerate(fold_of) if f == fold]
        if test:
            yield [i for i, f in enumerate(fold_of) if f != fold], test


def held_out(model: IntentClassifier, texts: Sequence[str], labels: Sequence[str], *, method: str) -> Report:
    """Score a trained model on a test set it never saw."""
    predictions = model.predict_batch(list(texts))
    return build_report(list(texts), list(labels), predictions, threshold=model.threshold,
                        target_precision=model.target_precision, method=method)


def build_report(
    texts: list[str], labels: list[str], predictions: list[Prediction], *, threshold: float, target_precision: float, method: str
) -> Report:
    predicted = [p.best for p in predictions]
    accepted = [p.accepted for p in predictions]
    correct = [a == b for a, b in zip(predicted, labels)]
    names = sorted(set(labels) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=names, zero_division=0)
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)), dtype=int)
    for truth, guess in zip(labels, predicted):
        matrix[index[truth], index[guess]] += 1
    n_accepted = sum(accepted)
    return Report(
        accuracy=round(float(accuracy_score(labels, predicted)), 4),
        macro_f1=round(float(f1_score(labels, predicted, labels=sorted(set(labels)), average="macro", zero_division=0)), 4),
        coverage=round(n_accepted / len(labels), 4) if labels else 0.0,
        accuracy_on_accepted=round(sum(c for c, a in zip(correct, accepted) if a) / n_accepted, 4) if n_accepted else 0.0,
        threshold=round(threshold, 4),
        target_precision=target_precision,
        examples=len(labels),
        method=method,
        per_intent=[
            IntentScore(name, round(float(p), 4), round(float(r), 4), round(float(f), 4), int(s))
            for name, p, r, f, s in zip(names, precision, recall, f1, support)
            if s > 0
        ],
        confusion_pairs=_confusion_pairs(matrix, names),
        labels=names,
        confusion=matrix.tolist(),
        curve=coverage_curve([p.confidence for p in predictions], correct),
        items=[
            {"text": t, "label": l, "predicted": p.best, "confidence": p.confidence, "accepted": p.accepted}
            for t, l, p in zip(texts, labels, predictions)
        ],
    )


def _confusion_pairs(matrix: np.ndarray, names: list[str], limit: int = 10) -> list[dict[str, Any]]:
    """The most frequent mistakes in either direction, e.g. complaint <-> human_agent."""
    pairs: list[dict[str, Any]] = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            count = int(matrix[i, j] + matrix[j, i])
            if count:
                pairs.append({"a": names[i], "b": names[j], "count": count, "a_as_b": int(matrix[i, j]), "b_as_a": int(matrix[j, i])})
    return sorted(pairs, key=lambda p: -p["count"])[:limit]


def coverage_curve(confidences: Sequence[float], correct: Sequence[bool], points: int = 21) -> list[dict[str, Any]]:
    """Coverage and accuracy on accepted messages at thresholds from 0 to 1."""
    conf = np.asarray(confidences)
    ok = np.asarray(correct, dtype=bool)
    curve = []
    for t in np.linspace(0, 1, points):
        mask = conf >= t
        curve.append({
            "threshold": round(float(t), 3),
            "coverage": round(float(mask.mean()), 4) if len(conf) else 0.0,
            "accuracy": round(float(ok[mask].mean()), 4) if mask.any() else 1.0,
        })
    return curve
