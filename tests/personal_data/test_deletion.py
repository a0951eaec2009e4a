"""Export and deletion of one customer's data through the API, searched for afterwards in every column and file."""

from __future__ import annotations

from datetime import datetime, timezone

import yaml
from sqlalchemy import select

from bot.db.models import ConfigDraft, ConfigVersion, Draft, OptOut
from bot.services import audit
from bot.services.configuration.files import ConfigFiles
from tests.conftest import bearer, run_jobs, runtime
from tests.factories import FakeClock
from tests.personal_data.helpers import (
    CUSTOMER, FIRST, NAME, OTHER, OTHER_CUSTOMER, REPLY, SECOND, WORDS, converse, found_in_columns, found_in_files, say, start,
)

EXPORT, DELETE = f"/api/customers/demo/{CUSTOMER}/export", f"/api/customers/demo/{CUSTOMER}"


def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc))  # 11:00 in Shanghai: no quiet hours


def quote_in_configuration(client) -> None:
    """An admin taught the classifier with the customer's message: in the draft configuration and in the active version."""
    rt = runtime(client)
    with rt.sessions() as session:
        version = session.scalars(select(ConfigVersion).order_by(ConfigVersion.id.desc())).first()
        files = dict(version.files)
        files["intents/order_status.yml"] = files["intents/order_status.yml"].replace(
            "examples:\n", f'examples:\n  - "{SECOND}"\n', 1)
        version.files, version.digest = files, ConfigFiles(files).digest
        row = session.get(ConfigDraft, 1) or ConfigDraft(id=1, base_version=version.number, updated_by="lin", files={})
        row.files = files
        session.merge(row)
        session.commit()


def test_the_export_holds_messages_drafts_what_was_sent_names_opt_outs_and_audit_events(database_url: str) -> None:
    client = start(database_url, clock())
    try:
        admin = bearer(client, "boss", "admin")
        ids = converse(client, admin)
        response = client.get(EXPORT, headers=admin)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["customer"] == {"channel": "demo", "customer_id": CUSTOMER, "customer_key": audit.customer_key("demo", CUSTOMER)}
        assert [m["text"] for m in data["messages"]] == [FIRST, SECOND, REPLY]
        assert {d["id"] for d in data["drafts"]} == {ids["first"], ids["second"]}
        assert {d["customer_name"] for d in data["drafts"]} == {NAME}
        assert [s["text"] for s in data["sent"]] == [REPLY]
        assert data["opt_out"]["opted_out"] is True
        assert [h["opted_out"] for h in data["opt_out"]["history"]] == [True, False, True]
        actions = [e["action"] for e in data["audit"]]
        assert {"rejected", "approved", "sent", "opt_out", "opt_out_lifted"} <= set(actions)
        assert OTHER not in response.text  # another customer's words are not theirs
        assert "exported_at" in data
        with runtime(client).sessions() as session:  # the export itself is audited, with counts and no words
            event = session.scalars(select(audit.AuditLog).where(audit.AuditLog.action == "customer_exported")).one()
            assert event.actor == "boss" and event.surface == "api" and event.detail["counts"]["messages"] == 3
            assert not any(word in str(event.detail) for word in WORDS)
    finally:
        client.__exit__(None, None, None)


def test_after_deletion_their_words_appear_nowhere_and_others_stay(database_url: str) -> None:
    client = start(database_url, clock())
    try:
        admin = bearer(client, "boss", "admin")
        ids = converse(client, admin)
        quote_in_configuration(client)
        rt = runtime(client)
        assert found_in_columns(rt.engine, WORDS)  # the search finds them before

        response = client.delete(DELETE, headers=admin)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["deleted"] is True and body["counts"]["messages"] == 3 and body["counts"]["config_examples"] == 2
        assert f"demo/{CUSTOMER}" in body["message"]

        assert found_in_columns(rt.engine, WORDS) == []
        assert found_in_columns(rt.engine, (CUSTOMER,)) == []  # nor their id: only its one-way hash
        if database_url.startswith("sqlite"):
            assert found_in_files(database_url, WORDS) == []
        assert found_in_columns(rt.engine, ("银杏湖公寓",))  # another customer's words stay
        with rt.sessions() as session:
            other = session.get(Draft, ids["other"])
            assert other.message_text == OTHER and other.customer_id == OTHER_CUSTOMER
            kept = session.get(Draft, ids["second"])  # the dashboard's facts stay, the texts go
            assert (kept.status, kept.approved_by, kept.persona) == ("sent", "boss", "lucky") or kept.status == "sent"
            assert kept.message_text == kept.original_text == "" and kept.final_text is None and kept.redacted_at
            for files in [session.get(ConfigDraft, 1).files, *(v.files for v in session.scalars(select(ConfigVersion)))]:
                parsed = yaml.safe_load(files["intents/order_status.yml"])  # still valid YAML, still an intent
                assert parsed["intent"] == "order_status" and SECOND not in parsed["examples"]
            for version in session.scalars(select(ConfigVersion)):
                assert version.digest == ConfigFiles(dict(version.files)).digest
            assert audit.verify(session).ok  # redaction keeps the chain whole
            deleted = session.scalars(select(audit.AuditLog).where(audit.AuditLog.action == "customer_deleted")).one()
            assert deleted.customer_key == audit.customer_key("demo", CUSTOMER) and deleted.customer_id is None
            assert deleted.detail["counts"]["drafts"] == 2
    finally:
        client.__exit__(None, None, None)


def test_deleting_twice_says_nothing_was_left(database_url: str) -> None:
    client = start(database_url, clock())
    try:
        admin = bearer(client, "boss", "admin")
        converse(client, admin)
        assert client.delete(DELETE, headers=admin).json()["deleted"] is True
        again = client.delete(DELETE, headers=admin)
        assert again.status_code == 200
        assert again.json()["deleted"] is False and "没有需要删除的资料" in again.json()["message"]
        unknown = client.delete("/api/customers/kf/nobody", headers=admin)
        assert unknown.status_code == 200 and unknown.json()["deleted"] is False
        empty = client.get("/api/customers/kf/nobody/export", headers=admin).json()
        assert (empty["messages"], empty["drafts"], empty["sent"], empty["names"]) == ([], [], [], [])
        assert empty["opt_out"] == {"opted_out": False, "history": []}
    finally:
        client.__exit__(None, None, None)


def kf_says(client, headers: dict, text: str, msg_id: str) -> dict:
    """The customer writes on 微信客服 through a pipeline that does not vouch for their words (no verified_customer)."""
    body = {"channel": "kf", "customer_id": CUSTOMER, "open_kfid": "wkLUCKY", "text": text, "msg_id": msg_id}
    assert client.post("/api/messages", json=body, headers=headers).status_code == 202
    run_jobs(client)
    return client.get("/api/drafts", params={"customer_id": CUSTOMER, "limit": 1}, headers=headers).json()[0]


def test_an_opted_out_customer_stays_opted_out_after_deletion(database_url: str) -> None:
    client = start(database_url, clock())
    try:
        admin = bearer(client, "boss", "admin")
        kf_says(client, admin, FIRST, "k1")
        assert client.post(f"/api/customers/kf/{CUSTOMER}/opt-out", json={"reason": "不要推销"}, headers=admin).status_code == 201
        assert client.delete(f"/api/customers/kf/{CUSTOMER}", headers=admin).json()["deleted"] is True
        with runtime(client).sessions() as session:
            rows = session.scalars(select(OptOut).where(OptOut.channel == "kf")).all()
            assert [(r.customer_id, r.reason, r.opted_out) for r in rows] == [
                ("sha256:" + audit.customer_key("kf", CUSTOMER), "", True)]
        assert client.get(f"/api/customers/kf/{CUSTOMER}/opt-out", headers=admin).json()["opted_out"] is True

        promo = kf_says(client, admin, "最近有什么优惠吗", "k2")  # they write again, about deals: a promotion intent
        assert promo["intent"] == "promotion_inquiry"
        assert any(c["code"] == "dont_disturb" and "退订" in c["reason"] for c in promo["checks"])
        client.post(f"/api/drafts/{promo['id']}/approve", json={}, headers=admin)
        run_jobs(client)
        blocked = client.get(f"/api/drafts/{promo['id']}", headers=admin).json()
        assert blocked["status"] == "blocked" and "退订" in blocked["send_errmsg"]
    finally:
        client.__exit__(None, None, None)


def test_export_and_delete_are_for_admins_only(database_url: str) -> None:
    client = start(database_url, clock())
    try:
        admin = bearer(client, "boss", "admin")
        say(client, admin, CUSTOMER, FIRST, "m1")
        for headers, status in (({}, 401), (bearer(client, "zhangsan", "staff"), 403), (bearer(client, "pipe", "intake"), 403)):
            assert client.get(EXPORT, headers=headers).status_code == status
            assert client.delete(DELETE, headers=headers).status_code == status
        assert client.get(EXPORT, headers=admin).json()["messages"][0]["text"] == FIRST  # nothing was deleted
        assert client.get("/api/customers/wechat/c1/export", headers=admin).status_code == 404  # no such channel
        assert client.delete("/api/customers/demo/" + "x" * 129, headers=admin).status_code == 422
    finally:
        client.__exit__(None, None, None)
