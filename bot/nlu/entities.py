"""Entities templates can use: order numbers, phone numbers, Chinese dates and times, money, products."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.errors import DataFileError

# What a template may reference, with a sample value for the linter.
ENTITY_SAMPLES = {
    "order_no": "202611220001",
    "phone": "13800138000",
    "date": "周六",
    "time": "下午3点",
    "amount": "199元",
    "product": "经典拿铁",
}

_ORDER = re.compile(r"(?:订单|单号|订单号|order)\s*(?:号|no\.?|#)?\s*(?:是|为)?\s*[:：#]?\s*([A-Za-z0-9-]{5,32})", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])([A-Za-z]{0,4}\d{10,24})(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d[ -]?\d{4}[ -]?\d{4})(?!\d)")
_WEEKDAY = "一二三四五六日天"
_DATE = re.compile(
    r"(\d{1,2}月\d{1,2}[日号]"
    r"|(?:下下|下|这|本|上)?(?:周|星期|礼拜)[" + _WEEKDAY + r"]"
    r"|今天|明天|后天|大后天|今晚|明晚|今早|明早"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}/\d{1,2})"
)
_TIME = re.compile(
    r"((?:早上|上午|中午|下午|傍晚|晚上)?\s*\d{1,2}\s*(?:点|:|：)(?:半|\d{1,2}分?(?![\d元块.月日号]))?"
    r"|上午|中午|下午|傍晚|晚上)"
)
_MONEY = re.compile(r"((?:¥|￥|rmb\s?)\s?\d+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?\s?(?:元|块钱|块|rmb))", re.IGNORECASE)


@dataclass(frozen=True)
class Catalog:
    """Product names the brand sells (an optional YAML list), longest names matched first."""

    products: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path | None) -> "Catalog":
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DataFileError(path, None, f"cannot read the catalog: {exc}") from None
        products = data.get("products") if isinstance(data, dict) else data
        if not isinstance(products, list) or not all(isinstance(p, str) and p.strip() for p in products):
            raise DataFileError(path, "products", "must be a list of product names")
        return cls(tuple(sorted({p.strip() for p in products}, key=len, reverse=True)))

    def find(self, text: str) -> str | None:
        lowered = text.lower()
        return next((p for p in self.products if p.lower() in lowered), None)


def extract_entities(text: str, catalog: Catalog = Catalog()) -> dict[str, str]:
    """The entities found in a customer message (only those present).

    >>> extract_entities("订单 202611220001 周六下午3点能送到吗？才199元")
    {'order_no': '202611220001', 'date': '周六', 'time': '下午3点', 'amount': '199元'}
    """
    found: dict[str, str] = {}
    order = _ORDER.search(text)
    labelled = order.group(1).replace("-", "") if order else None  # "订单 13000000001" is an order, not a phone
    phone = next((digits for match in _PHONE.finditer(text)
                  if (digits := re.sub(r"[ -]", "", match.group(1))) != labelled), None)
    if phone:
        found["phone"] = phone
    if order:
        found["order_no"] = order.group(1)
    else:
        for match in _LONG_NUMBER.finditer(text):
            if match.group(1) != found.get("phone") and not _PHONE.fullmatch(match.group(1)):
                found["order_no"] = match.group(1)
                break
    date = _DATE.search(text)
    if date:
        found["date"] = date.group(1)
    time = _TIME.search(text)
    if time:
        found["time"] = re.sub(r"\s+", "", time.group(1))
    money = _MONEY.search(text)
    if money:
        found["amount"] = re.sub(r"\s+", "", money.group(1))
    product = catalog.find(text)
    if product:
        found["product"] = product
    return {key: found[key] for key in ENTITY_SAMPLES if key in found}
