"""The fast scorer must give the same decision values as sklearn's model over the same features."""

import numpy as np
from sklearn.svm import LinearSVC

from bot.config import PROJECT_DIR
from bot.nlu.datasets import from_intents
from bot.nlu.features import LinearScorer, make_features
from bot.nlu.intents import load_intents
from bot.nlu.normalise import normalise


def test_the_fast_scorer_gives_sklearn_decision_values() -> None:
    texts, labels = from_intents(load_intents(PROJECT_DIR / "intents"))
    docs = [normalise(text) for text in texts]
    features = make_features()
    model = LinearSVC(random_state=0).fit(features.fit_transform(docs), labels)
    scorer = LinearScorer(features, model.coef_, model.intercept_)
    messages = ["我的订单到哪了？", "refund my order pls", "想约周六下午 😊", "", "帮我开张发票 invoice", "qwxz"]
    expected = model.decision_function(features.transform([normalise(text) for text in messages]))
    assert np.allclose([scorer.decision(normalise(text)) for text in messages], expected, atol=1e-6)
