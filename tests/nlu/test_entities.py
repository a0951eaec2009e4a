from pathlib import Path

import pytest

from bot.errors import DataFileError
from bot.nlu.entities import Catalog, extract_entities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("订单 202611220001 周六下午3点能送到吗？才199元", {"order_no": "202611220001", "date": "周六", "time": "下午3点", "amount": "199元"}),
        ("订单号是 12345", {"order_no": "12345"}),
        ("单号:SF1234567890 到哪了", {"order_no": "SF1234567890"}),
        ("我电话 138-0013-8000 回我", {"phone": "13800138000"}),
        ("下周三上午10点半可以吗", {"date": "下周三", "time": "上午10点半"}),
        ("11月3日有位置吗", {"date": "11月3日"}),
        ("明天晚上8点", {"date": "明天", "time": "晚上8点"}),
        ("¥59.9 的那个", {"amount": "¥59.9"}),
        ("你好", {}),
    ],
)
def test_entities_in_chinese_messages(text: str, expected: dict) -> None:
    assert extract_entities(text) == expected


def test_a_phone_number_is_not_taken_for_an_order_number() -> None:
    assert extract_entities("手机13800138000") == {"phone": "13800138000"}


def test_products_come_from_the_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yml"
    path.write_text("products: [拿铁, 燕麦拿铁, 美式]\n", encoding="utf-8")
    catalog = Catalog.load(path)
    assert extract_entities("燕麦拿铁还有吗", catalog) == {"product": "燕麦拿铁"}


def test_a_bad_catalog_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yml"
    path.write_text("products: 拿铁\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="catalog.yml: products"):
        Catalog.load(path)
