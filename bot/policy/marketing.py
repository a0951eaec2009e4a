"""The marketing flag: a draft promotes something if its intent says so or its text reads like a promotion."""

from __future__ import annotations

import re

# Words that make a reply promotional whatever its intent (checked on the rendered text).
PROMOTIONAL_WORDS = (
    "优惠", "折扣", "打折", "满减", "立减", "优惠券", "领券", "券", "限时", "特价", "秒杀",
    "抢购", "买一送一", "第二杯半价", "半价", "拼团", "福利", "促销", "大促", "上新", "新品",
    "活动", "会员日", "赠品", "包邮", "下单立享",
)
_PATTERN = re.compile("|".join(re.escape(w) for w in sorted(PROMOTIONAL_WORDS, key=len, reverse=True)))


def promotional_words(text: str) -> list[str]:
    """The promotional words found in `text`, in order, without repeats."""
    return list(dict.fromkeys(_PATTERN.findall(text)))


def marketing_reason(*, intent_marketing: bool, intent: str, text: str) -> str | None:
    """Why this draft counts as marketing, or None if it does not."""
    if intent_marketing:
        return f"意图 {intent} 属于营销"
    words = promotional_words(text)
    if words:
        return "含促销用语：" + "、".join(words)
    return None
