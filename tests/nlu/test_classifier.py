"""Paraphrases route to the right intents with the shipped intents (top intent only, no probabilities)."""

import pytest

from bot.config import PROJECT_DIR
from bot.nlu.classifier import IntentClassifier
from bot.nlu.intents import FALLBACK, load_intents


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier.train(load_intents(PROJECT_DIR / "intents"))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我昨天买的那个包裹怎么还没到", "order_status"),
        ("你们家有什么活动没有", "promotion_inquiry"),
        ("以后不要再给我推送了", "opt_out"),
        ("我要投訴你們的店員態度", "complaint"),
        ("想约个周六下午的时间", "booking"),
        ("能开发票吗", "payment_invoice"),
        ("你们店几点关门", "store_info"),
        ("谢谢啦", "thanks"),
        ("找个真人客服", "human_agent"),
        ("积分怎么兑换", "membership_points"),
    ],
)
def test_paraphrases_route_to_their_intent(classifier: IntentClassifier, text: str, intent: str) -> None:
    assert classifier.predict(text).best == intent


def test_below_the_threshold_the_intent_is_fallback() -> None:
    intents = load_intents(PROJECT_DIR / "intents")
    strict = IntentClassifier.train(intents, threshold=0.999)
    prediction = strict.predict("那个寄到我家大概要几天")
    assert prediction.confidence < 0.999
    assert prediction.intent == FALLBACK
    assert prediction.best != FALLBACK  # the best guess is kept for staff and the learning inbox


def test_runners_up_are_the_next_two_intents(classifier: IntentClassifier) -> None:
    prediction = classifier.predict("多少钱")
    assert len(prediction.runners_up) == 2
    assert prediction.best not in [name for name, _ in prediction.runners_up]
