"""A customer's message an admin taught the classifier with, through the learning inbox, leaves the console's
draft configuration and every trace of the edit when the customer is deleted."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.conftest import bearer, runtime
from tests.console.conftest import make_account, sign_in
from tests.factories import FakeClock
from tests.personal_data.helpers import CUSTOMER, SECOND, WORDS, converse, found_in_columns, start


def test_an_example_added_from_the_inbox_goes_with_the_customer(database_url: str) -> None:
    client = start(database_url, FakeClock(datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)))
    try:
        admin = bearer(client, "boss", "admin")
        converse(client, admin)
        make_account(client, "lin")
        csrf = sign_in(client, "lin")
        added = client.post("/admin/intents/order_status/examples", data={"text": SECOND, "next": "/admin/inbox"},
                            headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
        assert added.status_code == 200 and added.json()["ok"], added.text
        assert client.delete(f"/api/customers/demo/{CUSTOMER}", headers=admin).json()["counts"]["config_examples"] == 1
        assert found_in_columns(runtime(client).engine, WORDS) == []
    finally:
        client.__exit__(None, None, None)
