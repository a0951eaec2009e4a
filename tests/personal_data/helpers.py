"""What the personal-data tests share: an app on a fake clock, a customer's conversation, and searches of the database
(every text and JSON column with SQL, and on SQLite the bytes of the database files) for a customer's words."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, table, column
from sqlalchemy.engine import make_url

from bot.app import create_app
from tests.conftest import make_settings, run_jobs, runtime
from tests.factories import FakeClock

# The customer's own words, their name and the reply that quoted them; OTHER_CUSTOMER is another customer.
NAME = "胡桃夹子"
FIRST = "你好，我住在紫藤花园小区"
SECOND = "订单到哪了，旺财等着用"
REPLY = "您好，紫藤花园小区的订单明天送到"
WORDS = ("紫藤花园小区", "旺财等着用", NAME)
OTHER = "我在银杏湖公寓，订单到哪了"
CUSTOMER, OTHER_CUSTOMER = "wmZiTengCustomer01", "wmYinXingCustomer02"


def start(database_url: str, clock: FakeClock, **overrides: object) -> TestClient:
    """The app without its worker thread (tests run the jobs); close it with client.__exit__."""
    client = TestClient(create_app(make_settings(database_url, **overrides), clock=clock))
    client.__enter__()
    runtime(client).worker.stop()
    return client


def say(client: TestClient, headers: dict, customer: str, text: str, msg_id: str, *, name: str = "") -> dict:
    """The customer writes (through the intake API); returns their newest draft."""
    body = {"channel": "demo", "customer_id": customer, "text": text, "msg_id": msg_id, "customer_name": name}
    assert client.post("/api/messages", json=body, headers=headers).status_code == 202
    run_jobs(client)
    return client.get("/api/drafts", params={"customer_id": customer, "limit": 1}, headers=headers).json()[0]


def converse(client: TestClient, admin: dict) -> dict[str, int]:
    """CUSTOMER writes twice (one reply approved with an edit and sent, one draft rejected), is opted out by staff, the
    opt-out is lifted by an admin and recorded again; OTHER_CUSTOMER writes once. Returns the draft ids."""
    first = say(client, admin, CUSTOMER, FIRST, "m1", name=NAME)
    client.post(f"/api/drafts/{first['id']}/reject", json={"reason": "重复消息"}, headers=admin)
    second = say(client, admin, CUSTOMER, SECOND, "m2", name=NAME)
    assert client.post(f"/api/drafts/{second['id']}/approve", json={"text": REPLY}, headers=admin).status_code == 200
    run_jobs(client)
    assert client.post(f"/api/customers/demo/{CUSTOMER}/opt-out", json={"reason": "电话里说不要推销"}, headers=admin).status_code == 201
    lifted = client.request("DELETE", f"/api/customers/demo/{CUSTOMER}/opt-out", json={"reason": "客户又同意了"}, headers=admin)
    assert lifted.status_code == 200, lifted.text
    assert client.post(f"/api/customers/demo/{CUSTOMER}/opt-out", json={"reason": "再次要求不推销"}, headers=admin).status_code == 201
    other = say(client, admin, OTHER_CUSTOMER, OTHER, "m3", name="银杏")
    return {"first": first["id"], "second": second["id"], "other": other["id"]}


def _texts(value: object) -> str:
    """A stored value as text a person would read (JSON decoded, so escaped Chinese is searchable)."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    text = str(value)
    if text[:1] in "[{\"":
        try:
            return json.dumps(json.loads(text), ensure_ascii=False) + text
        except ValueError:
            pass
    return text


def found_in_columns(engine: Engine, words: tuple[str, ...]) -> list[str]:
    """Every (table.column) of every table whose values contain one of `words`, searched with SQL."""
    found = []
    inspector = inspect(engine)
    with engine.connect() as connection:
        for name in inspector.get_table_names():
            columns = [c["name"] for c in inspector.get_columns(name)]
            rows = connection.execute(select(*(column(c) for c in columns)).select_from(table(name))).all()
            for row in rows:
                for key, value in zip(columns, row):
                    text = _texts(value)
                    found += [f"{name}.{key}: {word}" for word in words if word in text]
    return sorted(set(found))


def found_in_files(database_url: str, words: tuple[str, ...]) -> list[str]:
    """The SQLite files (database, write-ahead log, journal) that hold one of `words`, as UTF-8 or JSON-escaped."""
    path = Path(make_url(database_url).database or "")
    found = []
    for suffix in ("", "-wal", "-journal"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            data = part.read_bytes()
            for word in words:
                if word.encode() in data or json.dumps(word)[1:-1].encode() in data:
                    found.append(f"{part.name}: {word}")
    return found
