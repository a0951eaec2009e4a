"""The dashboard (GET /admin): figures per intent, persona and staff member, periods, charts, the empty state."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from bot.console.insights import dashboard, format_duration, format_rate, parse_period
from bot.db.models import Draft, Message, OptOut
from tests.api.test_drafts_api import submit
from tests.conftest import bearer, run_jobs, runtime
from tests.console.conftest import Admin

_numbers = itertools.count(1)
ZONE = ZoneInfo("Asia/Shanghai")


def add_draft(client: TestClient, *, ago: timedelta = timedelta(days=1), decided_after: float | None = None,
              message: str = "我的快递到哪了", customer: str | None = None, **fields: object) -> int:
    """Store a customer message and its draft as the pipeline and staff would have left them; returns the draft id."""
    rt = runtime(client)
    number = next(_numbers)
    created = rt.clock() - ago
    customer = customer or f"cust-{number}"
    values: dict = dict(status="pending", intent="order_status", persona="lucky", confidence=0.9, runners_up=[],
                        original_text="王女士，您的订单已发出，预计明天送达。", flags=[])
    values.update(fields)
    if decided_after is not None:
        values["decided_at"] = created + timedelta(seconds=decided_after)
    with rt.sessions() as session:
        row = Message(channel="demo", msg_id=f"m{number}", customer_id=customer, text=message, created_at=created)
        session.add(row)
        session.flush()
        draft = Draft(message_id=row.id, channel="demo", customer_id=customer, message_text=message, created_at=created,
                      updated_at=created, **values)
        session.add(draft)
        session.commit()
        return draft.id


def crafted(client: TestClient) -> None:
    """A small history: three order questions (kept, edited, refused), a waiting complaint, a fallback that
    failed to send, a superseded draft, a hand-written reply, and one older draft (20 days ago)."""
    text = "王女士，您的订单已发出，预计明天送达。"
    add_draft(client, status="sent", approved_by="zhangsan", final_text=text, decided_after=60, customer="c1",
              sent_at=runtime(client).clock() - timedelta(hours=20))
    add_draft(client, status="sent", approved_by="zhangsan", final_text="王女士，订单已发出，明天到。", decided_after=120)
    add_draft(client, status="rejected", rejected_by="lisi", decided_after=300)
    add_draft(client, intent="complaint", persona="_default", assignee="lisi", original_text="非常抱歉……")
    add_draft(client, intent="fallback", status="send_failed", approved_by="lisi", final_text="您好，我来帮您查。",
              decided_after=30, send_errcode=95001, original_text="您好，我没太明白。")
    add_draft(client, intent="greeting", status="superseded")
    add_draft(client, intent=None, status="sent", approved_by="zhangsan", final_text="手写的回复", original_text="",
              decided_after=600, message="[图片]")
    add_draft(client, ago=timedelta(days=20), status="sent", approved_by="zhangsan", final_text=text, decided_after=10)


def opt_outs(client: TestClient) -> None:
    """c1 opts out after a reply; c-new opts out without any draft; staff record one for c2."""
    rt = runtime(client)
    with rt.sessions() as session:
        session.add_all([
            OptOut(channel="demo", customer_id="c1", opted_out=True, recorded_by="customer", created_at=rt.clock() - timedelta(hours=2)),
            OptOut(channel="demo", customer_id="c-new", opted_out=True, recorded_by="customer", created_at=rt.clock() - timedelta(hours=1)),
            OptOut(channel="demo", customer_id="c2", opted_out=True, recorded_by="lisi", created_at=rt.clock() - timedelta(hours=1)),
            OptOut(channel="demo", customer_id="c3", opted_out=False, recorded_by="customer", created_at=rt.clock()),
        ])
        session.commit()


def board(client: TestClient, days: int):
    rt = runtime(client)
    with rt.sessions() as session:
        return dashboard(session, now=rt.clock(), days=days, zone=ZONE)


def stat(html: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}"[^>]*><b>([^<]*)</b>', html).group(1)


def row(html: str, table: str, key: str) -> str:
    section = re.search(rf'data-testid="by-{table}".*?</section>', html, re.S).group(0)
    return re.search(rf'<tr data-key="{re.escape(key)}">.*?</tr>', section, re.S).group(0)


def test_the_figures_of_a_crafted_history(admin: Admin) -> None:
    crafted(admin.client)
    opt_outs(admin.client)
    figures = board(admin.client, 7)
    total = figures.total
    assert (total.drafts, total.approved, total.rejected, total.edited, total.approved_with_text) == (6, 4, 1, 2, 3)
    assert (total.pending, total.fallback, total.send_failures, figures.superseded) == (1, 1, 1, 1)
    assert total.approval_rate == 0.8 and total.reject_rate == 0.2
    assert abs(total.edit_rate - 2 / 3) < 1e-9 and abs(total.fallback_rate - 1 / 6) < 1e-9
    assert total.median_wait == 120  # of 30, 60, 120, 300, 600 seconds
    assert (total.opt_outs, figures.staff_opt_outs) == (2, 1)

    intents = {g.key: g.figures for g in figures.by_intent}
    assert list(intents) == ["order_status", "", "complaint", "fallback"]  # busiest first, then by name
    order = intents["order_status"]
    assert (order.drafts, order.approved, order.edited, order.rejected, order.opt_outs) == (3, 2, 1, 1, 1)
    assert order.median_wait == 120
    assert intents["fallback"].send_failures == 1 and intents["complaint"].pending == 1

    staff = {g.key: g.figures for g in figures.by_staff}
    assert (staff["zhangsan"].drafts, staff["zhangsan"].approved, staff["zhangsan"].opt_outs) == (3, 3, 1)
    assert (staff["lisi"].drafts, staff["lisi"].rejected, staff["lisi"].approved, staff["lisi"].pending) == (3, 1, 1, 1)
    personas = {g.key: g.figures for g in figures.by_persona}
    assert (personas["lucky"].drafts, personas["_default"].drafts, personas["lucky"].fallback) == (5, 1, 1)


def test_the_page_shows_the_figures_tables_charts_and_definitions(admin: Admin) -> None:
    crafted(admin.client)
    opt_outs(admin.client)
    page = admin.client.get("/admin?days=7")
    assert page.status_code == 200
    html = page.text
    assert stat(html, "stat-drafts") == "6" and stat(html, "stat-approval") == "80%" and stat(html, "stat-edit") == "67%"
    assert stat(html, "stat-reject") == "20%" and stat(html, "stat-wait") == "2.0 分钟" and stat(html, "stat-fallback") == "17%"
    assert stat(html, "stat-opt-outs") == "2" and stat(html, "stat-send-failures") == "1"
    assert "另有员工登记 1" in html
    order = row(html, "intent", "order_status")
    assert 'href="/admin/intents/order_status" title="客户询问订单或物流进度">订单进度</a>' in order  # the Chinese name
    assert '<span class="muted small">order_status</span>' in order  # the id in small text
    assert '<td class="num" data-col="drafts">3</td>' in order and 'title="2 / 3">67%' in order
    assert "福利官 Lucky" in row(html, "persona", "lucky")
    assert "（未指派）" not in html  # every draft here has a decider or an assignee
    assert 'badge-danger">1<' in row(html, "staff", "lisi")
    assert html.count('<svg class="chart"') == 2 and html.count('class="chart-bar"') == 7  # one bar per day
    assert "共 6 条，直接批准 2，改后批准 2，不发 1，待处理等 1" in html  # yesterday's bar, on hover
    assert "<dt>修改率</dt>" in html and "批准时改过文字的比例" in html
    assert "data-testid=\"dashboard-empty\"" not in html


def test_period_selection(admin: Admin) -> None:
    crafted(admin.client)
    assert board(admin.client, 7).total.drafts == 6
    assert board(admin.client, 30).total.drafts == 7
    assert len(board(admin.client, 30).daily) == 30 and len(board(admin.client, 90).daily) == 90
    assert stat(admin.client.get("/admin").text, "stat-drafts") == "7"  # 30 days by default
    assert stat(admin.client.get("/admin?days=90").text, "stat-drafts") == "7"
    seven = admin.client.get("/admin?days=7").text
    assert 'data-testid="period-7" aria-current="true"' in seven
    refused = admin.client.get("/admin?days=365")
    assert refused.status_code == 400
    assert "只能选最近 7、30 或 90 天" in refused.text and stat(refused.text, "stat-drafts") == "7"
    assert parse_period(None) == 30 and parse_period("90") == 90 and parse_period("-7") is None and parse_period("x") is None


def test_days_are_local_calendar_days(admin: Admin) -> None:
    add_draft(admin.client, ago=timedelta(0))
    add_draft(admin.client, ago=timedelta(days=6))
    add_draft(admin.client, ago=timedelta(days=7, hours=1))  # before the first of the last 7 local days
    figures = board(admin.client, 7)
    assert figures.total.drafts == 2
    assert figures.daily[-1].day == runtime(admin.client).clock().astimezone(ZONE).date()
    assert [d.drafts for d in figures.daily] == [1, 0, 0, 0, 0, 0, 1]
    assert figures.daily[1].fallback_rate is None


def test_an_empty_database_shows_a_friendly_empty_state(admin: Admin) -> None:
    page = admin.client.get("/admin")
    assert page.status_code == 200
    assert 'data-testid="dashboard-empty"' in page.text and "最近 30 天还没有草稿" in page.text
    assert "<svg" not in page.text and 'data-testid="definitions"' in page.text
    figures = board(admin.client, 7)
    assert figures.empty and figures.total.approval_rate is None and figures.total.median_wait is None
    assert format_rate(None) == "—" and format_duration(None) == "—"


def test_decisions_through_the_staff_api_reach_the_dashboard(admin: Admin) -> None:
    client = admin.client
    boss = bearer(client, "boss", "admin")
    kept = submit(client, boss, msg_id="a1")
    edited = submit(client, boss, msg_id="a2")
    refused = submit(client, boss, msg_id="a3")
    assert client.post(f"/api/drafts/{kept}/approve", json={}, headers=boss).status_code == 200
    assert client.post(f"/api/drafts/{edited}/approve", json={"text": "完全不同的一句回复"}, headers=boss).status_code == 200
    assert client.post(f"/api/drafts/{refused}/reject", json={}, headers=boss).status_code == 200
    run_jobs(client)
    html = client.get("/admin?days=7").text
    assert stat(html, "stat-drafts") == "3" and stat(html, "stat-approval") == "67%" and stat(html, "stat-edit") == "50%"
    assert '<td class="num" data-col="drafts">3</td>' in row(html, "staff", "boss")


def test_the_dashboard_needs_an_admin(client: TestClient) -> None:
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_durations_and_rates_read_at_a_glance() -> None:
    assert format_duration(42) == "42 秒" and format_duration(150) == "2.5 分钟"
    assert format_duration(5400) == "1.5 小时" and format_duration(2 * 86400) == "2.0 天"
    assert format_rate(0) == "0%" and format_rate(0.05) == "5.0%" and format_rate(2 / 3) == "67%" and format_rate(1) == "100%"
