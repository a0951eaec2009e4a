"""The obligation gate: no publish, import or rollback may stop the service recognising an opt-out, a complaint or a hand-off."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from bot.services import configuration
from bot.app import create_app
from bot.cli import app as cli
from bot.config import Settings
from bot.services.configuration import ConfigFiles
from bot.db.models import AuditLog, ConfigVersion, Draft, OptOut
from bot.services.configuration.obligations import ObligationRefused, guard, ledger
from tests.conftest import bearer, make_settings, run_jobs, runtime
from tests.console.conftest import Admin, make_account, sign_in

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ConfigFiles.from_directories(ROOT / "intents", ROOT / "persona_styles")
OPT_OUT = "退订，别再给我发广告了"  # read as opt_out by the shipped model, but not one of its examples


def with_greeting_example(files: ConfigFiles, text: str) -> ConfigFiles:
    """The files with `text` appended to greeting's examples, as one inbox click does."""
    greeting = files.files["intents/greeting.yml"].rstrip("\n") + f'\n  - "{text}"\n'
    return ConfigFiles({**files.files, "intents/greeting.yml": greeting})


@pytest.fixture
def shipped(database_url: str) -> Settings:
    return make_settings(database_url, intents_dir=ROOT / "intents", personas_dir=ROOT / "persona_styles")


@pytest.fixture
def client(shipped: Settings, clock) -> Iterator[TestClient]:
    app = create_app(shipped, clock=clock)
    with TestClient(app) as test_client:
        runtime(test_client).worker.stop()
        yield test_client


@pytest.fixture
def admin(client: TestClient) -> Admin:
    make_account(client, "lin")
    return Admin(client, sign_in(client, "lin"))


def opt_out_by_message(client: TestClient) -> None:
    """A customer opts out in their own words; the pipeline records it in the ledger."""
    headers = bearer(client, "boss", role="admin")
    body = {"channel": "demo", "customer_id": "c-quiet", "text": OPT_OUT, "msg_id": "m-quiet"}
    assert client.post("/api/messages", json=body, headers=headers).status_code == 202
    run_jobs(client)
    with runtime(client).sessions() as session:
        row = session.scalar(select(OptOut))
        assert (row.recorded_by, row.opted_out, row.reason) == ("customer", True, OPT_OUT)


def test_the_inbox_click_that_breaks_an_opt_out_is_refused_and_force_does_not_override(admin: Admin) -> None:
    client = admin.client
    opt_out_by_message(client)
    added = admin.post("/admin/intents/greeting/examples", {"text": OPT_OUT, "next": "/admin/inbox"})
    assert added.status_code == 303
    for force in ("", "1"):
        refused = admin.post("/admin/versions/publish", {"note": "问候多一种说法", "force": force})
        assert refused.status_code == 422, refused.text
        page = html.unescape(refused.text)
        assert "不能强制跳过" in page and f"「{OPT_OUT}」" in page
        assert "应识别为「退订」（opt_out）" in page and "未识别" in page
        assert 'name="force"' not in page  # no override is offered
    with runtime(client).sessions() as session:
        assert configuration.active(session).number == 1 and len(configuration.versions(session)) == 1
        entry = session.scalar(select(AuditLog).where(AuditLog.action == "refused").order_by(AuditLog.id.desc()))
        assert entry.detail["overridable"] is False and any(OPT_OUT in p for p in entry.detail["problems"])
    # the same message still drafts as an opt-out: nothing live changed
    body = {"channel": "demo", "customer_id": "c-quiet-2", "text": OPT_OUT, "msg_id": "m-quiet-2"}
    client.post("/api/messages", json=body, headers=bearer(client, "boss", role="admin"))
    run_jobs(client)
    with runtime(client).sessions() as session:
        assert session.scalar(select(Draft.intent).where(Draft.customer_id == "c-quiet-2")) == "opt_out"


def test_an_unrelated_change_still_publishes(admin: Admin) -> None:
    opt_out_by_message(admin.client)
    admin.post("/admin/intents/greeting/examples", {"text": "哈喽哈喽，有人值班吗"})
    published = admin.post("/admin/versions/publish", {"note": "问候多一种说法"})
    assert published.status_code == 303, published.text


def test_import_and_rollback_pass_the_same_gate(admin: Admin, shipped: Settings, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    opt_out_by_message(admin.client)
    broken = with_greeting_example(SHIPPED, OPT_OUT)
    broken.write_to(tmp_path / "broken")
    monkeypatch.setenv("DRAFTBOT_DATABASE_URL", shipped.database_url)
    monkeypatch.setenv("DRAFTBOT_INTENTS_DIR", str(ROOT / "intents"))
    monkeypatch.setenv("DRAFTBOT_PERSONAS_DIR", str(ROOT / "persona_styles"))
    for force in ([], ["--force"]):
        result = CliRunner().invoke(cli, ["config", "import", str(tmp_path / "broken"), "--note", "x", "--author", "a", *force])
        assert result.exit_code == 1, result.output
        assert OPT_OUT in result.output and "--force" in result.output and "Traceback" not in result.output
    rt = runtime(admin.client)
    with rt.sessions() as session:  # a version published before the gate existed
        session.add(ConfigVersion(number=2, files=dict(broken.files), digest=broken.digest, author="old", note="old",
                                  created_at=rt.clock()))
        session.commit()
    refused = admin.post("/admin/versions/2/rollback")
    assert refused.status_code == 422 and OPT_OUT in html.unescape(refused.text)
    with rt.sessions() as session:
        assert configuration.active(session).number == 1
        with pytest.raises(ObligationRefused):
            configuration.rollback(session, 2, "cli", rt.clock(), settings=shipped)


def test_examples_of_guarded_intents_and_removing_them_are_checked(client: TestClient, shipped: Settings) -> None:
    example = "不要再给我发广告了"  # an opt_out example
    moved = with_greeting_example(ConfigFiles({
        **SHIPPED.files,
        "intents/opt_out.yml": SHIPPED.files["intents/opt_out.yml"].replace(f'  - "{example}"\n', ""),
    }), example)
    with runtime(client).sessions() as session:
        with pytest.raises(ObligationRefused) as refused:
            guard(session, moved, shipped, live=SHIPPED)
        assert any(f"「{example}」" in p for p in refused.value.problems)
        without = ConfigFiles({path: text for path, text in SHIPPED.files.items() if path != "intents/human_agent.yml"})
        with pytest.raises(ObligationRefused) as removed:
            guard(session, without, shipped, live=SHIPPED)
        assert "（human_agent）在线上版本中启用，新配置删除或停用了它" in removed.value.problems[0]
        guard(session, SHIPPED, shipped, live=SHIPPED)  # the shipped files pass


def test_the_ledger_trusts_staff_corrections(admin: Admin) -> None:
    from tests.console.test_dashboard import add_draft

    client = admin.client
    add_draft(client, message="别烦我了行吗", intent="opt_out")
    add_draft(client, message="好的我知道了", intent="opt_out", corrected_intent="thanks", corrected_by="zhangsan")
    add_draft(client, message="你们经理电话多少", intent="fallback", corrected_intent="human_agent", corrected_by="zhangsan")
    with runtime(client).sessions() as session:
        session.add(OptOut(channel="demo", customer_id="c9", opted_out=True, recorded_by="customer", reason="好的我知道了",
                           created_at=runtime(client).clock()))
        session.add(OptOut(channel="demo", customer_id="c8", opted_out=True, recorded_by="zhangsan", reason="电话里说的",
                           created_at=runtime(client).clock()))
        session.commit()
        found = {item.text: item.intent for item in ledger(session)}
    assert found == {"别烦我了行吗": "opt_out", "你们经理电话多少": "human_agent"}
