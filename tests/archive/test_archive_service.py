"""End to end: `draftbot serve` (real uvicorn, worker process) loads the stand-in archive SDK and drafts appear in the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx  # the test extra installs httpx2 (pyproject), which starlette 1.x uses too
import pytest

from tests.archive.sdk import SCRIPT_VARIABLE, ArchiveScript, text_message
from tests.e2e.server import ServerProcess, service_env
from tests.e2e.test_service import admin_token, wait_for
from tests.factories import CORP_ID, signed_callback
from tests.fake_wecom import FakeWeCom

STAFF, CUSTOMER = "zhangsan", "wmCustomerE2E"


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server:
        yield server


@pytest.fixture
def env(fake: FakeWeCom, database_url: str, fake_sdk: Path, archive_keys: dict, script: ArchiveScript) -> dict[str, str]:
    return {
        **service_env(fake, database_url),
        "DRAFTBOT_ARCHIVE_SDK": str(fake_sdk),
        "DRAFTBOT_ARCHIVE_SECRET": "archive-secret",
        "DRAFTBOT_ARCHIVE_PRIVATE_KEY": f"1={archive_keys[1][1]},2={archive_keys[2][1]}",
        "DRAFTBOT_ARCHIVE_POLL_SECONDS": "60",  # after the first pull, only msgaudit_notify brings the next one soon
        "DRAFTBOT_ARCHIVE_TIMEOUT_SECONDS": "2",
        SCRIPT_VARIABLE: str(script.path),
    }


def drafts(server: ServerProcess, headers: dict[str, str]) -> list[dict]:
    answer = httpx.get(f"{server.url}/api/drafts", headers=headers, timeout=5)
    assert answer.status_code == 200
    return answer.json()


def notify(server: ServerProcess) -> httpx.Response:
    """The msgaudit_notify event WeCom sends when new messages are archived."""
    now = int(time.time())
    xml = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
           f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[msgaudit_notify]]></Event>"
           "<AgentID>2000004</AgentID></xml>")
    signed = signed_callback(xml, timestamp=now, nonce=f"n{now}")
    return httpx.post(f"{server.url}/wecom/callback?{signed.query}", content=signed.body, timeout=5)


def test_archived_chats_become_drafts_in_the_api_and_a_crash_repeats_nothing(
    env: dict[str, str], script: ArchiveScript, tmp_path: Path,
) -> None:
    headers = admin_token(env)
    script.add(text_message(CUSTOMER, [STAFF], "我的订单 20261122001 到哪了"))
    with ServerProcess(env, tmp_path / "server.log") as server:
        [draft] = wait_for(lambda: drafts(server, headers))  # the first pull at start-up
        assert (draft["channel"], draft["customer_id"], draft["assignee"]) == ("archive", CUSTOMER, STAFF)
        health = httpx.get(f"{server.url}/healthz").json()
        assert health["wecom_archive"] is True and health["archive"]["problems"] == []

        script.add(text_message("wmCustomerF", [STAFF], "你们几点开门？"))
        assert notify(server).status_code == 200  # msgaudit_notify: the worker pulls now, not in 60 s
        wait_for(lambda: len(drafts(server, headers)) == 2, timeout=15)

        script.delay(30_000)  # the next pull hangs inside the library...
        for n in range(3):
            script.add(text_message(f"wmLate{n}", [STAFF], f"订单 2026112200{n} 什么时候发货"))
        assert notify(server).status_code == 200
        time.sleep(1.0)
        started = time.monotonic()
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200  # the web process keeps answering
        assert time.monotonic() - started < 1.0
        server.stop(kill=True)  # ...and the service dies in the middle of it

    script.delay(0)
    with ServerProcess(env, tmp_path / "server2.log") as server:
        wait_for(lambda: len(drafts(server, headers)) == 5, timeout=20)
        time.sleep(1.0)
        found = drafts(server, headers)
        assert len(found) == 5 and len({d["customer_id"] for d in found}) == 5  # each message once
        assert httpx.get(f"{server.url}/healthz").json()["archive"]["seq"] == 5
