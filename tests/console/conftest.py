"""Console fixtures: the app with a signed-in admin (`admin`), and `sign_in` for any account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from bot.db.accounts import save_account
from tests.conftest import runtime

PASSWORD = "correct horse"


def make_account(client: TestClient, user: str, role: str = "admin", password: str = PASSWORD) -> None:
    rt = runtime(client)
    with rt.sessions() as session:
        save_account(session, user_id=user, role=role, password=password, now=rt.clock())
        session.commit()


def sign_in(client: TestClient, user: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the CSRF token the console pages carry."""
    response = client.post("/admin/login", data={"user_id": user, "password": password, "next": "/admin"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/admin/intents")
    assert page.status_code == 200, page.text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


@dataclass
class Admin:
    """A TestClient signed in as admin `lin`; `csrf` goes into form posts (field csrf) or X-CSRF-Token."""

    client: TestClient
    csrf: str

    def post(self, url: str, data: dict | None = None, **kwargs: object):
        return self.client.post(url, data={**(data or {}), "csrf": self.csrf}, follow_redirects=False, **kwargs)

    def post_json(self, url: str, body: dict):
        return self.client.post(url, json=body, headers={"X-CSRF-Token": self.csrf})


@pytest.fixture
def admin(client: TestClient) -> Iterator[Admin]:
    make_account(client, "lin")
    yield Admin(client, sign_in(client, "lin"))
