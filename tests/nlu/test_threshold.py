import numpy as np
import pytest

from bot.config import PROJECT_DIR
from bot.nlu.classifier import IntentClassifier, calibration_folds, choose_threshold, wilson_lower_bound
from bot.nlu.datasets import from_intents
from bot.nlu.evaluation import cross_validate
from bot.nlu.features import make_features, refit_rows
from bot.nlu.intents import load_intents
from bot.nlu.normalise import normalise


def test_the_threshold_is_the_lowest_confidence_that_reaches_the_target() -> None:
    assert choose_threshold([0.9, 0.8, 0.6, 0.4], [True, True, False, True], target=0.95, z=0) == 0.8


def test_ties_are_accepted_or_refused_together() -> None:
    assert choose_threshold([0.9, 0.8, 0.8, 0.4], [True, True, False, True], target=0.95, z=0) == 0.9


def test_an_unreachable_target_refuses_everything() -> None:
    assert choose_threshold([0.9, 0.8], [False, True], target=0.95) == 1.0


def test_the_margin_asks_for_enough_evidence_before_accepting() -> None:
    # 95 right of all 100 is exactly 95%, but the 90% lower bound of 95 of 100 is 91.4%
    confidences = np.linspace(0.99, 0.5, 100)
    correct = [True] * 60 + [False, True, True, True, True, True, True, True] * 5
    assert choose_threshold(confidences, correct, target=0.95, z=0) == 0.5
    # the lowest cut whose lower bound reaches 95%: 67 right of the first 68 (lower bound 95.2%)
    assert choose_threshold(confidences, correct, target=0.95) == round(float(confidences[67]), 4)


def test_the_wilson_bound() -> None:
    assert round(float(wilson_lower_bound(95, 100, 1.2816)), 4) == 0.9141
    assert float(wilson_lower_bound(95, 100, 0.0)) == pytest.approx(0.95)
    assert float(wilson_lower_bound(100, 100, 1.2816)) < 1.0


def test_small_training_sets_calibrate_on_more_folds() -> None:
    assert calibration_folds(1000, 50) == 10
    assert calibration_folds(2300, 50) == 5
    assert calibration_folds(4000, 50) == 3
    assert calibration_folds(1000, 4) == 4  # never more folds than the smallest intent has examples


def test_fold_features_are_those_fitted_on_the_fold_alone() -> None:
    texts, _ = from_intents(load_intents(PROJECT_DIR / "intents"))
    docs = [normalise(text) for text in texts[::5]]
    features = make_features()
    matrix = features.fit_transform(docs)
    rows = np.arange(0, len(docs), 3)
    others = np.setdiff1d(np.arange(len(docs)), rows)
    fold = refit_rows(features, matrix, rows)
    alone = make_features()
    fitted, unseen = alone.fit_transform([docs[i] for i in rows]), alone.transform([docs[i] for i in others])
    # same vectors up to the order of the columns: every inner product agrees
    assert np.allclose((fold[others] @ fold[rows].T).toarray(), (unseen @ fitted.T).toarray(), atol=1e-5)
    assert np.allclose((fold[rows] @ fold[rows].T).toarray(), (fitted @ fitted.T).toarray(), atol=1e-5)


def test_the_calibration_is_stored_with_the_model() -> None:
    texts = [f"快递 {n} 到哪了" for n in range(10)] + [f"有没有优惠 {n}" for n in range(10)]
    labels = ["order"] * 10 + ["promo"] * 10
    model = IntentClassifier.fit(texts, labels, target_precision=0.9)
    assert model.calibration.target_precision == 0.9
    assert 0 <= model.threshold <= 1
    assert model.calibration.accuracy_on_accepted >= 0.9
    assert model.calibration.precision_lower_bound >= 0.9 or model.threshold == 1.0
    assert model.predict("快递 到哪了").best == "order"


def test_held_out_messages_reach_the_target_precision_on_the_shipped_intents() -> None:
    """The threshold each fold's model chose holds on the fold it never saw."""
    report = cross_validate(*from_intents(load_intents(PROJECT_DIR / "intents")), folds=5, target_precision=0.95)
    assert report.accuracy_on_accepted >= 0.95
    assert report.coverage >= 0.55
