"""Don't disturb (不打扰): opt-outs, frequency caps and quiet hours for promotional replies, with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.timefmt import local_time


@dataclass(frozen=True)
class Rules:
    """The brand's don't-disturb settings."""

    daily_cap: int = 1
    weekly_cap: int = 3
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(9, 0)
    zone: ZoneInfo = ZoneInfo("Asia/Shanghai")

    @classmethod
    def parse(cls, *, daily_cap: int, weekly_cap: int, quiet_hours: str, timezone: str) -> "Rules":
        """Rules from settings; quiet_hours is "HH:MM-HH:MM" or empty for none."""
        start = end = None
        if quiet_hours:
            first, second = quiet_hours.split("-")
            start, end = time.fromisoformat(first), time.fromisoformat(second)
        return cls(daily_cap, weekly_cap, start, end, ZoneInfo(timezone))


@dataclass(frozen=True)
class Customer:
    """What the rules need to know about the customer at the moment of sending."""

    opted_out: bool = False
    opted_out_at: datetime | None = None
    promos_last_day: int = 0    # unsolicited promotional replies sent in the last 24 h
    promos_last_week: int = 0   # ... in the last 7 days


@dataclass(frozen=True)
class Verdict:
    """send now, hold until `until`, or block; every hold and block says why."""

    action: str  # "send" | "hold" | "block"
    reason: str | None = None
    until: datetime | None = None


SEND = Verdict("send")


def check_send(*, promotional: bool, solicited: bool, customer: Customer, now: datetime, rules: Rules) -> Verdict:
    """May this approved reply go out now? Service replies always may; unsolicited promotion only within the rules."""
    if not promotional or solicited:
        return SEND  # service replies, and answers to the customer's own question about deals or advice
    if customer.opted_out:
        when = f"于 {local_time(customer.opted_out_at, rules.zone.key)}" if customer.opted_out_at else ""
        return Verdict("block", f"客户已{when}退订营销消息")
    if customer.promos_last_day >= rules.daily_cap:
        return Verdict("block", f"24 小时内已给该客户发过 {customer.promos_last_day} 条营销消息（上限 {rules.daily_cap} 条）")
    if customer.promos_last_week >= rules.weekly_cap:
        return Verdict("block", f"7 天内已给该客户发过 {customer.promos_last_week} 条营销消息（上限 {rules.weekly_cap} 条）")
    opens = quiet_until(now, rules)
    if opens is not None:
        return Verdict("hold", f"免打扰时段：营销消息要等到 {local_time(opens, rules.zone.key, '%H:%M')}以后再发", opens)
    return SEND


def quiet_until(now: datetime, rules: Rules) -> datetime | None:
    """When the quiet hours around `now` end, or None if `now` is outside them."""
    if rules.quiet_start is None or rules.quiet_end is None or rules.quiet_start == rules.quiet_end:
        return None
    local = now.astimezone(rules.zone)
    clock = local.time()
    start, end = rules.quiet_start, rules.quiet_end
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    opening = datetime.combine(local.date(), end, tzinfo=rules.zone)
    if opening <= local:
        opening += timedelta(days=1)
    return opening
