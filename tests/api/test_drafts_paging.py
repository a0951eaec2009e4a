"""GET /api/drafts pages past its limit with a cursor (`before_id`), named by `X-Next-Cursor` and `Link`."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import insert

from bot.db.models import Draft, Message
from tests.conftest import bearer, runtime

TOTAL = 1203


def add_drafts(client: TestClient, count: int, *, assignee: str | None = None) -> None:
    """Store `count` decided drafts directly (the pipeline is not what is under test here)."""
    rt = runtime(client)
    now = rt.clock()
    with rt.sessions() as session:
        start = session.query(Message).count()
        for index in range(start, start + count):
            message_id = session.execute(insert(Message).values(
                channel="demo", msg_id=f"m{index}", customer_id=f"c{index % 7}", text=f"第 {index} 条", created_at=now,
            )).inserted_primary_key[0]
            session.execute(insert(Draft).values(
                message_id=message_id, status="rejected", channel="demo", customer_id=f"c{index % 7}",
                persona="_default", assignee=assignee, message_text=f"第 {index} 条", created_at=now, updated_at=now,
            ))
        session.commit()


def test_a_client_pages_through_more_than_500_drafts_with_the_next_cursor(client: TestClient) -> None:
    add_drafts(client, TOTAL)
    admin = bearer(client, "boss", "admin")
    seen: list[int] = []
    params: dict = {"limit": 500}
    pages = 0
    while True:
        response = client.get("/api/drafts", params=params, headers=admin)
        assert response.status_code == 200, response.text
        page = [d["id"] for d in response.json()]
        seen += page
        pages += 1
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            assert "Link" not in response.headers
            break
        assert cursor == str(page[-1])
        assert response.headers["Link"] == f'</api/drafts?limit=500&before_id={cursor}>; rel="next"'
        params = {"limit": 500, "before_id": cursor}
    assert pages == 3
    assert len(seen) == TOTAL == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_the_link_header_keeps_the_filters_and_an_exact_last_page_has_no_cursor(client: TestClient) -> None:
    add_drafts(client, 6)
    admin = bearer(client, "boss", "admin")
    first = client.get("/api/drafts", params={"limit": 2, "customer_id": "c1", "status": "rejected"}, headers=admin)
    assert len(first.json()) == 1 and "X-Next-Cursor" not in first.headers
    everything = client.get("/api/drafts", params={"limit": 3}, headers=admin)
    cursor = everything.headers["X-Next-Cursor"]
    link = everything.headers["Link"]
    following = client.get(link[1:link.index(">")], headers=admin)
    assert [d["id"] for d in following.json()] == list(range(int(cursor) - 1, int(cursor) - 4, -1))
    assert "X-Next-Cursor" not in following.headers  # six drafts, two full pages: nothing after the second


def test_paging_shows_staff_only_what_they_may_see(client: TestClient) -> None:
    add_drafts(client, 4, assignee="lisi")
    add_drafts(client, 3)
    staff = bearer(client, "zhangsan")
    first = client.get("/api/drafts", params={"limit": 2}, headers=staff)
    second = client.get("/api/drafts", params={"limit": 2, "before_id": first.headers["X-Next-Cursor"]}, headers=staff)
    assert len(first.json()) + len(second.json()) == 3
    assert "X-Next-Cursor" not in second.headers


def test_a_bad_cursor_is_422_with_a_reason_in_chinese(client: TestClient) -> None:
    admin = bearer(client, "boss", "admin")
    for bad in ("abc", "0", "-3", "1.5", "١٢"):
        response = client.get("/api/drafts", params={"before_id": bad}, headers=admin)
        assert response.status_code == 422, bad
        assert "before_id 应为正整数" in response.json()["detail"]
