"""Brand answers: intent files hold them, the index finds the one a message asks for, or none."""

from __future__ import annotations

import time

import pytest

from bot.errors import DataFileError
from bot.nlu.answers import AnswerIndex, held_out_matches, measure_threshold
from bot.nlu.intents import Answer, Intent, parse_intent

HEAD = "intent: store_info\ndescription: 门店信息\nexamples: [店在哪, 几点开门, 停车方便吗, 门店电话, 周末营业吗]\n"
HOURS = Answer("opening_hours", ("几点开门", "营业时间是几点到几点", "晚上几点关门"), "门店营业时间是每天 10:00-22:00，节假日照常营业。")
PARKING = Answer("parking", ("停车方便吗", "有停车场吗", "停车怎么收费"), "商场地下停车场，当日消费满 200 元免费停 2 小时。")
PETS = Answer("pets", ("能带狗进去吗", "可以带宠物吗"), "牵绳的小型犬猫可以进店。")
STORE = Intent("store_info", "门店信息", False, ("店在哪", "门店电话"), answers=(HOURS, PARKING, PETS))


def test_an_intent_file_holds_answers_with_their_questions() -> None:
    intent = parse_intent("intents/store_info.yml", HEAD + (
        "answers:\n"
        "  - id: opening_hours\n"
        "    questions: [几点开门, 营业到几点]\n"
        "    answer: 门店营业时间是每天 10:00-22:00，节假日照常营业。\n"
    ))
    assert intent.answers == (Answer("opening_hours", ("几点开门", "营业到几点"), "门店营业时间是每天 10:00-22:00，节假日照常营业。"),)


@pytest.mark.parametrize(("answers", "item", "reason"), [
    ("[{id: hours, questions: [几点开门], answer: 每天 10 点}]", "answers.0.questions", "at least 2 questions"),
    ("[{id: hours, questions: [几点开门, 营业到几点], answer: ''}]", "answers.0.answer", "non-empty"),
    ("[{id: Hours, questions: [几点开门, 营业到几点], answer: 每天}]", "answers.0.id", "lower-case id"),
    ("[{id: hours, questions: [几点开门, 营业到几点], answer: 每天, link: x}]", "answers.0.link", "unknown key"),
])
def test_a_bad_answer_names_the_file_and_the_item(answers: str, item: str, reason: str) -> None:
    with pytest.raises(DataFileError) as caught:
        parse_intent("intents/store_info.yml", HEAD + f"answers: {answers}\n")
    assert str(caught.value).startswith(f"intents/store_info.yml: {item}")
    assert reason in str(caught.value)


def test_the_index_finds_the_answer_a_message_asks_for_in_new_words() -> None:
    index = AnswerIndex.build([STORE])
    assert index.match("store_info", "你们早上几点开门呀").answer_id == "opening_hours"
    assert index.match("store_info", "开车过去停车收费吗").answer_id == "parking"
    assert index.match("store_info", "狗狗能一起进去吗").answer_id == "pets"


def test_a_message_no_answer_fits_gets_none() -> None:
    index = AnswerIndex.build([STORE])
    assert index.match("store_info", "店里能刷信用卡吗") is None
    assert index.match("store_info", "????") is None
    assert index.match("order_status", "几点开门") is None  # an intent without answers


def test_rank_gives_every_answer_with_its_similarity() -> None:
    ranked = AnswerIndex.build([STORE]).rank("store_info", "停车场在哪，收费吗")
    assert [m.answer_id for m in ranked][0] == "parking"
    assert {m.answer_id for m in ranked} == {"opening_hours", "parking", "pets"}
    assert ranked[0].similarity > ranked[1].similarity >= ranked[2].similarity


def test_matching_takes_well_under_a_millisecond() -> None:
    index = AnswerIndex.build([STORE])
    started = time.perf_counter()
    for _ in range(500):
        index.match("store_info", "你们晚上开到几点，周末停车方便吗")
    assert (time.perf_counter() - started) / 500 < 0.001


def test_the_threshold_is_measured_on_held_out_question_variants() -> None:
    pairs = held_out_matches(STORE)
    assert len(pairs) == sum(len(a.questions) for a in STORE.answers)
    assert 0.0 < measure_threshold(pairs, target=0.5) <= 1.0
