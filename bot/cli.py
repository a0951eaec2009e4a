"""The draftbot command: serve, worker, check, eval, draft, token, account, db, config. Thin over the same parts the app uses."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from bot.config import Settings, get_settings
from bot.errors import DraftbotError

if TYPE_CHECKING:
    from bot.services.configuration import ConfigFiles

app = typer.Typer(help="draftbot: persona-consistent reply drafts for WeCom, sent only after a human approves.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for the staff API.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(token_app, name="token")
account_app = typer.Typer(help="Console sign-ins (/admin): a userid, a role and a password.", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(db_app, name="db")
config_app = typer.Typer(help="Configuration versions: intents and persona styles published in the database.", no_args_is_help=True)
app.add_typer(config_app, name="config")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    try:
        return get_settings()
    except DraftbotError as exc:
        _fail(exc)


def _when(moment: datetime | None, zone: str) -> str:
    """A stored time in a listing, on the brand's clock and named: '2026-12-04 18:02（北京时间）'; '-' for none."""
    from bot.timefmt import local_time

    return local_time(moment, zone) if moment is not None else "-"


def _print_listing(table: Table) -> None:
    """Print a listing: fitted to a terminal; piped, one line per row (a time is never split for grep or a script)."""
    if out.is_terminal:
        out.print(table)
    else:
        Console(file=out.file, width=max(out.width, 240), soft_wrap=True).print(table)


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(2)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


ConfigVersion = Annotated[
    Optional[str],
    typer.Option("--config-version", help="use a configuration version from the database (a number, or 'active') instead of the folders"),
]


def _chosen_version(session, settings: Settings, version: str | int | None):  # noqa: ANN001, ANN202
    """The configuration version asked for (None or 'active': the active one); fails with a message if there is none."""
    from bot.services.configuration import active, ensure_initial, get_version
    from bot.wiring import system_clock

    ensure_initial(session, settings, system_clock())
    if version is None or version == "active":
        return active(session)
    try:
        number = int(version)
    except ValueError:
        _fail(DraftbotError(f"--config-version: {version!r} is neither a version number nor 'active'"))
    chosen = get_version(session, number)
    if chosen is None:
        _fail(DraftbotError(f"no configuration version {number}"))
    return chosen


def _config_files(settings: Settings, version: str | None) -> tuple[ConfigFiles, str]:
    """The configuration to use, in memory, and where it came from: the folders, or a version from the database."""
    from bot.services.configuration import ConfigFiles, files_of

    if version is None:
        try:
            return ConfigFiles.from_directories(settings.intents_dir, settings.personas_dir), str(settings.intents_dir)
        except DraftbotError as exc:
            _fail(exc)
    _, sessions = _database()
    with sessions() as session:
        try:
            chosen = _chosen_version(session, settings, version)
            files = files_of(chosen)
        except DraftbotError as exc:
            _fail(exc)
    err.print(f"configuration version {chosen.number} from the database", highlight=False)
    return files, f"configuration version {chosen.number}"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Run the service: WeCom callback, staff API, the worker (its own process), and the demo page at /."""
    import os
    import shutil

    import uvicorn

    settings = _settings()
    _configure_logging(settings.log_level)
    if settings.worker == "auto":
        settings = settings.model_copy(update={"worker": "process"})
    from bot.services.facts.demo import demo_orders_url, uses_demo_orders

    if uses_demo_orders(settings):  # the demo's own order system, asked over HTTP like any other
        settings = settings.model_copy(update={"orders_url": demo_orders_url(host, port)})
        os.environ["DRAFTBOT_ORDERS_URL"] = settings.orders_url  # the worker process reads its settings from here
    metrics_dir = _share_metrics_with_worker() if settings.worker == "process" else None
    from bot.app import create_app  # after _share_metrics_with_worker: it must precede importing prometheus_client
    from bot.wiring import freeze_heap

    try:
        application = create_app(settings)
    except DraftbotError as exc:
        _fail(exc)
    freeze_heap()
    out.print(f"draftbot on http://{host}:{port}/  (database: {settings.database_url})", highlight=False)
    try:
        uvicorn.run(application, host=host, port=port, log_level=settings.log_level.lower(), access_log=False,
                    proxy_headers=False,  # the app believes X-Forwarded-For only from DRAFTBOT_TRUSTED_PROXIES
                    timeout_keep_alive=5)  # an idle keep-alive connection is closed after 5 s
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _share_metrics_with_worker() -> Path | None:
    """Count metrics in a folder both processes write (prometheus_client's multiprocess mode); returns it.

    The worker process inherits the variable, so /metrics shows its drafts and sends too. The folder
    is named after this process; folders of services that have ended are removed here, because a
    service stopped by a signal ends without cleaning up (uvicorn re-raises the signal). An operator's
    own PROMETHEUS_MULTIPROC_DIR is used as it is (and None returned: it is not ours to remove).
    """
    import os
    import shutil
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    base = Path(tempfile.gettempdir())
    for folder in base.glob("draftbot-metrics-*"):
        pid = folder.name.removeprefix("draftbot-metrics-")
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    folder = base / f"draftbot-metrics-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def _running(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@app.command()
def worker(
    supervised: Annotated[bool, typer.Option(hidden=True, help="started by `draftbot serve`: stdin is its pipe")] = False,
    sole_instance: Annotated[bool, typer.Option(help="first resume the jobs left running (only if no other worker shares the database)")] = False,
) -> None:
    """Run the queued jobs (drafts, sends, cards) without serving HTTP; `draftbot serve` starts one itself."""
    from bot.wiring import Runtime, freeze_heap  # loaded before waiting: `serve` starts its worker early for this
    from bot.worker.process import run_until_stopped, wait_for_go

    settings = _settings()
    _configure_logging(settings.log_level)
    if supervised:
        sole_instance = wait_for_go() or sole_instance
    try:
        runtime = Runtime.build(settings, serving=False)
    except DraftbotError as exc:
        _fail(exc)
    freeze_heap()
    try:
        run_until_stopped(runtime.worker, supervised=supervised, sole_instance=sole_instance)
    finally:
        runtime.close()


@app.command()
def check(config_version: ConfigVersion = None) -> None:
    """Validate intents/ and persona_styles/: schema, duplicates, every intent x persona renders."""
    from rich.markup import escape

    from bot.persona.lint import lint
    from bot.wiring import build_pipeline

    settings = _settings()
    files, _ = _config_files(settings, config_version)
    try:
        pipeline = build_pipeline(files, settings)
    except DraftbotError as exc:
        _fail(exc)
    problems = lint(pipeline.book, pipeline.renderer, list(pipeline.intents.values()))
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        out.print(f"[{colour}]{problem.severity}[/]: {escape(str(problem))}", highlight=False)  # findings quote template text
    unnamed = [i.intent for i in pipeline.intents.values() if not i.display_name]
    for intent in unnamed:  # optional, so older files stay valid; staff would see the id
        out.print(f"[yellow]warning[/]: intents/{intent}.yml: display_name: missing, staff and admins will see "
                  f"the id {intent!r}; add a Chinese name (e.g. display_name: 退订)", highlight=False)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors + len(unnamed)
    out.print(
        f"{len(pipeline.intents)} intents, {len(pipeline.book.names())} personas: "
        f"{errors} errors, {warnings} warnings",
        highlight=False,
    )
    if errors:
        raise typer.Exit(1)


@app.command()
def draft(
    text: Annotated[str, typer.Argument(help="the customer's message")],
    persona: Annotated[Optional[str], typer.Option(help="persona to speak as (default: DRAFTBOT_DEFAULT_PERSONA)")] = None,
    name: Annotated[str, typer.Option(help="the customer's name")] = "",
    config_version: ConfigVersion = None,
) -> None:
    """Draft a reply offline: prints intent, confidence, persona and the draft."""
    from bot.drafts.pipeline import Inbound
    from bot.wiring import build_pipeline

    settings = _settings()
    files, _ = _config_files(settings, config_version)
    try:
        pipeline = build_pipeline(files, settings)
    except DraftbotError as exc:
        _fail(exc)
    if persona and persona not in pipeline.book:
        _fail(DraftbotError(f"no persona {persona!r}; have: {', '.join(pipeline.book.names())}"))
    plan = pipeline.plan(Inbound(msg_id="cli", channel="demo", customer_id="cli", text=text, customer_name=name), persona=persona)
    runners = ", ".join(f"{n} {p:.2f}" for n, p in plan.runners_up)
    out.print(f"intent:     {plan.intent}  (confidence {plan.confidence:.2f}; runners-up: {runners})" if plan.confidence is not None else f"intent:     {plan.intent}", highlight=False)
    out.print(f"persona:    {plan.persona}", highlight=False)
    out.print(f"template:   {plan.template} {plan.variation}", highlight=False)
    for flag in plan.flags:
        out.print(f"flag:       {flag['code']}: {flag['reason']}", highlight=False)
    if plan.manual_reason:
        out.print(f"manual:     {plan.manual_reason}", highlight=False, markup=False)  # may quote template text
    out.print("draft:", highlight=False)
    out.print(plan.text, highlight=False, markup=False)


@app.command("eval")
def evaluate(
    train: Annotated[Optional[Path], typer.Option(help="JSONL file to train on ({\"text\", \"label\"} per line)")] = None,
    test: Annotated[Optional[Path], typer.Option(help="JSONL file to test on")] = None,
    folds: Annotated[int, typer.Option(help="folds of the cross-validation", min=2)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    predictions: Annotated[Optional[Path], typer.Option(help="write each test item with its prediction (JSONL)")] = None,
    report: Annotated[Optional[Path], typer.Option(help="write an HTML report with charts (index.html) and report.json into this folder")] = None,
    config_version: ConfigVersion = None,
) -> None:
    """Measure the classifier: cross-validation on the shipped intents, or --train/--test files."""
    import json

    from bot.nlu.classifier import IntentClassifier
    from bot.nlu.datasets import from_intents, load_jsonl
    from bot.nlu.evaluation import cross_validate, held_out
    from bot.nlu.intents import intents_from

    if train is not None and config_version is not None:
        _fail(DraftbotError("--train and --config-version both say what to train on: give one"))
    settings = _settings()
    files, source = _config_files(settings, config_version)
    try:
        intents = intents_from(files.intent_texts(), where="intents") if train is None else []
        texts, labels = load_jsonl(train) if train is not None else from_intents(intents)
        source = str(train) if train is not None else source
        test_set = load_jsonl(test) if test is not None else None
    except DraftbotError as exc:
        _fail(exc)
    names = _display_names(intents or _readable_intents(files)) if report else {}
    with _progress(quiet=False) as progress:
        if test_set is None:
            task = progress.add_task(f"{folds}-fold cross-validation on {source}", total=folds)
            result = cross_validate(
                texts, labels, folds=folds, target_precision=settings.target_precision,
                progress=lambda _stage, done, _total: progress.update(task, completed=done),
            )
        else:
            task = progress.add_task(f"training on {source}", total=2)
            model = IntentClassifier.fit(texts, labels, target_precision=settings.target_precision, threshold=settings.fallback_threshold)
            progress.update(task, completed=1, description=f"testing on {test}")
            result = held_out(model, *test_set, method=f"trained on {source}, tested on {test}")
            progress.update(task, completed=2)
    if predictions:
        with predictions.open("w", encoding="utf-8") as handle:
            for item in result.items:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    if report:
        from bot.console.report import write_report

        try:
            page = write_report(result, report, names)
        except OSError as exc:
            _fail(DraftbotError(f"--report {report}: 无法在这里写报告（{exc.strerror or exc}）"))
        err.print(f"report: {page}", highlight=False)
    if as_json:
        print(json.dumps(result.summary(), ensure_ascii=False))
        return
    _print_report(result)


def _readable_intents(files: ConfigFiles) -> list:
    """The configuration's intents, or none when they do not load (they only name a report's rows)."""
    from bot.nlu.intents import intents_from

    try:
        return intents_from(files.intent_texts(), where="intents")
    except DraftbotError:
        return []


def _display_names(intents: list) -> dict[str, str]:
    """Intent id -> Chinese display name, for the report."""
    from bot.nlu.intents import FALLBACK, FALLBACK_NAME

    return {FALLBACK: FALLBACK_NAME} | {i.intent: i.display_name for i in intents if i.display_name}


def _progress(*, quiet: bool):  # noqa: ANN202
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True, disable=quiet)


def _print_report(result) -> None:  # noqa: ANN001
    out.print(f"{result.method}: {result.examples} examples", highlight=False)
    out.print(
        f"accuracy {result.accuracy:.1%}   macro-F1 {result.macro_f1:.1%}   "
        f"threshold {result.threshold:.2f}: coverage {result.coverage:.1%}, "
        f"accuracy on accepted {result.accuracy_on_accepted:.1%} (target {result.target_precision:.0%})",
        highlight=False,
    )
    table = Table("intent", "precision", "recall", "F1", "examples")
    for score in result.per_intent:
        style = "red" if score.f1 < 0.8 else None
        table.add_row(score.intent, f"{score.precision:.1%}", f"{score.recall:.1%}", f"{score.f1:.1%}", str(score.support), style=style)
    out.print(table)
    if result.confusion_pairs:
        out.print("most confused:", highlight=False)
        for pair in result.confusion_pairs[:8]:
            out.print(f"  {pair['a']} → {pair['b']}: {pair['a_as_b']}   {pair['b']} → {pair['a']}: {pair['b_as_a']}", highlight=False)


def _database():  # noqa: ANN202
    from bot.wiring import open_database

    settings = _settings()
    try:
        return open_database(settings)
    except DraftbotError as exc:
        _fail(exc)
    except Exception as exc:  # a database that cannot be reached
        _fail(DraftbotError(f"cannot open the database {settings.database_url}: {type(exc).__name__}: {exc}"))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    engine, _ = _database()
    out.print(f"database is up to date: {engine.url.render_as_string(hide_password=True)}", highlight=False)


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="the staff member's WeCom userid")],
    role: Annotated[str, typer.Option(help="staff, admin, or intake (a pipeline that only posts customer messages)")] = "staff",
) -> None:
    """Create a token; the token itself is printed on the last line, once."""
    from bot.db.tokens import create_token
    from bot.wiring import system_clock

    _, sessions = _database()
    with sessions() as session:
        try:
            token_id, token = create_token(session, user_id=user, role=role, now=system_clock())
        except ValueError as exc:
            _fail(DraftbotError(str(exc)))
        session.commit()
    out.print(f"token {token_id} for {user} ({role}); keep it secret, it is not shown again:", highlight=False)
    print(token)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never the tokens themselves)."""
    from bot.db.tokens import list_tokens

    zone = _settings().timezone
    _, sessions = _database()
    table = Table("id", "user", "role", "created", "last used", "revoked")
    with sessions() as session:
        for row in list_tokens(session):
            table.add_row(str(row.id), row.user_id, row.role, _when(row.created_at, zone),
                          _when(row.last_used_at, zone), _when(row.revoked_at, zone))
    _print_listing(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="the id shown by `draftbot token list`")]) -> None:
    """Revoke a token by id."""
    from bot.db.tokens import revoke_token
    from bot.wiring import system_clock

    _, sessions = _database()
    with sessions() as session:
        if not revoke_token(session, token_id, now=system_clock()):
            _fail(DraftbotError(f"no live token with id {token_id}"))
        session.commit()
    out.print(f"token {token_id} revoked", highlight=False)


@account_app.command("create")
def account_create(
    user: Annotated[str, typer.Option(help="the person's WeCom userid")],
    role: Annotated[str, typer.Option(help="admin (may open the console) or staff")] = "admin",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from the first line of stdin")] = False,
) -> None:
    """Create a console account, or set a new role and password for an existing one (ends its sessions)."""
    import sys

    from bot.db.accounts import save_account
    from bot.wiring import system_clock

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    _, sessions = _database()
    with sessions() as session:
        try:
            created = save_account(session, user_id=user, role=role, password=password, now=system_clock())
        except ValueError as exc:
            _fail(DraftbotError(str(exc)))
        session.commit()
    out.print(f"account {user.strip()} ({role}) {'created' if created else 'updated'}", highlight=False)


@account_app.command("list")
def account_list() -> None:
    """List console accounts."""
    from bot.db.accounts import list_accounts

    zone = _settings().timezone
    _, sessions = _database()
    table = Table("user", "role", "created", "disabled")
    with sessions() as session:
        for row in list_accounts(session):
            table.add_row(row.user_id, row.role, _when(row.created_at, zone), _when(row.disabled_at, zone))
    _print_listing(table)


@account_app.command("disable")
def account_disable(user: Annotated[str, typer.Argument(help="the userid")]) -> None:
    """Disable an account and sign it out everywhere."""
    from bot.db.accounts import disable_account
    from bot.wiring import system_clock

    _, sessions = _database()
    with sessions() as session:
        if not disable_account(session, user, now=system_clock()):
            _fail(DraftbotError(f"no live account {user!r}"))
        session.commit()
    out.print(f"account {user} disabled", highlight=False)


def _author(author: str | None) -> str:
    import getpass

    if author:
        return author
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "cli"


def _refused(exc: Exception) -> None:
    from rich.markup import escape

    from bot.services.configuration import ConfigRefused

    if isinstance(exc, ConfigRefused):
        figures = exc.evaluation
        for problem in exc.problems:
            err.print(f"[bold red]refused:[/] {escape(problem)}", highlight=False)
        if figures.get("accuracy") is not None:
            active = figures.get("active_accuracy")
            err.print(
                f"accuracy {figures['accuracy']:.1%} (5-fold cross-validation); active version "
                f"{figures.get('active_version')}: {active:.1%}" if active is not None else f"accuracy {figures['accuracy']:.1%}",
                highlight=False,
            )
        if exc.overridable:
            err.print("add --force to publish anyway (recorded in the audit log)", highlight=False)
        elif _is_obligation(exc):
            err.print("这项检查（退订、投诉、转人工必须仍能识别）不能用 --force 跳过 (--force does not override it)", highlight=False)
        raise typer.Exit(1)
    _fail(exc)


@contextmanager
def _disposing(engine) -> Iterator[None]:  # noqa: ANN001
    """Close the database connections when the command ends (a test runs many commands in one process)."""
    try:
        yield
    finally:
        engine.dispose()


def _is_obligation(exc: Exception) -> bool:
    from bot.services.configuration.obligations import ObligationRefused

    return isinstance(exc, ObligationRefused)


@config_app.command("export")
def config_export(
    directory: Annotated[Path, typer.Argument(help="folder to write intents/ and persona_styles/ into")],
    version: Annotated[Optional[int], typer.Option("--version", help="version number (default: the active one)")] = None,
) -> None:
    """Write a configuration version as intents/ and persona_styles/ files under DIR."""
    from bot.services.configuration import files_of

    settings = _settings()
    _, sessions = _database()
    with sessions() as session:
        try:
            chosen = _chosen_version(session, settings, version)
            existing = [d for d in ("intents", "persona_styles") if (directory / d).exists()]
            if existing:
                _fail(DraftbotError(f"{directory}: {', '.join(existing)} already exists; export into an empty folder"))
            files_of(chosen).write_to(directory)
        except DraftbotError as exc:
            _fail(exc)
        except OSError as exc:
            _fail(DraftbotError(f"{directory}: cannot write: {exc}"))
    out.print(f"version {chosen.number}: {len(chosen.files)} files written to {directory}", highlight=False)


@config_app.command("import")
def config_import(
    directory: Annotated[Path, typer.Argument(help="folder holding intents/ and persona_styles/")],
    note: Annotated[str, typer.Option(help="what changed and why (required)")] = "",
    author: Annotated[Optional[str], typer.Option(help="who publishes (default: your user name)")] = None,
    force: Annotated[bool, typer.Option("--force", help="publish even if it evaluates worse than the active version (never bypasses check errors or the opt-out/complaint/hand-off check)")] = False,
) -> None:
    """Publish the files under DIR as a new active version, after check and evaluation; files equal to the active version change nothing."""
    from bot.services.configuration import ConfigFiles, ensure_initial, publish
    from bot.wiring import system_clock

    if not note.strip():
        _fail(DraftbotError('--note is required: 请用 --note 写一句发布说明（改了什么、为什么改），例如 --note "新增开发票的说法"'))
    settings = _settings()
    engine, sessions = _database()
    with _disposing(engine), sessions() as session:
        try:
            current = ensure_initial(session, settings, system_clock())
            files = ConfigFiles.from_directory(directory)
            if files.digest == current.digest:
                out.print(f"没有变化：{directory} 的文件与线上版本 {current.number} 完全相同，没有发布新版本 "
                          f"(no changes: identical to active version {current.number})", highlight=False)
                return
            with _progress(quiet=False) as progress:
                progress.add_task("checking and evaluating (5-fold cross-validation)", total=None)
                result = publish(session, files, _author(author), note, system_clock(), force=force, settings=settings, action="import")
        except DraftbotError as exc:
            _refused(exc)
        except OSError as exc:
            _fail(DraftbotError(f"{directory}: cannot read: {exc}"))
    for warning in result.warnings:
        out.print(f"[yellow]warning[/]: {warning}", highlight=False)
    active = f"; active version was {result.active_accuracy:.1%}" if result.active_accuracy is not None else ""
    forced = " (forced)" if result.forced else ""
    out.print(f"published version {result.number}{forced}: accuracy {result.accuracy:.1%}{active}", highlight=False)


@config_app.command("list")
def config_list() -> None:
    """List configuration versions; * marks the active one."""
    from bot.services.configuration import active, ensure_initial, versions
    from bot.wiring import system_clock

    settings = _settings()
    _, sessions = _database()
    table = Table("version", "active", "author", "note", "created", "accuracy")
    with sessions() as session:
        try:
            current = ensure_initial(session, settings, system_clock())
        except DraftbotError as exc:
            _fail(exc)
        current = active(session) or current
        for row in versions(session):
            accuracy = (row.evaluation or {}).get("accuracy")
            table.add_row(
                str(row.number), "*" if row.id == current.id else "", row.author, row.note,
                _when(row.created_at, settings.timezone), f"{accuracy:.1%}" if accuracy is not None else "-",
            )
    _print_listing(table)


@config_app.command("rollback")
def config_rollback(
    number: Annotated[int, typer.Argument(help="the version to make active again")],
    author: Annotated[Optional[str], typer.Option(help="who rolls back (default: your user name)")] = None,
) -> None:
    """Make an earlier version active again; running instances switch within seconds."""
    from bot.services.configuration import ensure_initial, rollback
    from bot.wiring import system_clock

    settings = _settings()
    engine, sessions = _database()
    with _disposing(engine), sessions() as session:
        try:
            ensure_initial(session, settings, system_clock())
            rollback(session, number, _author(author), system_clock(), settings=settings)
        except DraftbotError as exc:
            _refused(exc)
    out.print(f"version {number} is active", highlight=False)
