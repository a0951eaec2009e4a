from bot.nlu.normalise import normalise


def test_traditional_becomes_simplified() -> None:
    assert normalise("我的訂單到哪了") == "我的订单到哪了"


def test_full_width_becomes_half_width_and_lower_case() -> None:
    assert normalise("ＡＢＣ１２３") == "abc123"


def test_repeated_punctuation_is_collapsed() -> None:
    assert normalise("在吗？？？！！！") == "在吗?!"
    assert normalise("好的。。。。") == "好的。"


def test_whitespace_is_collapsed() -> None:
    assert normalise("  你好 \n\t 在吗 ") == "你好 在吗"
