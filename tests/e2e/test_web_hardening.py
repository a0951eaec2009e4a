"""A real `draftbot serve` under attack: parallel password guessing (SQLite and PostgreSQL) and slow uploads."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest

from bot.db.accounts import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS, save_account
from bot.db.session import make_engine, make_sessions
from tests.conftest import DATA
from tests.e2e.server import ServerProcess
from tests.factories import AES_KEY, CORP_ID, TOKEN, FakeClock

PARALLEL = 100


def served(database_url: str, log: Path, **settings: str) -> ServerProcess:
    """A served draftbot on `database_url` with the test data and an admin account `lin`."""
    env = {
        "DRAFTBOT_DATABASE_URL": database_url,
        "DRAFTBOT_INTENTS_DIR": str(DATA / "intents"),
        "DRAFTBOT_PERSONAS_DIR": str(DATA / "persona_styles"),
        "DRAFTBOT_WECOM_CORP_ID": CORP_ID,
        "DRAFTBOT_WECOM_TOKEN": TOKEN,
        "DRAFTBOT_WECOM_AES_KEY": AES_KEY,
        "DRAFTBOT_WORKER": "thread",
        **{f"DRAFTBOT_{name.upper()}": value for name, value in settings.items()},
    }
    server = ServerProcess(env, log).start()
    engine = make_engine(database_url)
    try:
        with make_sessions(engine)() as session:
            save_account(session, user_id="lin", role="admin", password="correct horse", now=FakeClock()())
            session.commit()
    except BaseException:
        server.stop()
        raise
    finally:
        engine.dispose()
    return server


def guess(server: ServerProcess, n: int, *, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = httpx.post(f"{server.url}/admin/login", data={"user_id": "lin", "password": f"guess-{n:03d}"},
                          headers=headers, timeout=60)
    return response.status_code


def burst(server: ServerProcess, *, rotate: bool) -> Counter:
    """PARALLEL wrong passwords at once, each from its own X-Forwarded-For address when `rotate`."""
    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = pool.map(lambda n: guess(server, n, forwarded_for=f"10.1.{n // 250}.{n % 250}" if rotate else None),
                            range(PARALLEL))
        return Counter(statuses)


@pytest.mark.parametrize("rotate", [False, True], ids=["one-address", "rotated-forwarded-for"])
def test_parallel_guesses_check_at_most_the_limit(database_url: str, tmp_path: Path, rotate: bool) -> None:
    server = served(database_url, tmp_path / "server.log")
    try:
        statuses = burst(server, rotate=rotate)
        assert set(statuses) <= {401, 429}, statuses
        assert statuses[401] <= MAX_FAILURES_PER_ADDRESS, statuses  # forwarded addresses are not believed
        checked = statuses[401]
        while guess(server, 999) == 401:  # refused attempts were taken back: the rest of the allowance remains
            checked += 1
        assert checked == MAX_FAILURES_PER_ADDRESS
    finally:
        server.stop()


def test_two_instances_on_one_database_share_the_limit(database_url: str, tmp_path: Path) -> None:
    first = served(database_url, tmp_path / "first.log")
    second = ServerProcess(first.env, tmp_path / "second.log")
    try:
        second.start()
        with ThreadPoolExecutor(PARALLEL) as pool:
            statuses = Counter(pool.map(lambda n: guess(first if n % 2 else second, n), range(PARALLEL)))
        assert set(statuses) <= {401, 429}, statuses
        assert statuses[401] <= MAX_FAILURES_PER_ADDRESS, statuses
    finally:
        second.stop()
        first.stop()


def test_forwarded_for_is_believed_from_trusted_proxies_only(database_url: str, tmp_path: Path) -> None:
    server = served(database_url, tmp_path / "server.log", trusted_proxies="127.0.0.0/8")
    try:
        for n in range(MAX_FAILURES_PER_ADDRESS):
            assert guess(server, n, forwarded_for="10.9.9.1") == 401
        assert guess(server, 0, forwarded_for="10.9.9.1") == 429
        assert guess(server, 0, forwarded_for="10.9.9.2") == 401  # another client behind the proxy
        statuses = burst(server, rotate=True)
        assert set(statuses) <= {401, 429}, statuses
        assert statuses[401] + MAX_FAILURES_PER_ADDRESS + 1 <= MAX_FAILURES_PER_ACCOUNT, statuses
    finally:
        server.stop()


def _raw_request(port: int, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode())
    return sock


def _read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, data = time.monotonic(), b""
    sock.settimeout(limit)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, time.monotonic() - started
        data += chunk


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the slow-upload tests: a body must arrive within 1 s."""
    folder = tmp_path_factory.mktemp("slow")
    server = served(f"sqlite:///{folder}/draftbot.db", folder / "server.log", body_timeout_seconds="1")
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/api/messages", "/admin/login", "/wecom/callback?msg_signature=x&timestamp=1&nonce=n"])
def test_a_dribbled_body_gets_408_and_the_connection_closes(slow_server: ServerProcess, path: str) -> None:
    sock = _raw_request(slow_server.port, f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
    started = time.monotonic()
    try:
        for _ in range(6):  # one byte every 0.3 s: never finishes within the second allowed
            try:
                sock.sendall(b"a")
            except OSError:  # the server has answered and closed
                break
            time.sleep(0.3)
        data, _ = _read_until_closed(sock, limit=10)
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert b"connection: close" in data.lower()
    assert "请求体在 1 秒内没有传完".encode() in data
    assert time.monotonic() - started < 5


def test_an_answer_before_the_body_closes_the_connection(slow_server: ServerProcess) -> None:
    sock = _raw_request(slow_server.port, "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nab")
    try:
        data, took = _read_until_closed(sock, limit=10)
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 405 "), data  # refused without reading the body, which never comes
    assert b"connection: close" in data.lower() and took < 5


def test_a_body_that_never_comes_gets_408_and_the_connection_closes(slow_server: ServerProcess) -> None:
    sock = _raw_request(slow_server.port, "POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          "Content-Type: application/json\r\nContent-Length: 50\r\n\r\n")
    try:
        data, took = _read_until_closed(sock, limit=10)
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert took < 5


def test_a_body_in_time_is_answered_as_usual(slow_server: ServerProcess) -> None:
    with httpx.Client(base_url=slow_server.url) as client:
        assert client.post("/api/messages", json={"channel": "demo"}).status_code == 401
        assert client.post("/admin/login", data={"user_id": "lin", "password": "correct horse"}).status_code == 303
        assert client.get("/healthz").status_code == 200  # the same keep-alive connection still works
