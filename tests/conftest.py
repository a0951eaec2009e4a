"""Shared fixtures: settings on a temporary database (SQLite, and PostgreSQL when configured), the app, tokens."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from bot.app import create_app
from bot.config import Settings, get_settings
from bot.db.tokens import create_token
from bot.wiring import Runtime
from tests.factories import AES_KEY, CORP_ID, TOKEN, FakeClock

DATA = Path(__file__).resolve().parent / "data"
POSTGRES_URL = os.environ.get("DRAFTBOT_TEST_POSTGRES_URL")
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def reset_postgres(url: str) -> None:
    """Drop every table so each test starts from an empty schema."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        url = get_settings(database_url=POSTGRES_URL).database_url
        reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path}/draftbot.db"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=database_url,
        intents_dir=DATA / "intents",
        personas_dir=DATA / "persona_styles",
        wecom_corp_id=CORP_ID,
        wecom_token=TOKEN,
        wecom_aes_key=AES_KEY,
        wecom_secret="app-secret",
        wecom_agent_id="1000002",
        wecom_api_base="http://127.0.0.1:9/cgi-bin/",  # nothing listens: tests that send start a fake
        worker_poll_seconds=0.05,
        send_backoff_seconds=0,
        demo=True,
    )
    values.update(overrides)
    return get_settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """The app without its background thread: tests run the worker with `run_jobs(client)`."""
    app = create_app(settings, clock=clock)
    with TestClient(app) as test_client:
        runtime(test_client).worker.stop()
        yield test_client


def runtime(client: TestClient) -> Runtime:
    return client.app.state.runtime


def run_jobs(client: TestClient) -> int:
    return runtime(client).worker.run_until_idle()


def bearer(client: TestClient, user: str, role: str = "staff") -> dict[str, str]:
    rt = runtime(client)
    with rt.sessions() as session:
        _, token = create_token(session, user_id=user, role=role, now=rt.clock())
        session.commit()
    return {"Authorization": f"Bearer {token}"}
