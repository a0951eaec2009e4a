"""Reading the trail: GET /api/audit's filters and cursor, a supervisor limited to their team (API, console,
dashboard, their drafts), the console's 操作记录 with filters and its CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from bot.services.access import set_team
from tests.conftest import bearer, run_jobs, runtime
from tests.console.conftest import make_account, sign_in
from tests.factories import FakeClock


def team(client: TestClient, supervisor: str, members: list[str]) -> None:
    rt = runtime(client)
    with rt.sessions() as session:
        set_team(session, supervisor, members, actor="ops", role="admin", surface="cli", now=rt.clock())
        session.commit()


def drafts_for(client: TestClient, *assignees: str) -> list[int]:
    """One archive draft per assignee (their own 1:1 chat), ids in order."""
    admin = bearer(client, "boss", "admin")
    for n, staff in enumerate(assignees):
        body = {"channel": "archive", "customer_id": f"wm{n}", "text": "我的快递到哪了", "msg_id": f"r{n}", "staff_id": staff}
        assert client.post("/api/messages", json=body, headers=admin).status_code == 202
    run_jobs(client)
    return sorted(d["id"] for d in client.get("/api/drafts", headers=admin).json())


def test_filters_and_the_cursor(client: TestClient, clock: FakeClock) -> None:
    admin = bearer(client, "boss", "admin")
    ids = drafts_for(client, "zhangsan", "lisi", "zhangsan")
    for draft_id in ids:
        assert client.post(f"/api/drafts/{draft_id}/approve", json={}, headers=admin).status_code == 200
        clock.advance(days=1)
    assert client.post("/api/customers/archive/wm1/opt-out", json={"reason": "不要推送"}, headers=admin).status_code == 201

    every = client.get("/api/audit", headers=admin).json()
    assert [e["action"] for e in every][:4] == ["opt_out", "approved", "approved", "approved"]
    assert [e["action_name"] for e in every][:2] == ["记录退订", "批准发送"]
    approved = client.get("/api/audit", params={"action": "approved"}, headers=admin).json()
    assert [e["subject"] for e in approved] == [f"draft:{i}" for i in reversed(ids)]
    about = client.get("/api/audit", params={"channel": "archive", "customer_id": "wm1"}, headers=admin).json()
    assert [(e["action"], e["customer_id"]) for e in about] == [("opt_out", "wm1"), ("approved", "wm1")]
    assert client.get("/api/audit", params={"actor": "boss", "action": "opt_out"}, headers=admin).json()[0]["subject"] == "customer"
    first_day = (clock() - timedelta(days=3)).astimezone(ZoneInfo(runtime(client).settings.timezone)).date().isoformat()
    only_first = client.get("/api/audit", params={"action": "approved", "since": first_day, "until": first_day},
                            headers=admin).json()
    assert [e["subject"] for e in only_first] == [f"draft:{ids[0]}"]

    page = client.get("/api/audit", params={"limit": 2}, headers=admin)
    cursor = page.headers["X-Next-Cursor"]
    assert cursor == str(page.json()[-1]["id"]) and 'rel="next"' in page.headers["Link"]
    rest = client.get("/api/audit", params={"limit": 500, "before_id": cursor}, headers=admin)
    assert "X-Next-Cursor" not in rest.headers
    assert [e["id"] for e in page.json()] + [e["id"] for e in rest.json()] == [e["id"] for e in every]

    for params, words in (({"before_id": "abc"}, "before_id"), ({"since": "yesterday"}, "since"),
                          ({"action": "explode"}, "没有这种操作类型"), ({"customer_id": "wm1"}, "渠道"),
                          ({"since": "2026-12-05", "until": "2026-12-01"}, "晚于")):
        refused = client.get("/api/audit", params=params, headers=admin)
        assert refused.status_code == 422 and words in refused.json()["detail"], (params, refused.text)


def test_a_supervisor_reads_and_decides_for_their_team_only(client: TestClient) -> None:
    team(client, "wang", ["zhangsan"])
    lead, admin = bearer(client, "wang", "supervisor"), bearer(client, "boss", "admin")
    mine, others = drafts_for(client, "zhangsan", "lisi")
    assert [d["id"] for d in client.get("/api/drafts", headers=lead).json()] == [mine]
    assert client.get(f"/api/drafts/{others}", headers=lead).status_code == 404
    assert client.post(f"/api/drafts/{others}/approve", json={}, headers=lead).status_code == 404
    approved = client.post(f"/api/drafts/{mine}/approve", json={"text": "主管代为回复"}, headers=lead)
    assert approved.status_code == 200 and approved.json()["approved_by"] == "wang"
    assert client.post(f"/api/drafts/{others}/reject", json={}, headers=admin).status_code == 200
    staff = bearer(client, "zhangsan")
    assert client.post("/api/customers/archive/wm0/opt-out", json={"reason": "电话里说的"}, headers=staff).status_code == 201

    seen = client.get("/api/audit", headers=lead).json()
    assert {e["actor"] for e in seen} == {"wang", "zhangsan"}
    assert [e["action"] for e in seen] == ["opt_out", "approved"]
    assert client.get("/api/audit", params={"actor": "boss"}, headers=lead).json() == []  # not their team
    assert client.get("/api/audit", headers=staff).status_code == 403
    lifted = client.request("DELETE", "/api/customers/archive/wm0/opt-out", json={"reason": "记错了"}, headers=lead)
    assert lifted.status_code == 200  # their team member's opt-out


def test_the_console_page_filters_and_exports_csv(client: TestClient) -> None:
    team(client, "wang", ["zhangsan"])
    admin = bearer(client, "boss", "admin")
    mine, others = drafts_for(client, "zhangsan", "lisi")
    assert client.post(f"/api/drafts/{mine}/approve", json={"text": "=HYPERLINK(\"x\")"}, headers=bearer(client, "zhangsan")).status_code == 200
    assert client.post(f"/api/drafts/{others}/reject", json={"reason": "重复"}, headers=admin).status_code == 200
    make_account(client, "lin")
    sign_in(client, "lin")

    page = client.get("/admin/audit")
    actions = re.findall(r'data-testid="audit-row" data-action="(\w+)"', page.text)
    assert actions[:2] == ["rejected", "approved"] and "team_set" in actions and "initial" in actions
    assert ">批准发送</span>" in page.text and ">选择不发</span>" in page.text and "原因：重复" in page.text
    assert "（北京时间）" in page.text and "接口" in page.text
    filtered = client.get("/admin/audit", params={"action": "approved", "actor": "zhangsan"})
    assert re.findall(r'data-testid="audit-row" data-action="(\w+)"', filtered.text) == ["approved"]
    assert '<option value="approved" selected>' in filtered.text
    assert 'href="/admin/audit.csv?actor=zhangsan&amp;action=approved"' in filtered.text
    bad = client.get("/admin/audit", params={"since": "昨天"})
    assert bad.status_code == 400 and "since 应为日期" in bad.text

    exported = client.get("/admin/audit.csv", params={"action": "approved"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["id", "时间", "操作人", "角色", "来源", "操作"]
    [row] = rows[1:]
    assert row[2:6] == ["zhangsan", "员工", "接口", "批准发送"] and row[9] == "'=HYPERLINK(\"x\")"  # never a formula

    client.post("/admin/logout")
    make_account(client, "wang", "supervisor")
    sign_in_to = client.post("/admin/login", data={"user_id": "wang", "password": "correct horse", "next": "/admin"},
                             follow_redirects=False)
    assert sign_in_to.status_code == 303
    theirs = client.get("/admin/audit")
    assert theirs.status_code == 200 and "你是主管" in theirs.text
    assert set(re.findall(r'data-testid="audit-row" data-action="(\w+)"', theirs.text)) == {"approved"}
    dashboard = client.get("/admin")
    assert dashboard.status_code == 200 and "只统计你和你的团队（zhangsan）" in dashboard.text
    assert client.get("/admin/intents").status_code == 403
