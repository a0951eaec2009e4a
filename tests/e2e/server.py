"""A real draftbot process under uvicorn, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx  # the test extra installs httpx2 (pyproject), which starlette 1.x uses too

from tests.conftest import DATA
from tests.factories import AES_KEY, CORP_ID, TOKEN
from tests.fake_wecom import FakeWeCom

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(fake: FakeWeCom, database_url: str) -> dict[str, str]:
    """The environment of a served draftbot on `database_url`, with the test data and `fake` as WeCom."""
    return {
        "DRAFTBOT_DATABASE_URL": database_url,
        "DRAFTBOT_INTENTS_DIR": str(DATA / "intents"),
        "DRAFTBOT_PERSONAS_DIR": str(DATA / "persona_styles"),
        "DRAFTBOT_WECOM_CORP_ID": CORP_ID,
        "DRAFTBOT_WECOM_TOKEN": TOKEN,
        "DRAFTBOT_WECOM_AES_KEY": AES_KEY,
        "DRAFTBOT_WECOM_SECRET": "app-secret",
        "DRAFTBOT_WECOM_AGENT_ID": "1000002",
        "DRAFTBOT_WECOM_API_BASE": fake.base_url,
        "DRAFTBOT_WECOM_TIMEOUT_SECONDS": "2",
        "DRAFTBOT_WORKER_POLL_SECONDS": "0.05",
        "DRAFTBOT_WORKER_LEASE_SECONDS": "3",
        "DRAFTBOT_LOG_LEVEL": "INFO",
    }


class ServerProcess:
    """`python -m bot serve` (or another HTTP server given as `args`) in a child process with the given environment.

    `--host 127.0.0.1 --port N` are appended to `args`; the server must answer GET /healthz.
    """

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None,
                 args: tuple[str, ...] = ("-m", "bot", "serve")) -> None:
        self.args = args
        self.port = port or free_port()
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("DRAFTBOT_")}, **env}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "ServerProcess":
        log = open(self.log_path, "ab")  # closed in stop
        self._log = log
        self.process = subprocess.Popen(
            [sys.executable, *self.args, "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.args} exited with {self.process.returncode}:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.args} did not start in {timeout} s:\n{self.log_path.read_text()}")

    def stop(self, *, kill: bool = False) -> None:
        """Stop gracefully (SIGTERM), or kill -9 to simulate a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
