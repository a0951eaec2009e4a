from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from bot.policy.dont_disturb import Customer, Rules, check_send, quiet_until

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = Rules.parse(daily_cap=1, weekly_cap=3, quiet_hours="21:00-09:00", timezone="Asia/Shanghai")
NOON = datetime(2026, 11, 22, 12, tzinfo=SHANGHAI)


def test_service_replies_always_go() -> None:
    verdict = check_send(promotional=False, solicited=False, customer=Customer(opted_out=True, promos_last_day=9), now=NOON.replace(hour=23), rules=RULES)
    assert verdict.action == "send"


def test_a_question_about_deals_is_answered_even_after_an_opt_out() -> None:
    assert check_send(promotional=True, solicited=True, customer=Customer(opted_out=True), now=NOON, rules=RULES).action == "send"


def test_unsolicited_promotion_is_blocked_after_an_opt_out() -> None:
    verdict = check_send(promotional=True, solicited=False, customer=Customer(opted_out=True), now=NOON, rules=RULES)
    assert verdict.action == "block"
    assert verdict.reason == "客户已退订营销消息"
    when = datetime(2026, 11, 19, 20, tzinfo=timezone.utc)  # 2026-11-20 04:00 in Shanghai
    dated = check_send(promotional=True, solicited=False, customer=Customer(opted_out=True, opted_out_at=when), now=NOON, rules=RULES)
    assert dated.reason == "客户已于 2026-11-20 04:00（北京时间）退订营销消息"


def test_caps_per_day_and_week() -> None:
    daily = check_send(promotional=True, solicited=False, customer=Customer(promos_last_day=1), now=NOON, rules=RULES)
    assert (daily.action, daily.reason) == ("block", "24 小时内已给该客户发过 1 条营销消息（上限 1 条）")
    weekly = check_send(promotional=True, solicited=False, customer=Customer(promos_last_week=3), now=NOON, rules=RULES)
    assert (weekly.action, weekly.reason) == ("block", "7 天内已给该客户发过 3 条营销消息（上限 3 条）")
    assert check_send(promotional=True, solicited=False, customer=Customer(promos_last_week=2), now=NOON, rules=RULES).action == "send"


def test_quiet_hours_hold_until_nine_in_the_brands_time_zone() -> None:
    late = datetime(2026, 11, 22, 22, 30, tzinfo=SHANGHAI)
    verdict = check_send(promotional=True, solicited=False, customer=Customer(), now=late, rules=RULES)
    assert verdict.action == "hold"
    assert verdict.reason == "免打扰时段：营销消息要等到 09:00（北京时间）以后再发"
    assert verdict.until == datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    early = datetime(2026, 11, 23, 8, 59, tzinfo=SHANGHAI)
    assert quiet_until(early, RULES) == datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    assert quiet_until(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), RULES) is None
    assert quiet_until(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc), RULES) is None  # 09:00 in Shanghai


def test_no_quiet_hours() -> None:
    rules = Rules.parse(daily_cap=1, weekly_cap=3, quiet_hours="", timezone="Asia/Shanghai")
    assert quiet_until(NOON.replace(hour=23), rules) is None


def test_reasons_name_a_zone_without_a_common_name_by_its_offset() -> None:
    rules = Rules.parse(daily_cap=1, weekly_cap=3, quiet_hours="21:00-09:00", timezone="America/New_York")
    late = datetime(2026, 11, 23, 3, 30, tzinfo=timezone.utc)  # 22:30 on the 22nd in New York (UTC-5)
    assert check_send(promotional=True, solicited=False, customer=Customer(), now=late, rules=rules).reason == \
        "免打扰时段：营销消息要等到 09:00（UTC-5）以后再发"
    summer = datetime(2026, 7, 1, 12, tzinfo=timezone.utc)  # 08:00 in New York (UTC-4)
    out = check_send(promotional=True, solicited=False, customer=Customer(opted_out=True, opted_out_at=summer), now=late, rules=rules)
    assert out.reason == "客户已于 2026-07-01 08:00（UTC-4）退订营销消息"
