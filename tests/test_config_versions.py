"""Configuration versions: version 1 from the shipped files, publish checks, export/import, rollback, live reload."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from bot.services import configuration
from bot.services.configuration import store
from bot.app import create_app
from bot.cli import app as cli
from bot.config import Settings
from bot.services.configuration import ConfigFiles, ConfigRefused
from bot.db.models import AuditLog, ConfigVersion
from bot.wiring import open_database
from tests.conftest import DATA, bearer, make_settings, runtime

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
BASE = ConfigFiles.from_directories(DATA / "intents", DATA / "persona_styles")
STORE_HOURS_INTENT = """intent: store_hours
description: 客户询问门店营业时间
marketing: false
examples:
  - 你们几点开门
  - 几点关门啊
  - 营业时间是几点到几点
  - 周末营业吗
  - 晚上几点打烊
  - 早上几点开始营业
  - 节假日开门吗
  - 门店什么时候营业
"""
STORE_HOURS_DEFAULT = """{% extends "base.j2" %}
{% block v1 %}您好，门店每天 9:00-21:00 营业，欢迎光临。{% endblock %}
{% block v2 %}您好，我们每天早 9 点到晚 9 点营业。{% endblock %}
"""
STORE_HOURS_LUCKY = """{% extends "base.j2" %}
{% block v1 %}我们每天 9:00-21:00 都在哦，随时来～{% endblock %}
{% block v2 %}早 9 点到晚 9 点，等你来喝咖啡！{% endblock %}
"""
QUESTION = "请问你们几点开门"


def with_store_hours(files: ConfigFiles = BASE) -> ConfigFiles:
    return ConfigFiles({
        **files.files,
        "intents/store_hours.yml": STORE_HOURS_INTENT,
        "persona_styles/_default/templates/store_hours.j2": STORE_HOURS_DEFAULT,
        "persona_styles/lucky/templates/store_hours.j2": STORE_HOURS_LUCKY,
    })


@pytest.fixture
def sessions(settings: Settings) -> Iterator:
    engine, sessions = open_database(settings)
    with sessions() as session:
        configuration.ensure_initial(session, settings, NOW)
    yield sessions
    engine.dispose()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_fresh_database_starts_with_version_1_from_the_shipped_files(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        rt = runtime(client)
        with rt.sessions() as session:
            version = configuration.active(session)
            assert version.number == 1 and version.author == "system"
            assert configuration.files_of(version) == BASE
            assert version.digest == BASE.digest
            assert [(a.action, a.version) for a in configuration.audit_entries(session)] == [("initial", 1)]
        assert rt.config.number == 1
        assert sorted(rt.pipeline.intents) == ["complaint", "greeting", "order_status", "promotion_inquiry"]
    with TestClient(create_app(settings)) as client:  # a restart keeps the version, creates no other
        with runtime(client).sessions() as session:
            assert [v.number for v in configuration.versions(session)] == [1]


def test_paths_outside_intents_and_persona_styles_are_refused(tmp_path: Path) -> None:
    for bad in ("../evil.yml", "intents/../../evil", "/etc/passwd", "other/x.yml", "intents\\x.yml", "intents"):
        with pytest.raises(Exception, match="not a file under intents/ or persona_styles/"):
            ConfigFiles({bad: "x"})
    BASE.write_to(tmp_path / "out")
    assert ConfigFiles.from_directory(tmp_path / "out") == BASE


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The draftbot command on a fresh SQLite file and the test data, run from tmp_path."""
    monkeypatch.setenv("DRAFTBOT_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("DRAFTBOT_INTENTS_DIR", str(DATA / "intents"))
    monkeypatch.setenv("DRAFTBOT_PERSONAS_DIR", str(DATA / "persona_styles"))
    monkeypatch.delenv("DRAFTBOT_DEFAULT_PERSONA", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_export_then_import_round_trips_byte_identical_files(tmp_path: Path, runner: CliRunner) -> None:
    exported = runner.invoke(cli, ["config", "export", "v1"])
    assert exported.exit_code == 0, exported.output
    for path in BASE.files:
        root, _, rest = path.partition("/")
        original = (DATA / root / rest).read_bytes()
        assert (tmp_path / "v1" / path).read_bytes() == original, path
    unchanged = runner.invoke(cli, ["config", "import", "v1", "--author", "alice", "--note", "round trip"])
    assert unchanged.exit_code == 0 and "没有变化" in unchanged.output and "published" not in unchanged.output
    greeting = tmp_path / "v1" / "persona_styles" / "_default" / "templates" / "greeting.j2"
    greeting.write_text(greeting.read_text(encoding="utf-8").replace("您好，请问有什么可以帮您？", "欢迎光临，请问想了解什么？"),
                        encoding="utf-8")
    no_note = runner.invoke(cli, ["config", "import", "v1", "--author", "alice"])
    assert no_note.exit_code == 2 and "--note is required" in no_note.output and "发布说明" in no_note.output
    imported = runner.invoke(cli, ["config", "import", "v1", "--author", "alice", "--note", "round trip"])
    assert imported.exit_code == 0, imported.output
    assert "published version 2" in imported.output
    again = runner.invoke(cli, ["config", "export", "v2", "--version", "2"])
    assert again.exit_code == 0, again.output
    files = sorted(p.relative_to(tmp_path / "v1") for p in (tmp_path / "v1").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "v2") for p in (tmp_path / "v2").rglob("*") if p.is_file())
    for relative in files:
        assert (tmp_path / "v2" / relative).read_bytes() == (tmp_path / "v1" / relative).read_bytes()
    listed = runner.invoke(cli, ["config", "list"])
    assert listed.exit_code == 0 and "alice" in listed.output and "round trip" in listed.output and "*" in listed.output
    refused = runner.invoke(cli, ["config", "export", "v1"])
    assert refused.exit_code == 2 and "already exists" in refused.output
    rolled = runner.invoke(cli, ["config", "rollback", "1", "--author", "bob"])
    assert rolled.exit_code == 0, rolled.output
    unknown = runner.invoke(cli, ["config", "rollback", "9"])
    assert unknown.exit_code == 1 and "no configuration version 9" in unknown.output
    missing = runner.invoke(cli, ["config", "import", "nowhere", "--note", "x"])
    assert missing.exit_code == 2 and "intents folder not found" in missing.output
    assert "Traceback" not in missing.output


def test_check_draft_and_eval_can_read_a_version_from_the_database(tmp_path: Path, runner: CliRunner) -> None:
    assert runner.invoke(cli, ["config", "export", "edited"]).exit_code == 0
    greeting = tmp_path / "edited" / "persona_styles" / "_default" / "templates" / "greeting.j2"
    edited = greeting.read_text(encoding="utf-8").replace("您好，请问有什么可以帮您？", "欢迎光临，请问想了解什么？")
    greeting.write_text(edited.replace("您好，在的，请说。", "欢迎光临，在的，请说。"), encoding="utf-8")
    assert runner.invoke(cli, ["config", "import", "edited", "--author", "alice", "--note", "warmer greeting"]).exit_code == 0

    def drafted(*options: str) -> str:
        result = runner.invoke(cli, ["draft", "你好", *options])
        assert result.exit_code == 0, result.output
        return result.output

    assert "欢迎光临" in drafted("--config-version", "active")
    assert "欢迎光临" not in drafted("--config-version", "1")
    assert "欢迎光临" not in drafted()  # the folders
    checked = runner.invoke(cli, ["check", "--config-version", "2"])
    assert checked.exit_code == 0 and "configuration version 2 from the database" in checked.output
    evaluated = runner.invoke(cli, ["eval", "--config-version", "2", "--json"])
    assert evaluated.exit_code == 0 and '"accuracy"' in evaluated.output
    for options, message in ((["--config-version", "9"], "no configuration version 9"),
                             (["--config-version", "latest"], "neither a version number nor 'active'")):
        refused = runner.invoke(cli, ["check", *options])
        assert refused.exit_code == 2 and message in refused.output and "Traceback" not in refused.output


def test_a_template_that_fails_lint_is_refused_naming_the_file_and_force_does_not_bypass_it(settings: Settings, sessions) -> None:
    broken = ConfigFiles({**BASE.files, "persona_styles/_default/templates/greeting.j2": "{% block v1 %}您好{% endblok %}"})
    for force in (False, True):
        with sessions() as session, pytest.raises(ConfigRefused) as refused:
            configuration.publish(session, broken, "alice", "typo", NOW, force=force, settings=settings)
        assert not refused.value.overridable
        assert any("persona_styles/_default/templates/greeting.j2" in p for p in refused.value.problems), refused.value.problems
        assert all("/tmp" not in p for p in refused.value.problems)
    unloadable = ConfigFiles({**BASE.files, "intents/greeting.yml": "intent: greeting\nexamples: [你好]\n"})
    with sessions() as session, pytest.raises(ConfigRefused) as refused:
        configuration.publish(session, unloadable, "alice", "no description", NOW, force=True, settings=settings)
    assert refused.value.problems[0].startswith("intents/greeting.yml: description:")
    with sessions() as session:
        assert [v.number for v in configuration.versions(session)] == [1]
        assert configuration.active(session).number == 1


def test_a_version_that_evaluates_clearly_worse_is_refused_unless_forced(settings: Settings, sessions) -> None:
    # the tiny test data calibrates its threshold to 1.0, where any retraining drops complaints to fallback (the obligation gate)
    settings = settings.model_copy(update={"fallback_threshold": 0.6})
    a = yaml.safe_load(BASE.files["intents/order_status.yml"])
    b = yaml.safe_load(BASE.files["intents/greeting.yml"])  # not complaint: mixing a guarded intent is refused outright
    pool = a["examples"] + b["examples"]
    random.Random(1).shuffle(pool)
    a["examples"], b["examples"] = pool[: len(pool) // 2], pool[len(pool) // 2:]
    shuffled = ConfigFiles({
        **BASE.files,
        "intents/order_status.yml": yaml.safe_dump(a, allow_unicode=True, sort_keys=False),
        "intents/greeting.yml": yaml.safe_dump(b, allow_unicode=True, sort_keys=False),
    })
    with sessions() as session, pytest.raises(ConfigRefused) as refused:
        configuration.publish(session, shuffled, "alice", "reorganised", NOW, settings=settings)
    figures = refused.value.evaluation
    assert refused.value.overridable
    assert figures["measure"] == "shared_accuracy" and figures["shared_intents"] == 4
    assert figures["shared_accuracy"] < figures["active_shared_accuracy"] - 0.005
    assert figures["drop"] == round(figures["active_shared_accuracy"] - figures["shared_accuracy"], 4)
    assert "on the 4 intents both versions share is worse than the active version 1's" in str(refused.value)
    assert f"down {figures['drop'] * 100:.1f} points" in str(refused.value)
    with sessions() as session:
        result = configuration.publish(session, shuffled, "alice", "I know", NOW, force=True, settings=settings)
        assert result.number == 2 and result.forced
        assert result.accuracy == figures["accuracy"] and result.active_accuracy == figures["active_accuracy"]
    with sessions() as session:
        entry = session.scalar(select(AuditLog).where(AuditLog.action == "publish"))
        assert (entry.actor, entry.version) == ("alice", 2)
        assert entry.detail["forced"] is True
        assert entry.detail["changed"] == ["intents/greeting.yml", "intents/order_status.yml"]
        assert configuration.active(session).evaluation["per_intent"].keys() >= {"greeting", "order_status"}


INVOICE_INTENT = {"intent": "invoice", "description": "客户要开发票", "marketing": False,
                  "examples": ["开发票", "发票", "要发票", "发票呢", "电子发票", "开个发票", "报销", "收据"]}


def with_invoice(files: ConfigFiles = BASE) -> ConfigFiles:
    """A new intent whose own examples are partly taken for others (overall accuracy falls) but that takes none of theirs."""
    return ConfigFiles({**files.files, "intents/invoice.yml": yaml.safe_dump(INVOICE_INTENT, allow_unicode=True, sort_keys=False)})


def test_adding_an_intent_is_judged_on_the_intents_both_versions_share(settings: Settings, sessions) -> None:
    with sessions() as session:
        result = configuration.publish(session, with_invoice(), "alice", "invoices", NOW, settings=settings)
        assert result.number == 2 and not result.forced
        assert result.accuracy < result.active_accuracy - 0.005  # overall accuracy fell: the old rule refused this
        new, old = configuration.active(session).evaluation, configuration.get_version(session, 1).evaluation
        shared = set(old["scores"])
        assert configuration.shared_accuracy(new, shared) >= configuration.shared_accuracy(old, shared)
        assert "invoice" in new["scores"] and "invoice" not in shared
        entry = configuration.audit_entries(session, 1)[0]
        assert entry.detail["shared_accuracy"] >= entry.detail["active_shared_accuracy"] and entry.detail["forced"] is False


def test_evaluation_folds_are_fixed_by_text_so_an_edit_moves_no_other_intents_examples() -> None:
    from bot.nlu.evaluation import stable_folds

    texts = [f"例句{i}" for i in range(40)]
    labels = ["a"] * 15 + ["b"] * 13 + ["c"] * 12
    folds = stable_folds(texts, labels, 5)
    for label in "abc":  # every intent is spread over all five folds, evenly
        counts = Counter(f for f, name in zip(folds, labels) if name == label)
        assert len(counts) == 5 and max(counts.values()) - min(counts.values()) <= 1
    edited = stable_folds(texts + ["新例句"], labels + ["a"], 5)  # one example more for a
    assert [f for f, name in zip(edited, labels) if name != "a"] == [f for f, name in zip(folds, labels) if name != "a"]
    assert stable_folds(list(reversed(texts)), list(reversed(labels)), 5) == list(reversed(folds))  # order does not matter


def test_compare_counts_only_items_of_shared_intents() -> None:
    def figures(**scores: tuple[int, int]) -> dict:
        return {"scores": {name: {"support": support, "correct": correct} for name, (correct, support) in scores.items()}}

    active = figures(a=(9, 10), b=(8, 10), gone=(0, 10))
    draft = figures(a=(9, 10), b=(7, 10), new=(0, 10))
    comparison = configuration.compare(draft, active)
    assert comparison.shared == ("a", "b")
    assert (comparison.accuracy, comparison.active_accuracy, comparison.drop) == (0.8, 0.85, 0.05)
    assert comparison.worse
    assert not configuration.compare(figures(a=(9, 10), b=(8, 10), new=(0, 10)), active).worse
    assert configuration.compare(draft, None).accuracy is None and not configuration.compare(draft, None).worse


def test_publish_reuses_an_evaluation_of_the_same_files_and_refreshes_an_old_format_one(
    settings: Settings, sessions, monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = with_invoice()
    _, figures = configuration.check(files, settings)
    with sessions() as session:
        configuration.get_version(session, 1).evaluation = {"accuracy": 0.5, "macro_f1": 0.5, "per_intent": {}}  # stored by older code
        session.commit()
        configuration.publish(session, files, "alice", "first", NOW, settings=settings, evaluation={**figures, "digest": files.digest})
        refreshed = configuration.get_version(session, 1).evaluation
        assert configuration.is_current(refreshed) and refreshed["accuracy"] > 0.5
        assert "digest" not in configuration.active(session).evaluation

    again = ConfigFiles({**files.files, "intents/invoice.yml": files.files["intents/invoice.yml"] + "  - 开票\n"})
    _, again_figures = configuration.check(again, settings)  # what the console remembers after "evaluate"

    def no_cross_validation(*args: object) -> dict:
        raise AssertionError("cross-validated again")

    monkeypatch.setattr(store, "_evaluation_of", no_cross_validation)
    with sessions() as session:
        result = configuration.publish(session, again, "alice", "second", NOW, settings=settings, evaluation=again_figures)
        assert result.number == 3 and result.accuracy == again_figures["accuracy"]


def test_publish_and_rollback_switch_every_running_instance(database_url: str) -> None:
    settings = make_settings(database_url, config_poll_seconds=0.1)
    with ExitStack() as stack:
        first = stack.enter_context(TestClient(create_app(settings)))   # worker threads keep running
        second = stack.enter_context(TestClient(create_app(settings)))  # a second instance on the same database
        instances = [runtime(first), runtime(second)]
        admin = bearer(first, "root", "admin")

        def draft_intent(client: TestClient, msg_id: str) -> str:
            body = {"channel": "demo", "customer_id": f"c-{msg_id}", "text": QUESTION, "msg_id": msg_id}
            assert client.post("/api/messages", json=body, headers=admin).status_code == 202
            found: list = []
            assert wait_for(lambda: bool(found.extend(client.get(
                "/api/drafts", params={"customer_id": f"c-{msg_id}"}, headers=admin).json()) or found))
            return found[0]["intent"]

        assert draft_intent(first, "m1") != "store_hours"
        with instances[0].sessions() as session:
            result = configuration.publish(session, with_store_hours(), "alice", "store hours", instances[0].clock(), settings=settings)
        assert result.number == 2
        assert wait_for(lambda: all("store_hours" in rt.pipeline.intents for rt in instances), 5)
        assert all(rt.drafting.pipeline is rt.pipeline and rt.config.number == 2 for rt in instances)
        assert draft_intent(first, "m2") == "store_hours"
        assert draft_intent(second, "m3") == "store_hours"

        with instances[1].sessions() as session:
            configuration.rollback(session, 1, "bob", instances[1].clock())
        assert wait_for(lambda: all("store_hours" not in rt.pipeline.intents for rt in instances), 5)
        assert draft_intent(second, "m4") != "store_hours"
        assert draft_intent(first, "m5") != "store_hours"
        with instances[0].sessions() as session:
            assert [(a.action, a.actor, a.version) for a in reversed(configuration.audit_entries(session))] == [
                ("initial", "system", 1), ("publish", "alice", 2), ("rollback", "bob", 1),
            ]


def test_a_version_that_fails_to_load_keeps_the_old_pipeline(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(create_app(settings)) as client:
        rt = runtime(client)
        rt.config.stop()  # drive the watcher by hand
        old = rt.pipeline
        assert rt.config.poll() is False
        with rt.sessions() as session:
            broken = ConfigVersion(number=2, files={**BASE.files, "persona_styles/_default/persona.yml": "persona: [oops"},
                                   digest="x", author="mallory", note="", created_at=NOW)
            session.add(broken)
            session.commit()
            configuration.rollback(session, 2, "mallory", NOW)
        assert rt.config.poll() is False
        assert rt.pipeline is old and rt.config.number == 1
        assert "could not be loaded; keeping version 1" in caplog.text
        with rt.sessions() as session:
            configuration.publish(session, with_store_hours(), "alice", "store hours", NOW, force=True, settings=settings)
        assert rt.config.poll() is True
        assert "store_hours" in rt.pipeline.intents and rt.drafting.pipeline is rt.pipeline
