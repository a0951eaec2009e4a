from bot.nlu.classifier import IntentClassifier, choose_threshold


def test_the_threshold_is_the_lowest_confidence_that_reaches_the_target() -> None:
    assert choose_threshold([0.9, 0.8, 0.6, 0.4], [True, True, False, True], target=0.95) == 0.8


def test_ties_are_accepted_or_refused_together() -> None:
    assert choose_threshold([0.9, 0.8, 0.8, 0.4], [True, True, False, True], target=0.95) == 0.9


def test_an_unreachable_target_refuses_everything() -> None:
    assert choose_threshold([0.9, 0.8], [False, True], target=0.95) == 1.0


def test_the_calibration_is_stored_with_the_model() -> None:
    texts = [f"快递 {n} 到哪了" for n in range(10)] + [f"有没有优惠 {n}" for n in range(10)]
    labels = ["order"] * 10 + ["promo"] * 10
    model = IntentClassifier.fit(texts, labels, target_precision=0.9)
    assert model.calibration.target_precision == 0.9
    assert 0 <= model.threshold <= 1
    assert model.calibration.accuracy_on_accepted >= 0.9
    assert model.predict("快递 到哪了").best == "order"
