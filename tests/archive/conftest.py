"""Fixtures of the chat archive tests: the stand-in SDK compiled once, RSA keys and a script per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.archive.sdk import SCRIPT_VARIABLE, ArchiveScript, compile_sdk, new_key


@pytest.fixture(scope="session")
def fake_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    library = compile_sdk(tmp_path_factory.mktemp("archive-sdk"))
    if library is None:
        pytest.skip("no C compiler (gcc or cc) to build the stand-in archive SDK: apt-get install gcc")
    return library


@pytest.fixture
def archive_keys(tmp_path: Path) -> dict:
    """Key pairs of publickey_ver 1 and 2: {version: (public key, private PEM path)}."""
    return {version: new_key(tmp_path, f"v{version}.pem") for version in (1, 2)}


@pytest.fixture
def script(tmp_path: Path, archive_keys: dict) -> Iterator[ArchiveScript]:
    """An empty script the stand-in SDK reads (DRAFTBOT_FAKE_ARCHIVE points at it during the test)."""
    value = ArchiveScript(tmp_path / "archive-script.txt", {v: pair[0] for v, pair in archive_keys.items()})
    value.save()
    before = os.environ.get(SCRIPT_VARIABLE)
    value.activate()
    yield value
    if before is None:
        os.environ.pop(SCRIPT_VARIABLE, None)
    else:
        os.environ[SCRIPT_VARIABLE] = before
