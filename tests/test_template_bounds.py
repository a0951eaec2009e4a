"""Hostile templates on every surface that renders them: the worker, `draftbot check`, `draft` and `config import`.

Each would take minutes or gigabytes without the render bounds (bot.persona.bounds); here each
surface finishes within seconds, says in Chinese what was stopped, and goes on with the rest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from bot.app import create_app
from bot.db.models import Draft
from tests.conftest import DATA, bearer, make_settings, run_jobs, runtime
from tests.test_guarantee import RecordingSender

# Stops only for customers who complain of waiting: '慢' builds 10^8 characters, '等' loops 10^8 times.
HOSTILE_BASE = ("{% if '慢' in message %}{{ 'x' * 10**8 }}{% endif %}"
                "{% if '等' in message %}{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}{% endif %}")
# Every variation of a template an admin might import: a 10^9 string measured, a 10^10 loop, 10^8 empty steps.
HOSTILE_GREETING = ('{% extends "base.j2" %}'
                    "{% block v1 %}{{ ('x' * 10**9)|length }}{% endblock %}"
                    "{% block v2 %}{% for i in range(10**10) %}好{% endfor %}{% endblock %}"
                    "{% block v3 %}{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}好{% endblock %}")
GREETING = "persona_styles/lucky/templates/greeting.j2"


def styles_with(tmp_path: Path, *, base: str = "", greeting: str | None = None) -> Path:
    """A copy of the test persona styles with a hostile prefix in _default's base.j2 and/or lucky's greeting."""
    styles = tmp_path / "persona_styles"
    shutil.copytree(DATA / "persona_styles", styles)
    base_file = styles / "_default" / "templates" / "base.j2"
    base_file.write_text(base + base_file.read_text(encoding="utf-8"), encoding="utf-8")
    if greeting is not None:
        (styles / "lucky" / "templates" / "greeting.j2").write_text(greeting, encoding="utf-8")
    return styles


# ----- the worker -----------------------------------------------------------------------------------


def test_a_hostile_template_in_the_worker_makes_a_manual_draft_and_delays_no_send(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, personas_dir=styles_with(tmp_path, base=HOSTILE_BASE))
    with TestClient(create_app(settings)) as client:
        runtime(client).worker.stop()
        sender = RecordingSender()
        runtime(client).outbox.senders["demo"] = sender
        staff = bearer(client, "boss", "admin")  # takes messages in and approves

        def post(text: str, msg_id: str) -> None:
            body = {"channel": "demo", "customer_id": f"c-{msg_id}", "text": text, "msg_id": msg_id}
            assert client.post("/api/messages", json=body, headers=staff).status_code == 202

        post("我的快递到哪了", "m1")
        run_jobs(client)
        [first] = client.get("/api/drafts", headers=staff).json()
        assert client.post(f"/api/drafts/{first['id']}/approve", json={}, headers=staff).status_code == 200
        post("太慢了，我的快递到哪了", "m2")
        post("等了好久，快递到哪了", "m3")
        post("你好", "m4")
        started = time.monotonic()
        run_jobs(client)
        assert time.monotonic() - started < 5
        assert [r.draft_id for r in sender.replies] == [first["id"]]  # the approved reply went out
        with runtime(client).sessions() as session:
            drafts = {d.customer_id: d for d in session.query(Draft).all()}
        for customer, words in (("c-m2", "生成约 100000000 个字"), ("c-m3", "已停止")):
            draft = drafts[customer]
            assert draft.status == "needs_manual" and not draft.original_text
            assert draft.manual_reason.startswith("回复模板出错：") and words in draft.manual_reason, draft.manual_reason
        assert drafts["c-m4"].status == "pending" and drafts["c-m4"].original_text  # the next message drafts as usual


# ----- the command line -----------------------------------------------------------------------------


def draftbot(*args: str, env: dict[str, str], cwd: Path, timeout: float = 120) -> tuple[int, str, float, float]:
    """Run the real `draftbot` command; its exit code, output, wall seconds and peak RSS in MB (its own, by wait4)."""
    command = shutil.which("draftbot")
    argv = [command, *args] if command else [sys.executable, "-m", "bot", *args]
    with tempfile.TemporaryFile() as log:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    return process.returncode, output, seconds, usage.ru_maxrss / 1024


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRAFTBOT_")}
    env.update(DRAFTBOT_DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", DRAFTBOT_INTENTS_DIR=str(DATA / "intents"),
               DRAFTBOT_PERSONAS_DIR=str(DATA / "persona_styles"), COLUMNS="300", PYTHONWARNINGS="ignore")
    return env


def test_check_draft_and_config_import_stay_small_and_name_the_hostile_template(tmp_path: Path, cli_env: dict[str, str]) -> None:
    code, output, clean_seconds, clean_mb = draftbot("check", env=cli_env, cwd=tmp_path)
    assert code == 0, output

    hostile = {**cli_env, "DRAFTBOT_PERSONAS_DIR": str(styles_with(tmp_path, greeting=HOSTILE_GREETING))}
    code, output, seconds, peak_mb = draftbot("check", env=hostile, cwd=tmp_path)
    assert code == 1, output
    assert "Traceback" not in output
    for variation, words in (("v1", "生成约 1000000000 个字"), ("v2", "range() 最多 10000 次"), ("v3", "已停止")):
        assert f"lucky/templates/greeting.j2: greeting {variation}: 无法渲染" in output and words in output, output
    assert seconds < clean_seconds + 10 and peak_mb < clean_mb + 64, (seconds, clean_seconds, peak_mb, clean_mb)

    code, output, seconds, peak_mb = draftbot("draft", "你好", "--persona", "lucky", env=hostile, cwd=tmp_path)
    assert code == 0 and "manual:     回复模板出错：lucky/greeting v" in output, output
    assert seconds < clean_seconds + 10 and peak_mb < clean_mb + 64

    upload = tmp_path / "upload"
    shutil.copytree(DATA / "intents", upload / "intents")
    shutil.copytree(hostile["DRAFTBOT_PERSONAS_DIR"], upload / "persona_styles")
    code, output, seconds, peak_mb = draftbot("config", "import", str(upload), "--author", "alice", "--note", "新问候",
                                              env=cli_env, cwd=tmp_path)
    assert code == 1 and "Traceback" not in output, output
    assert f"refused: {GREETING}: greeting v1: 无法渲染" in output and f"refused: {GREETING}: greeting v3: 无法渲染" in output
    assert seconds < clean_seconds + 15 and peak_mb < clean_mb + 64, (seconds, clean_seconds, peak_mb, clean_mb)
    engine = create_engine(cli_env["DRAFTBOT_DATABASE_URL"])
    with engine.connect() as connection:  # the publish was refused: only the shipped version 1 exists
        assert connection.execute(text("SELECT number FROM config_versions")).scalars().all() == [1]
    engine.dispose()


def test_check_and_draft_print_findings_that_quote_template_text_verbatim(tmp_path: Path, cli_env: dict[str, str]) -> None:
    quoting = '{% extends "base.j2" %}{% block v1 %}{{ persona["[/b]"] }}{% endblock %}{% block v2 %}{{ persona["[/b]"] }}{% endblock %}'
    env = {**cli_env, "DRAFTBOT_PERSONAS_DIR": str(styles_with(tmp_path, greeting=quoting))}
    code, output, _, _ = draftbot("check", env=env, cwd=tmp_path)
    assert code == 1 and "Traceback" not in output and "has no attribute '[/b]'" in output, output
    code, output, _, _ = draftbot("draft", "你好", "--persona", "lucky", env=env, cwd=tmp_path)
    assert "Traceback" not in output and "manual:     回复模板出错：" in output, output
