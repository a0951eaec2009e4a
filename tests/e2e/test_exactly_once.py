"""One delivery and one text per draft, under real parallel approvals against a real uvicorn process.

Runs on SQLite and (with DRAFTBOT_TEST_POSTGRES_URL) PostgreSQL: on SQLite `SELECT … FOR UPDATE` does
nothing, so only the decision's compare-and-set keeps two requests from approving one draft twice.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.e2e.server import ServerProcess, service_env
from tests.e2e.test_service import admin_token, wait_for
from tests.fake_wecom import FakeWeCom

KF = "wkLUCKY"
PARALLEL = 20


@pytest.fixture
def env(fake: FakeWeCom, database_url: str) -> dict[str, str]:
    """A 1 s WeCom timeout and one try per send: a slow answer ends the send as failed at once."""
    return {**service_env(fake, database_url), "DRAFTBOT_WECOM_TIMEOUT_SECONDS": "1", "DRAFTBOT_SEND_MAX_ATTEMPTS": "1"}


def _kf_draft(server: ServerProcess, headers: dict[str, str], customer: str, text: str) -> dict:
    body = {"channel": "kf", "open_kfid": KF, "customer_id": customer, "text": text, "msg_id": f"in-{customer}"}
    assert httpx.post(f"{server.url}/api/messages", json=body, headers=headers).status_code == 202
    return wait_for(lambda: httpx.get(f"{server.url}/api/drafts", params={"customer_id": customer}, headers=headers).json())[0]


def _in_parallel(server: ServerProcess, headers: dict[str, str], draft_id: int, texts: list[str | None]) -> list[httpx.Response]:
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http, ThreadPoolExecutor(len(texts)) as pool:
        return list(pool.map(
            lambda text: http.post(f"/api/drafts/{draft_id}/approve", json={} if text is None else {"text": text}),
            texts,
        ))


def _deliveries_to(fake: FakeWeCom, customer: str) -> list[dict]:
    return [d for d in fake.deliveries() if d["touser"] == customer]


def test_parallel_approvals_send_each_draft_once_with_the_text_every_answer_names(
    env: dict[str, str], fake: FakeWeCom, tmp_path: Path,
) -> None:
    headers = admin_token(env)
    with ServerProcess(env, tmp_path / "server.log") as server:
        same = [_kf_draft(server, headers, f"wmSAME{i}", "我的快递到哪了") for i in range(3)]
        edited = [_kf_draft(server, headers, f"wmEDIT{i}", "我的快递到哪了") for i in range(3)]
        for draft in same:
            answers = _in_parallel(server, headers, draft["id"], [None] * PARALLEL)
            assert {a.status_code for a in answers} == {200}
            assert {a.json()["final_text"] for a in answers} == {draft["text"]}
        for draft in edited:
            texts = [f"第 {n} 种改法：已经发货啦" for n in range(PARALLEL)]
            answers = _in_parallel(server, headers, draft["id"], texts)
            winners = [a for a in answers if a.status_code == 200]
            assert len(winners) == 1, [a.text for a in answers]
            assert {a.status_code for a in answers} == {200, 409}
            draft["sent_text"] = winners[0].json()["final_text"]
        for draft in same + edited:
            wait_for(lambda d=draft: _deliveries_to(fake, d["customer_id"]))
        time.sleep(1.0)  # any second send would have had time to go out
        for draft in same:
            [delivery] = _deliveries_to(fake, draft["customer_id"])
            assert delivery["content"] == draft["text"]
        for draft in edited:
            [delivery] = _deliveries_to(fake, draft["customer_id"])
            assert delivery["content"] == draft["sent_text"]
            shown = httpx.get(f"{server.url}/api/drafts/{draft['id']}", headers=headers).json()
            assert shown["status"] == "sent"
            assert shown["final_text"] == draft["sent_text"]


def test_a_send_whose_answer_never_came_is_not_delivered_twice_when_approved_again(
    env: dict[str, str], fake: FakeWeCom, tmp_path: Path,
) -> None:
    headers = admin_token(env)
    with ServerProcess(env, tmp_path / "server.log") as server:
        draft = _kf_draft(server, headers, "wmSLOW", "我的快递到哪了")
        fake.fail_next("kf/send_msg", mode="hang", seconds=2.5)  # WeCom takes it, but answers after our 1 s timeout
        assert httpx.post(f"{server.url}/api/drafts/{draft['id']}/approve", json={}, headers=headers).status_code == 200
        failed = wait_for(lambda: (d := httpx.get(f"{server.url}/api/drafts/{draft['id']}", headers=headers).json())["status"] == "send_failed" and d)
        assert "send_uncertain" in [flag["code"] for flag in failed["flags"]]
        wait_for(lambda: _deliveries_to(fake, "wmSLOW"))  # the slow send did reach the customer

        refused = httpx.post(f"{server.url}/api/drafts/{draft['id']}/approve", json={"text": "换一种说法"}, headers=headers)
        assert refused.status_code == 409
        assert "只能按原文重发" in refused.json()["detail"]

        again = httpx.post(f"{server.url}/api/drafts/{draft['id']}/approve", json={}, headers=headers)
        assert again.status_code == 200
        sent = wait_for(lambda: (d := httpx.get(f"{server.url}/api/drafts/{draft['id']}", headers=headers).json())["status"] == "sent" and d)
        assert sent["final_text"] == draft["text"]
        msgids = {c["body"]["msgid"] for c in fake.calls("kf/send_msg")}
        assert len(msgids) == 1  # the second try reused the msgid, and WeCom dropped it as a duplicate
        assert len(_deliveries_to(fake, "wmSLOW")) == 1
