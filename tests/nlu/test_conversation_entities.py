"""Entities of a conversation: fragments add up to the whole, the newest wins, context only fills gaps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu.conversation import conversation_entities
from bot.nlu.entities import Catalog, extract_entities

CATALOG = Catalog(("经典拿铁", "燕麦拿铁"))
FILLERS = ["你好", "我想问一下", "麻烦看看", "谢谢", "到哪了", "能送到吗", "好的", "另外", "还有", "？", "。", "，", "吧", "呢"]


def _order() -> st.SearchStrategy[str]:
    digits = st.text(alphabet="0123456789", min_size=6, max_size=12)
    return st.builds(lambda prefix, number: f"{prefix}{number}", st.sampled_from(["订单 ", "订单号", "单号：", "订单"]), digits)


ENTITY_PHRASES = {
    "order_no": _order(),
    "phone": st.builds(lambda tail: f"手机 13{tail}", st.text(alphabet="0123456789", min_size=9, max_size=9)),
    "date": st.sampled_from(["周六", "下周三", "明天", "12月3日", "礼拜天"]),
    "time": st.sampled_from(["下午3点", "上午10点半", "晚上7点", "中午"]),
    "amount": st.sampled_from(["199元", "￥58", "30块"]),
    "product": st.sampled_from(["经典拿铁", "燕麦拿铁"]),
}


@st.composite
def fragmented(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A message of fillers and at most one phrase per entity kind, and a random split of it into fragments.

    Pieces are written apart (as a customer separates a number from the next one); a split never
    cuts inside an entity, as a customer never sends half a phone number.
    """
    kinds = draw(st.lists(st.sampled_from(sorted(ENTITY_PHRASES)), unique=True, max_size=len(ENTITY_PHRASES)))
    pieces = [draw(ENTITY_PHRASES[kind]) for kind in kinds]
    pieces += draw(st.lists(st.sampled_from(FILLERS), max_size=5))
    pieces = draw(st.permutations(pieces))
    cuts = draw(st.sets(st.integers(min_value=1, max_value=max(1, len(pieces) - 1)), max_size=len(pieces)))
    bounds = [0, *sorted(c for c in cuts if c < len(pieces)), len(pieces)]
    fragments = [" ".join(pieces[a:b]) for a, b in zip(bounds, bounds[1:]) if pieces[a:b]]
    return " ".join(pieces), fragments


@settings(max_examples=300, deadline=None)
@given(fragmented())
def test_a_random_split_into_fragments_yields_the_entities_of_the_whole(case: tuple[str, list[str]]) -> None:
    whole, fragments = case
    entities, _ = conversation_entities(fragments, catalog=CATALOG)
    assert entities == extract_entities(whole, CATALOG)


def test_the_newest_line_wins_and_each_entity_names_its_source() -> None:
    entities, sources = conversation_entities(["订单 11112222", "周六能到吗", "是订单 33334444"])
    assert entities == {"order_no": "33334444", "date": "周六"}
    assert sources == {"order_no": "message", "date": "earlier"}


def test_a_number_sent_apart_from_its_word_is_still_the_order() -> None:
    assert conversation_entities(["订单", "87654321", "到哪了"])[0] == {"order_no": "87654321"}


def test_context_fills_only_what_the_conversation_lacks() -> None:
    entities, sources = conversation_entities(
        ["这单周日能到吗"], context=["订单 55556666 到哪了", "我周六在家"]
    )
    assert entities == {"order_no": "55556666", "date": "周日"}
    assert sources == {"order_no": "context", "date": "message"}


def test_newer_context_wins_over_older_context() -> None:
    entities, _ = conversation_entities(["还是那个订单"], context=["订单 11112222", "订单 33334444"])
    assert entities == {"order_no": "33334444"}
