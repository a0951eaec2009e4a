"""`draftbot check` on brand answers: duplicate ids, questions of another intent, long answers, overlapping answers."""

from __future__ import annotations

from bot.nlu.intents import MAX_ANSWER_CHARS, Answer, Intent
from bot.persona.answer_lint import lint_answers

HOURS = Answer("opening_hours", ("几点开门", "营业时间是几点到几点", "晚上几点关门"), "每天 10:00-22:00 营业。")
PARKING = Answer("parking", ("停车方便吗", "有停车场吗", "停车怎么收费"), "地下停车场，消费满 200 元免费停 2 小时。")


def store(*answers: Answer) -> Intent:
    return Intent("store_info", "门店", False, ("店在哪", "门店电话"), path="intents/store_info.yml", answers=answers)


def rules(problems: list) -> list[tuple[str, str, str]]:
    return [(p.rule, p.item, p.severity) for p in problems]


def test_well_separated_answers_have_no_findings() -> None:
    assert lint_answers([store(HOURS, PARKING)]) == []


def test_an_answer_id_used_in_two_intents_is_an_error() -> None:
    refund = Intent("refund_return", "退款", False, ("我要退款",), path="intents/refund_return.yml",
                    answers=(Answer("parking", ("退货运费谁出", "运费要我出吗"), "质量问题运费由品牌承担。"),))
    found = lint_answers([store(HOURS, PARKING), refund])
    assert rules(found) == [("answer_id", "answers parking", "error")]
    assert found[0].path == "intents/refund_return.yml" and "store_info.yml" in found[0].message


def test_an_answer_id_twice_in_one_intent_is_an_error() -> None:
    twice = Answer("parking", ("停车场在哪", "车停哪里"), "B2 层。")
    assert rules(lint_answers([store(HOURS, PARKING, twice)])) == [("answer_id", "answers parking", "error")]


def test_a_question_that_is_an_example_of_another_intent_is_an_error() -> None:
    greeting = Intent("greeting", "问候", False, ("在吗", "有停车场吗"), path="intents/greeting.yml")
    found = lint_answers([store(HOURS, PARKING), greeting])
    assert rules(found) == [("answer_question", "answers parking", "error")]
    assert "有停车场吗" in found[0].message and "greeting" in found[0].message


def test_an_over_long_answer_is_an_error_and_a_personal_or_promotional_one_a_warning() -> None:
    long = Answer("long", ("能不能说说", "详细讲讲"), "营" * (MAX_ANSWER_CHARS + 1))
    personal = Answer("personal", ("WiFi 密码", "无线网"), "您连 QIMU-Guest 就行，新品八折。")
    found = rules(lint_answers([store(HOURS, long, personal)]))
    assert ("answer_text", "answers long", "error") in found
    assert found.count(("answer_text", "answers personal", "warning")) == 2  # 您, and 新品 (promotion)


def test_an_answer_whose_questions_match_another_answer_better_is_a_warning() -> None:
    hours_again = Answer("closing_time", ("几点开门呀", "营业时间几点到几点", "几点关门"), "周末 22:30 关门。")
    found = lint_answers([store(HOURS, hours_again, PARKING)])
    assert ("answer_overlap", "answers closing_time", "warning") in rules(found) or \
        ("answer_overlap", "answers opening_hours", "warning") in rules(found)
