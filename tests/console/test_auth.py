"""Signing in to the console: admins only, server-side sessions, CSRF on every write."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bot.db.accounts import MAX_FAILURES_PER_ACCOUNT, disable_account, record_failure
from tests.conftest import runtime
from tests.console.conftest import Admin, make_account, sign_in


def test_a_visitor_is_sent_to_sign_in_and_back(client: TestClient) -> None:
    response = client.get("/admin/intents?q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin/intents%3Fq%3Dx"
    make_account(client, "lin")
    signed = client.post("/admin/login", data={"user_id": "lin", "password": "correct horse", "next": "/admin/intents?q=x"},
                         follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/admin/intents?q=x"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/admin" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get("/admin/intents").status_code == 200


def test_wrong_password_unknown_user_and_empty_form_are_refused(client: TestClient) -> None:
    make_account(client, "lin")
    wrong = client.post("/admin/login", data={"user_id": "lin", "password": "nope-nope"})
    assert wrong.status_code == 401 and "账号或密码不正确" in wrong.text
    unknown = client.post("/admin/login", data={"user_id": "ghost", "password": "correct horse"})
    assert unknown.status_code == 401 and "账号或密码不正确" in unknown.text
    empty = client.post("/admin/login", data={"user_id": "", "password": ""})
    assert empty.status_code == 400
    assert client.get("/admin/intents", follow_redirects=False).status_code == 303


def test_a_staff_account_cannot_open_the_console(client: TestClient) -> None:
    make_account(client, "wang", role="staff")
    response = client.post("/admin/login", data={"user_id": "wang", "password": "correct horse"}, follow_redirects=False)
    assert response.status_code == 403 and "员工账号" in response.text
    assert "set-cookie" not in response.headers
    assert client.get("/admin/intents", follow_redirects=False).status_code == 303


def test_an_admin_demoted_to_staff_loses_the_console(admin: Admin) -> None:
    make_account(admin.client, "lin", role="staff")  # saving an account ends its sessions
    assert admin.client.get("/admin/intents", follow_redirects=False).status_code == 303
    sign_in_again = admin.client.post("/admin/login", data={"user_id": "lin", "password": "correct horse"})
    assert sign_in_again.status_code == 403


def test_disabling_an_account_ends_its_session(admin: Admin) -> None:
    rt = runtime(admin.client)
    with rt.sessions() as session:
        assert disable_account(session, "lin", now=rt.clock())
        session.commit()
    assert admin.client.get("/admin/intents", follow_redirects=False).status_code == 303


def test_sessions_expire(admin: Admin, clock) -> None:
    clock.advance(hours=12, seconds=1)
    assert admin.client.get("/admin/intents", follow_redirects=False).status_code == 303


def test_writes_need_the_csrf_token(admin: Admin) -> None:
    response = admin.client.post("/admin/draft/discard", data={}, follow_redirects=False)
    assert response.status_code == 403 and "CSRF" in response.text
    forged = admin.client.post("/admin/draft/discard", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert admin.post("/admin/draft/discard").status_code == 303


def test_sign_out_ends_the_session(admin: Admin) -> None:
    response = admin.client.post("/admin/logout", follow_redirects=False)
    assert response.status_code == 303
    assert admin.client.get("/admin/intents", follow_redirects=False).status_code == 303


def test_the_next_parameter_never_leaves_the_console(client: TestClient) -> None:
    make_account(client, "lin")
    for target in ("https://evil.example/", "//evil.example/admin", "/api/drafts"):
        response = client.post("/admin/login", data={"user_id": "lin", "password": "correct horse", "next": target},
                               follow_redirects=False)
        assert response.headers["location"] == "/admin"


def test_two_admins_sign_in_independently(client: TestClient) -> None:
    make_account(client, "lin")
    make_account(client, "zhou")
    sign_in(client, "lin")
    other = TestClient(client.app)
    sign_in(other, "zhou")
    assert client.get("/admin/intents").status_code == 200 and other.get("/admin/intents").status_code == 200


def _try(client: TestClient, password: str, user: str = "lin"):
    return client.post("/admin/login", data={"user_id": user, "password": password}, follow_redirects=False)


def test_repeated_wrong_passwords_make_that_account_wait(client: TestClient, clock) -> None:
    make_account(client, "lin")
    make_account(client, "zhao")
    for _ in range(5):
        assert _try(client, "guess-guess").status_code == 401
    blocked = _try(client, "correct horse")  # even the right password waits: guessing must not be able to go on
    assert blocked.status_code == 429 and "15 分钟后再试" in blocked.text
    assert int(blocked.headers["retry-after"]) == 15 * 60
    assert "set-cookie" not in blocked.headers
    assert _try(client, "correct horse", user="zhao").status_code == 303  # other accounts are not affected
    clock.advance(minutes=10)
    assert "5 分钟后再试" in _try(client, "correct horse").text
    clock.advance(minutes=5, seconds=1)
    assert _try(client, "correct horse").status_code == 303


def test_a_successful_sign_in_starts_the_count_afresh(client: TestClient) -> None:
    make_account(client, "lin")
    for _ in range(4):
        assert _try(client, "guess-guess").status_code == 401
    assert _try(client, "correct horse").status_code == 303
    for _ in range(4):
        assert _try(client, "guess-guess").status_code == 401
    assert _try(client, "correct horse").status_code == 303


def test_guesses_from_many_addresses_and_a_password_reset(client: TestClient, clock) -> None:
    make_account(client, "lin")
    rt = runtime(client)
    with rt.sessions() as session:
        for n in range(MAX_FAILURES_PER_ACCOUNT):
            record_failure(session, "lin", f"10.0.0.{n}", now=rt.clock())
        session.commit()
    blocked = _try(client, "correct horse")
    assert blocked.status_code == 429
    make_account(client, "lin", password="a new password")  # `draftbot account create` again lifts the wait
    assert _try(client, "a new password").status_code == 303
