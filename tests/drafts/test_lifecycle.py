from datetime import datetime, timezone

import pytest

from bot.db.models import Draft
from bot.drafts.access import Principal, check_may_decide
from bot.drafts.lifecycle import Approval, Status, approved_reply, check_rejectable, plan_approval
from bot.errors import EmptyText, NotAllowed, TransitionError


def draft(status: Status, **fields: object) -> Draft:
    values = dict(id=7, status=status.value, channel="kf", customer_id="wm1", open_kfid="wk1", assignee=None,
                  original_text="草稿", final_text=None, approved_by=None, approved_at=None)
    values.update(fields)
    return Draft(**values)


def test_approving_a_pending_draft_uses_the_draft_or_the_edit() -> None:
    assert plan_approval(draft(Status.PENDING), None).final_text == "草稿"
    assert plan_approval(draft(Status.PENDING), " 改过 ").final_text == "改过"


def test_a_repeated_approval_is_a_no_op() -> None:
    approval = plan_approval(draft(Status.APPROVED, final_text="草稿"), None)
    assert not approval.changed


@pytest.mark.parametrize(("status", "said"), [(Status.REJECTED, "已选择不发"), (Status.BLOCKED, "已拦截")])
def test_closed_drafts_cannot_be_approved(status: Status, said: str) -> None:
    with pytest.raises(TransitionError) as refused:
        plan_approval(draft(status), None)
    assert str(refused.value) == f"草稿 7 {said}，不能再批准"


def test_a_repeated_approval_of_a_sent_draft_names_the_sent_text_and_another_text_is_refused() -> None:
    sent = draft(Status.SENT, final_text="已发出的回复")
    assert plan_approval(sent, None) == Approval(changed=False, final_text="已发出的回复")
    assert plan_approval(sent, "已发出的回复") == Approval(changed=False, final_text="已发出的回复")
    with pytest.raises(TransitionError) as refused:
        plan_approval(sent, "别的内容")
    assert str(refused.value) == "草稿 7 已发送，不能再批准"


def test_an_approved_draft_cannot_be_approved_with_other_text() -> None:
    with pytest.raises(TransitionError) as refused:
        plan_approval(draft(Status.APPROVED, final_text="草稿"), "别的")
    assert str(refused.value) == "草稿 7 已按另一段文字批准，不能再改"


def test_a_manual_draft_needs_text() -> None:
    with pytest.raises(TransitionError) as refused:
        plan_approval(draft(Status.NEEDS_MANUAL), None)
    assert str(refused.value) == "草稿 7 需要人工回复：请连同要发送的文字一起批准"
    assert plan_approval(draft(Status.NEEDS_MANUAL), "手写回复").final_text == "手写回复"


def test_empty_text_is_refused() -> None:
    with pytest.raises(EmptyText, match="^修改后的文字为空$"):
        plan_approval(draft(Status.PENDING), "  ")


def test_staff_decide_their_own_or_unassigned_drafts_supervisors_their_teams_admins_all() -> None:
    check_may_decide(draft(Status.PENDING), Principal("a", "staff"))
    check_may_decide(draft(Status.PENDING, assignee="a"), Principal("a", "staff"))
    check_may_decide(draft(Status.PENDING, assignee="a"), Principal("boss", "admin"))
    check_may_decide(draft(Status.PENDING, assignee="a"), Principal("lead", "supervisor", frozenset({"a"})))
    with pytest.raises(NotAllowed, match="^草稿 7 已分配给 a$"):
        check_may_decide(draft(Status.PENDING, assignee="a"), Principal("b", "staff"))
    with pytest.raises(NotAllowed, match="^草稿 7 已分配给 a$"):
        check_may_decide(draft(Status.PENDING, assignee="a"), Principal("lead", "supervisor", frozenset({"c"})))
    with pytest.raises(NotAllowed, match="接入令牌"):
        check_may_decide(draft(Status.PENDING), Principal("pipe", "intake"))


def test_sent_drafts_cannot_be_rejected_and_rejecting_twice_is_a_no_op() -> None:
    with pytest.raises(TransitionError, match="^草稿 7 已发送，不能再选择不发$"):
        check_rejectable(draft(Status.SENT))
    assert check_rejectable(draft(Status.REJECTED)) is False


def test_the_approved_reply_carries_exactly_the_approved_text_and_a_stable_key() -> None:
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    reply = approved_reply(draft(Status.APPROVED, final_text="发这句", approved_by="zhang", approved_at=when))
    assert (reply.text, reply.approved_by, reply.customer_id) == ("发这句", "zhang", "wm1")
    assert reply.key == f"d7-{int(when.timestamp() * 1000)}"
    assert len(reply.key) <= 32


def test_an_approved_draft_without_approver_is_not_sendable() -> None:
    with pytest.raises(TransitionError):
        approved_reply(draft(Status.APPROVED, final_text="x", approved_by=None, approved_at=datetime.now(timezone.utc)))
