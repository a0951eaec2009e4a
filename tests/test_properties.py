"""Property-based tests: random sequences of messages, approvals, edits, retries, opt-outs and clock moves.

Whatever happens: no customer receives text that no human approved; no promotional reply the customer
did not ask for breaks an opt-out, a frequency cap or quiet hours; no approval is sent twice.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.drafts.lifecycle import ApprovedReply
from bot.policy.dont_disturb import quiet_until
from bot.policy.marketing import promotional_words
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.factories import FakeClock

CUSTOMERS = ("c1", "c2")
TEXTS = {"service": "我的快递到哪了", "hello": "你好", "deals": "有没有优惠券", "angry": "你们服务太差了"}
PROMO = "本周有满减优惠券，欢迎来店"  # an edit that turns a service reply into a promotion nobody asked for
EDITS = (None, "好的，马上为您处理", PROMO, PROMO)


@dataclass
class Sent:
    reply: ApprovedReply
    at: datetime


class RecordingSender:
    """Records each reply with its time, in one event log shared with the opt-out ledger (order matters)."""

    def __init__(self, clock: FakeClock, events: list) -> None:
        self.clock = clock
        self.events = events
        self.sent: list[Sent] = []

    def send(self, reply: ApprovedReply) -> None:
        sent = Sent(reply, self.clock())
        self.sent.append(sent)
        self.events.append(("sent", sent))


actions = st.lists(
    st.one_of(
        st.tuples(st.just("message"), st.sampled_from(CUSTOMERS), st.sampled_from(sorted(TEXTS))),
        st.tuples(st.just("message"), st.sampled_from(CUSTOMERS), st.sampled_from(sorted(TEXTS))),
        st.tuples(st.just("approve"), st.integers(0, 5), st.sampled_from(EDITS)),
        st.tuples(st.just("approve"), st.integers(0, 5), st.sampled_from(EDITS)),
        st.tuples(st.just("approve_twice"), st.integers(0, 5), st.sampled_from(EDITS)),
        st.tuples(st.just("reject"), st.integers(0, 5)),
        st.tuples(st.just("opt_out"), st.sampled_from(CUSTOMERS)),
        st.tuples(st.just("lift"), st.sampled_from(CUSTOMERS)),
        st.tuples(st.just("clock"), st.sampled_from([5, 60, 180, 600, 1440])),
        st.tuples(st.just("jobs")),
    ),
    min_size=1,
    max_size=25,
)


# Sequences that must always be among those tried: each breaks one rule if the rules are not enforced.
OPT_OUT_THEN_PROMO = [("opt_out", "c1"), ("message", "c1", "hello"), ("approve", 0, PROMO), ("jobs",)]
TWO_PROMOS_IN_A_DAY = [("message", "c1", "hello"), ("approve", 0, PROMO), ("jobs",), ("clock", 60),
                       ("message", "c1", "service"), ("approve", 0, PROMO), ("jobs",)]
FOUR_PROMOS_IN_A_WEEK = [step for _ in range(4) for step in (("message", "c2", "hello"), ("approve", 0, PROMO), ("clock", 1440))]
RETRIED_APPROVALS = [("message", "c1", "service"), ("approve_twice", 0, None), ("jobs",), ("approve", 0, None), ("jobs",)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=actions, start_hour=st.integers(0, 23))
@example(steps=OPT_OUT_THEN_PROMO, start_hour=3)   # 11:30 in Shanghai, outside quiet hours
@example(steps=TWO_PROMOS_IN_A_DAY, start_hour=3)
@example(steps=FOUR_PROMOS_IN_A_WEEK, start_hour=3)
@example(steps=[("message", "c1", "hello"), ("approve", 0, PROMO), ("jobs",)], start_hour=15)  # 23:30 in Shanghai
@example(steps=RETRIED_APPROVALS, start_hour=3)
def test_no_unapproved_text_no_broken_rule_no_double_send(steps: list[tuple], start_hour: int) -> None:
    clock = FakeClock(datetime(2026, 11, 20, start_hour, 30, tzinfo=timezone.utc))
    with tempfile.TemporaryDirectory() as folder:
        app_settings = make_settings(f"sqlite:///{folder}/p.db")
        with TestClient(create_app(app_settings, clock=clock)) as client:
            runtime(client).worker.stop()
            events: list[tuple] = []  # ("sent", Sent) and ("ledger", customer, opted_out), in the order they happened
            sender = RecordingSender(clock, events)
            runtime(client).outbox.senders["demo"] = sender
            admin = bearer(client, "boss", "admin")
            for number, step in enumerate(steps):
                run_step(client, admin, step, number, events)
            run_jobs(client)
            drafts = {d["id"]: d for d in client.get("/api/drafts", params={"limit": 500}, headers=admin).json()}
    check_only_approved_text(sender, drafts)
    check_dont_disturb(events, drafts, app_settings)


def run_step(client: TestClient, admin: dict, step: tuple, number: int, events: list) -> None:
    kind = step[0]
    open_drafts = [d for d in client.get("/api/drafts", params={"limit": 500}, headers=admin).json() if d["status"] in ("pending", "needs_manual")]
    if kind == "message":
        body = {"channel": "demo", "customer_id": step[1], "text": TEXTS[step[2]], "msg_id": f"m{number}"}
        assert client.post("/api/messages", json=body, headers=admin).status_code == 202
        run_jobs(client)
    elif kind in ("approve", "approve_twice") and open_drafts:
        draft = open_drafts[step[1] % len(open_drafts)]
        body = {"text": step[2]} if step[2] else {}
        for _ in range(2 if kind == "approve_twice" else 1):
            response = client.post(f"/api/drafts/{draft['id']}/approve", json=body, headers=admin)
            assert response.status_code in (200, 409), response.text
    elif kind == "reject" and open_drafts:
        draft = open_drafts[step[1] % len(open_drafts)]
        assert client.post(f"/api/drafts/{draft['id']}/reject", json={}, headers=admin).status_code == 200
    elif kind in ("opt_out", "lift"):
        method = "POST" if kind == "opt_out" else "DELETE"  # an admin lifts an opt-out only with a reason
        response = client.request(method, f"/api/customers/demo/{step[1]}/opt-out", json={"reason": "客户要求"}, headers=admin)
        assert response.status_code in (200, 201), response.text
        events.append(("ledger", step[1], kind == "opt_out"))
    elif kind == "clock":
        runtime(client).clock.advance(minutes=step[1])
        run_jobs(client)
    elif kind == "jobs":
        run_jobs(client)


def check_only_approved_text(sender: RecordingSender, drafts: dict[int, dict]) -> None:
    ids = [s.reply.draft_id for s in sender.sent]
    assert len(ids) == len(set(ids)), "an approval was sent twice"
    for sent in sender.sent:
        draft = drafts[sent.reply.draft_id]
        assert draft["status"] == "sent"
        assert draft["approved_by"] == sent.reply.approved_by == "boss"
        assert sent.reply.text == draft["final_text"], "the customer got text other than the approved text"


def check_dont_disturb(events: list, drafts: dict[int, dict], app_settings) -> None:
    from bot.policy.dont_disturb import Rules

    rules = Rules.parse(daily_cap=app_settings.promo_daily_cap, weekly_cap=app_settings.promo_weekly_cap,
                        quiet_hours=app_settings.quiet_hours, timezone=app_settings.timezone)
    earlier: list[Sent] = []
    opted_out: dict[str, bool] = {}
    for event in events:
        if event[0] == "ledger":
            opted_out[event[1]] = event[2]
            continue
        sent = event[1]
        draft = drafts[sent.reply.draft_id]
        unsolicited_promo = (draft["marketing"] or promotional_words(sent.reply.text)) and not draft["solicited"]
        if unsolicited_promo:
            customer = sent.reply.customer_id
            assert not opted_out.get(customer), "a promotion went to a customer who opted out"
            assert quiet_until(sent.at, rules) is None, f"a promotion went out in quiet hours at {sent.at.astimezone(ZoneInfo(rules.zone.key))}"
            mine = [e for e in earlier if e.reply.customer_id == customer]
            assert sum(e.at > sent.at - timedelta(days=1) for e in mine) < rules.daily_cap
            assert sum(e.at > sent.at - timedelta(days=7) for e in mine) < rules.weekly_cap
            earlier.append(sent)
