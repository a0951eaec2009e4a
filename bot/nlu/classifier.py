"""The intent classifier: TF-IDF character n-grams and a linear model, trained on load."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bot.nlu.intents import FALLBACK, Intent
from bot.nlu.normalise import normalise


@dataclass(frozen=True)
class Prediction:
    """The chosen intent (or fallback), its confidence, and the two runners-up."""

    intent: str
    confidence: float
    best: str
    runners_up: tuple[tuple[str, float], ...]


class IntentClassifier:
    """Predict an intent for a message; below `threshold` the intent is `fallback`."""

    def __init__(self, pipeline: Pipeline, threshold: float) -> None:
        self._pipeline = pipeline
        self._labels: list[str] = list(pipeline.classes_)
        self.threshold = threshold

    @classmethod
    def train(cls, intents: list[Intent], *, threshold: float, seed: int = 0) -> "IntentClassifier":
        """Fit on every example of every intent."""
        texts = [normalise(example) for intent in intents for example in intent.examples]
        labels = [intent.intent for intent in intents for _ in intent.examples]
        pipeline = Pipeline(
            [
                ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)),
                ("model", LogisticRegression(C=20.0, max_iter=2000, random_state=seed)),
            ]
        )
        pipeline.fit(texts, labels)
        return cls(pipeline, threshold)

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def predict(self, text: str) -> Prediction:
        """Classify one message.

        >>> classifier.predict("我的快递到哪了").intent   # doctest: +SKIP
        'order_status'
        """
        probabilities = self._pipeline.predict_proba([normalise(text)])[0]
        order = np.argsort(probabilities)[::-1]
        best = self._labels[order[0]]
        confidence = float(probabilities[order[0]])
        runners_up = tuple((self._labels[i], round(float(probabilities[i]), 4)) for i in order[1:3])
        intent = best if confidence >= self.threshold else FALLBACK
        return Prediction(intent, round(confidence, 4), best, runners_up)
