"""The answers page of an intent: list, add, edit, delete, try a message; answers stay through example edits; usage counts."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.console import workspace
from bot.console.answer_usage import answer_usage
from bot.console.intent_files import read_intents
from bot.db.models import Draft, Message
from tests.conftest import runtime
from tests.console.conftest import Admin

PAGE = "/admin/intents/order_status/answers"
FORM = {"answer_id": "shipping_time", "questions": "一般几天能到\n发货后多久到\n多久能收到",
        "answer": "现货订单 48 小时内发货，江浙沪次日达，其他地区 2-4 天送达。"}


def answers(admin: Admin, intent: str = "order_status"):
    rt = runtime(admin.client)
    with rt.sessions() as session:
        return read_intents(workspace.load(session, rt.clock()).files).get(intent).answers


def test_add_edit_and_delete_an_answer_in_the_draft(admin: Admin) -> None:
    assert 'data-testid="no-answers"' in admin.client.get(PAGE).text
    added = admin.post(PAGE, FORM)
    assert added.status_code == 303 and added.headers["location"] == f"{PAGE}?ok=added"
    page = admin.client.get(added.headers["location"])
    assert "已添加答案" in page.text and "现货订单 48 小时内发货" in page.text and "用过 0 次" in page.text
    assert [(a.id, a.questions) for a in answers(admin)] == [("shipping_time", ("一般几天能到", "发货后多久到", "多久能收到"))]
    edited = admin.post(f"{PAGE}/shipping_time/edit", {**FORM, "answer_id": "delivery_time", "answer": "全部订单 24 小时内发货。"})
    assert edited.status_code == 303
    assert [(a.id, a.answer) for a in answers(admin)] == [("delivery_time", "全部订单 24 小时内发货。")]
    assert admin.post(f"{PAGE}/delivery_time/delete").status_code == 303
    assert answers(admin) == ()


def test_answers_survive_an_example_edit_of_their_intent(admin: Admin) -> None:
    admin.post(PAGE, FORM)
    assert admin.post("/admin/intents/order_status/examples", {"text": "包裹几时到我家"}).status_code == 303
    assert [a.id for a in answers(admin)] == ["shipping_time"]


def test_bad_answers_are_refused_in_chinese_with_what_was_typed_kept(admin: Admin) -> None:
    few = admin.post(PAGE, {**FORM, "questions": "一般几天能到"})
    assert few.status_code == 422 and "请至少写 2 种客户的问法" in few.text and "现货订单 48 小时内发货" in few.text
    long = admin.post(PAGE, {**FORM, "answer": "长" * 121})
    assert long.status_code == 422 and "答案太长了（121 字，最多 120 字）" in long.text
    bad_id = admin.post(PAGE, {**FORM, "answer_id": "Shipping Time"})
    assert bad_id.status_code == 422 and "答案编号只能用小写英文字母" in bad_id.text
    other = admin.post(PAGE, {**FORM, "questions": "一般几天能到\n你好"})
    assert other.status_code == 409 and "是意图 greeting 的例句" in other.text
    admin.post(PAGE, FORM)
    again = admin.post(PAGE, FORM)
    assert again.status_code == 409 and "已在意图 order_status 里用过" in again.text
    assert admin.post(f"{PAGE}/nope/delete").status_code == 404
    assert admin.client.get("/admin/intents/nope/answers").status_code == 404
    assert admin.client.post(PAGE, data=FORM, follow_redirects=False).status_code == 403  # no CSRF


def test_try_a_message_shows_the_answer_and_its_similarity(admin: Admin) -> None:
    admin.post(PAGE, FORM)
    admin.post(PAGE, {"answer_id": "courier", "questions": "发什么快递\n用的哪家快递", "answer": "全部订单发顺丰。"})
    tried = admin.post(f"{PAGE}/try", {"message": "你们用哪个快递公司发货"})
    assert tried.status_code == 200
    assert 'data-testid="try-chosen">courier<' in tried.text and 'data-testid="try-similarity"' in tried.text
    none = admin.post(f"{PAGE}/try", {"message": "能开发票吗"})
    assert 'data-testid="try-none"' in none.text
    assert admin.post(f"{PAGE}/try", {"message": "  "}).status_code == 422


def test_usage_counts_drafts_approved_unchanged_edited_and_rejected(admin: Admin) -> None:
    rt = runtime(admin.client)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    outcomes = [("approved", None), ("sent", "改过的话"), ("rejected", None), ("pending", None), ("superseded", None)]
    with rt.sessions() as session:
        for number, (status, final) in enumerate(outcomes):
            message = Message(channel="demo", customer_id=f"c{number}", msg_id=f"m{number}", text="几天到", created_at=now)
            session.add(message)
            session.flush()
            session.add(Draft(message_id=message.id, status=status, channel="demo", customer_id=f"c{number}", persona="_default",
                              intent="order_status", answer_id="shipping_time", original_text="原话", final_text=final or
                              ("原话" if status in ("approved", "sent") else None),
                              approved_by="lin" if status in ("approved", "sent") else None, created_at=now, updated_at=now))
        session.commit()
        use = answer_usage(session)["shipping_time"]
    assert (use.drafts, use.unchanged, use.edited, use.rejected, use.pending) == (4, 1, 1, 1, 1)
    admin.post(PAGE, FORM)
    assert "用过 4 次：直接批准 1，改后批准 1（修改率 50%），不发 1，待处理 1" in admin.client.get(PAGE).text


def test_the_dashboard_shows_how_often_each_answer_is_used(admin: Admin) -> None:
    rt = runtime(admin.client)
    now = rt.clock()
    with rt.sessions() as session:
        message = Message(channel="demo", customer_id="c1", msg_id="m1", text="几天到", created_at=now)
        session.add(message)
        session.flush()
        session.add(Draft(message_id=message.id, status="sent", channel="demo", customer_id="c1", persona="_default",
                          intent="order_status", answer_id="shipping_time", original_text="原话", final_text="原话",
                          approved_by="lin", created_at=now, updated_at=now))
        session.commit()
    page = admin.client.get("/admin")
    assert page.status_code == 200 and 'data-testid="answer-usage"' in page.text
    row = page.text.split('data-testid="answer-usage"')[1]
    assert "<code>shipping_time</code>" in row and "/admin/intents/order_status/answers#answer-shipping_time" in row


def test_answers_are_versioned_diffed_published_and_rolled_back(admin: Admin) -> None:
    from bot.drafts.pipeline import Inbound

    rt = runtime(admin.client)
    assert admin.post(PAGE, FORM).status_code == 303
    plan = rt.pipeline.plan(Inbound(msg_id="v0", channel="demo", customer_id="c", text="快递发出来以后要几天才能到"))
    assert plan.answer_id is None  # a draft until published
    say_answers(admin)
    versions = admin.client.get("/admin/versions").text
    assert "shipping_time" in versions and "现货订单 48 小时内发货" in versions  # the draft's diff shows the answer
    published = admin.post("/admin/versions/publish", {"note": "订单进度加上发货时效答案", "force": "1"})
    assert published.status_code == 303, published.text
    assert rt.config.poll() is True
    plan = rt.pipeline.plan(Inbound(msg_id="v1", channel="demo", customer_id="c", text="快递发出来以后要几天才能到"))
    assert (plan.intent, plan.answer_id) == ("order_status", "shipping_time")
    assert "现货订单 48 小时内发货" in plan.text
    assert admin.post("/admin/versions/1/rollback").status_code == 303
    assert rt.config.poll() is True
    plan = rt.pipeline.plan(Inbound(msg_id="v2", channel="demo", customer_id="c", text="快递发出来以后要几天才能到"))
    assert plan.answer_id is None


def say_answers(admin: Admin) -> None:
    """The test personas' base template says an answer after the variation (the shipped one does the same)."""
    rt = runtime(admin.client)
    with rt.sessions() as session:
        draft = workspace.load(session, rt.clock())
        files = dict(draft.files.files)
        path = "persona_styles/_default/templates/base.j2"
        files[path] = files[path].replace("{{ self[variation]() | trim }}",
                                          "{{ self[variation]() | trim }}{% if answer is defined %}{{ answer }}{% endif %}")
        workspace.save(session, type(draft.files)(files), user="lin", what="base.j2 says answers", now=rt.clock())
        session.commit()


def test_a_draft_whose_template_does_not_say_the_answer_records_none(admin: Admin) -> None:
    from bot.drafts.pipeline import Inbound

    rt = runtime(admin.client)
    assert admin.post(PAGE, FORM).status_code == 303
    assert admin.post("/admin/versions/publish", {"note": "只加答案", "force": "1"}).status_code == 303
    assert rt.config.poll() is True
    plan = rt.pipeline.plan(Inbound(msg_id="v1", channel="demo", customer_id="c", text="快递发出来以后要几天才能到"))
    assert plan.intent == "order_status" and plan.answer_id is None and "现货订单" not in plan.text


def test_publishing_refuses_an_answer_the_check_finds_wrong(admin: Admin) -> None:
    rt = runtime(admin.client)
    with rt.sessions() as session:
        draft = workspace.load(session, rt.clock())
        files = dict(draft.files.files)
        files["intents/order_status.yml"] += ("answers:\n  - id: hello\n    questions: [\"你好\", \"在吗在吗\"]\n"
                                              "    answer: \"在的。\"\n")
        workspace.save(session, type(draft.files)(files), user="lin", what="test", now=rt.clock())
        session.commit()
    refused = admin.post("/admin/versions/publish", {"note": "x", "force": "1"})
    assert refused.status_code in (409, 422) and "是意图 greeting 的例句" in refused.text.replace("也是意图", "是意图")
