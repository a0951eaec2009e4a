"""End to end: a real uvicorn process, a local fake of the WeCom API, real callbacks."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx  # the test extra installs httpx2 (pyproject), which starlette 1.x uses too

from tests.e2e.server import ROOT, ServerProcess
from tests.factories import kf_event_xml, signed_callback
from tests.fake_wecom import FakeWeCom

KF = "wkLUCKY"


def cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def admin_token(env: dict[str, str]) -> dict[str, str]:
    token = cli(env, "token", "create", "--user", "boss", "--role", "admin").strip().splitlines()[-1]
    return {"Authorization": f"Bearer {token}"}


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met in {timeout} s")


def metrics(server: ServerProcess) -> dict[tuple, float]:
    """GET /metrics as {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def send_kf_event(server: ServerProcess, token: str) -> httpx.Response:
    now = int(time.time())
    signed = signed_callback(kf_event_xml(token=token, open_kfid=KF, create_time=now), timestamp=now, nonce=token)
    return httpx.post(f"{server.url}/wecom/callback?{signed.query}", content=signed.body, timeout=5)


def test_kf_message_to_draft_to_approval_to_kf_send(env: dict[str, str], fake: FakeWeCom, tmp_path: Path) -> None:
    headers = admin_token(env)
    fake.add_customer_message(KF, "wmCUST", "我的快递到哪了")
    with ServerProcess(env, tmp_path / "server.log") as server:
        started = time.perf_counter()
        response = send_kf_event(server, "EV1")
        assert response.status_code == 200
        assert response.content == b""
        assert time.perf_counter() - started < 1.0
        drafts = wait_for(lambda: httpx.get(f"{server.url}/api/drafts", headers=headers).json())
        [draft] = drafts
        assert draft["persona"] == "lucky"
        assert draft["intent"] == "order_status"
        assert fake.deliveries() == []
        counted = metrics(server)  # the callback counted by the serving process, the draft by its worker process
        assert counted[("draftbot_callbacks_total", (("outcome", "accepted"),))] == 1
        assert counted[("draftbot_drafts_total", (("intent", "order_status"), ("persona", "lucky"), ("status", "pending")))] == 1
        approved = httpx.post(f"{server.url}/api/drafts/{draft['id']}/approve", json={"text": "已经发货啦，明天到 🙌"}, headers=headers)
        assert approved.status_code == 200
        wait_for(fake.deliveries)
        [sent] = fake.deliveries()
        assert sent["content"] == "已经发货啦，明天到 🙌"
        assert sent["touser"] == "wmCUST"
        shown = wait_for(lambda: (d := httpx.get(f"{server.url}/api/drafts/{draft['id']}", headers=headers).json())["status"] == "sent" and d)
        assert shown["final_text"] == "已经发货啦，明天到 🙌"


def test_four_deliveries_of_one_callback_make_one_draft(env: dict[str, str], fake: FakeWeCom, tmp_path: Path) -> None:
    headers = admin_token(env)
    fake.add_customer_message(KF, "wmCUST", "你好")
    with ServerProcess(env, tmp_path / "server.log") as server:
        now = int(time.time())
        signed = signed_callback(kf_event_xml(token="SAME", open_kfid=KF, create_time=now), timestamp=now)
        for _ in range(4):
            assert httpx.post(f"{server.url}/wecom/callback?{signed.query}", content=signed.body).status_code == 200
        wait_for(lambda: httpx.get(f"{server.url}/api/drafts", headers=headers).json())
        time.sleep(0.5)
        assert len(httpx.get(f"{server.url}/api/drafts", headers=headers).json()) == 1
        assert len(fake.calls("kf/sync_msg")) == 1


def test_a_killed_service_resumes_acknowledged_work_after_restart(env: dict[str, str], fake: FakeWeCom, tmp_path: Path) -> None:
    headers = admin_token(env)
    for n in range(3):
        fake.add_customer_message(KF, f"wm{n}", "我的快递到哪了")
    fake.fail_next("kf/sync_msg", 1, "hang", seconds=30)  # the worker is mid-job when the process dies
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        assert send_kf_event(server, "EV1").status_code == 200
        wait_for(lambda: fake.calls("kf/sync_msg"))
        server.stop(kill=True)
    finally:
        server.stop()
    assert all(call["endpoint"] != "kf/send_msg" for call in fake.calls())
    with ServerProcess(env, tmp_path / "server2.log", port=server.port) as restarted:
        drafts = wait_for(lambda: len(d := httpx.get(f"{restarted.url}/api/drafts", headers=headers).json()) == 3 and d, timeout=30)
        assert {d["customer_id"] for d in drafts} == {"wm0", "wm1", "wm2"}
