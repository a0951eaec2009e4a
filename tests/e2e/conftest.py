"""Fixtures of the end-to-end tests: a fake WeCom on loopback and the environment of a served draftbot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.server import service_env
from tests.fake_wecom import FakeWeCom


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server:
        yield server


@pytest.fixture
def env(fake: FakeWeCom, database_url: str) -> dict[str, str]:
    return service_env(fake, database_url)
