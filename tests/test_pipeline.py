"""The pipeline turns every message into a draft plan, and a failure into a draft that needs a manual reply."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.drafts.lifecycle import Status
from bot.drafts.pipeline import Inbound
from bot.wiring import load_pipeline
from tests.conftest import DATA, make_settings


def pipeline_with(styles: Path):
    return load_pipeline(make_settings("sqlite://", personas_dir=styles))


def inbound(text: str, **fields: object) -> Inbound:
    return Inbound(msg_id="m1", channel="demo", customer_id="c", text=text, **fields)


def test_a_marketing_intent_is_flagged_with_its_reason() -> None:
    plan = pipeline_with(DATA / "persona_styles").plan(inbound("有没有优惠券"))
    assert plan.status == Status.PENDING
    assert plan.intent == "promotion_inquiry"
    assert plan.marketing
    assert plan.flags[0] == {"code": "marketing", "reason": "意图 优惠活动 属于营销"}  # the intent's Chinese name


def test_the_kf_account_binding_chooses_the_persona() -> None:
    plan = pipeline_with(DATA / "persona_styles").plan(inbound("你好", open_kfid="wkLUCKY"))
    assert plan.persona == "lucky"
    assert plan.text.endswith("—— Lucky")


def test_a_template_that_raises_gives_a_manual_draft_with_the_reason(tmp_path: Path) -> None:
    styles = tmp_path / "persona_styles"
    shutil.copytree(DATA / "persona_styles", styles)
    (styles / "_default" / "templates" / "order_status.j2").write_text(
        '{% extends "base.j2" %}{% block v1 %}{{ 1 // 0 }}{% endblock %}', encoding="utf-8"
    )
    plan = pipeline_with(styles).plan(inbound("我的快递到哪了"))
    assert plan.status == Status.NEEDS_MANUAL
    assert plan.intent == "order_status"
    assert plan.manual_reason.startswith("回复模板出错：")
    assert "ZeroDivisionError" in plan.manual_reason


def test_a_message_that_is_not_text_needs_a_manual_reply_naming_its_kind() -> None:
    pipeline = pipeline_with(DATA / "persona_styles")
    assert pipeline.plan(inbound("", msg_type="image")).manual_reason == "客户发来的是图片，不是文字"
    assert pipeline.plan(inbound("", msg_type="voice")).manual_reason == "客户发来的是语音，不是文字"
    assert pipeline.plan(inbound("", msg_type="hologram")).manual_reason == "客户发来的不是文字（消息类型 hologram）"
    empty = pipeline.plan(inbound("   "))
    assert (empty.status, empty.manual_reason) == (Status.NEEDS_MANUAL, "客户发来的消息是空的")


def test_a_message_below_the_threshold_gets_the_fallback_template() -> None:
    pipeline = load_pipeline(make_settings("sqlite://", fallback_threshold=0.999))
    plan = pipeline.plan(inbound("qwxz 嗯哼"))
    assert plan.confidence < 0.999
    assert plan.intent == "fallback"
    assert plan.template == "_default/templates/fallback.j2"
    flag = next(flag for flag in plan.flags if flag["code"] == "low_confidence")
    prediction = pipeline.classifier.predict("qwxz 嗯哼")
    assert flag["reason"] == f"没有足够确定的意图（最接近 {pipeline.intent_name(prediction.best)}，{round(prediction.confidence * 100)}%）"
    assert (flag["best"], flag["confidence"]) == (prediction.best, prediction.confidence)


def test_a_question_split_over_messages_is_read_together() -> None:
    pipeline = pipeline_with(DATA / "persona_styles")
    assert pipeline.plan(inbound("到哪了")).intent == "fallback"  # unclear on its own
    plan = pipeline.plan(inbound("到哪了", earlier="你好\n订单 12345678"))
    assert (plan.intent, plan.entities.get("order_no")) == ("order_status", "12345678")


def test_a_message_clear_on_its_own_is_read_alone() -> None:
    pipeline = pipeline_with(DATA / "persona_styles")
    assert pipeline.plan(inbound("订单 12345678 到哪了\n你们客服态度太差了，我要投诉")).intent == "fallback"  # mixed up
    plan = pipeline.plan(inbound("你们客服态度太差了，我要投诉", earlier="订单 12345678 到哪了"))
    assert plan.intent == "complaint"
    assert plan.entities["order_no"] == "12345678"  # the intent is read alone; the order number given earlier carries forward
    assert pipeline.plan(inbound("有没有优惠券", earlier="订单 12345678 到哪了")).intent == "promotion_inquiry"


def test_earlier_lines_make_a_fragment_clear_but_never_change_its_reading() -> None:
    root = Path(__file__).resolve().parents[1]
    shipped = load_pipeline(make_settings("sqlite://", intents_dir=root / "intents", personas_dir=root / "persona_styles"))
    fragment = shipped.plan(inbound("团购价怎么算"))
    assert fragment.intent == "fallback" and fragment.flags[-1]["best"] in ("price_inquiry", "promotion_inquiry")
    assert shipped.plan(inbound("谢谢你们，很满意\n团购价怎么算")).intent == "thanks"  # read together, the thanks wins
    assert shipped.plan(inbound("团购价怎么算", earlier="谢谢你们，很满意")).intent == "fallback"  # so it is not read with it
