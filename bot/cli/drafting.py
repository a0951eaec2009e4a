"""draftbot check, draft and eval: the configuration checked, a draft made offline, the classifier measured."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from bot.cli.common import (
    ConfigVersion,
    _config_files,
    _fail,
    _progress,
    _settings,
    app,
    err,
    out,
)
from bot.errors import DraftbotError

if TYPE_CHECKING:
    from bot.nlu.evaluation import Report
    from bot.nlu.intents import Intent
    from bot.nlu.two_questions import TwoQuestionsResult
    from bot.config import Settings
    from bot.services.configuration import ConfigFiles


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
    if plan.answer_id:
        out.print(f"answer:     {plan.answer_id}", highlight=False)
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
    two_questions: Annotated[Optional[Path], typer.Option(
        "--two-questions", help="JSONL of messages asking two things ({\"text\", \"intents\": [a, b]}): share answered in full, "
        "and single questions (its one-intent lines and the --test messages) that gain a second intent")] = None,
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
    two = _two_questions(two_questions, texts, labels, settings, test_set, intents) if two_questions is not None else None
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
    from bot.nlu.answers import evaluate_answers

    answers = evaluate_answers(intents) if train is None else None
    if as_json:
        print(json.dumps(result.summary() | ({"answers": answers.summary()} if answers else {})
                         | ({"two_questions": two.summary()} if two else {}), ensure_ascii=False))
        return
    _print_report(result)
    if two:
        out.print(
            f"two questions: {two.both}/{two.pairs} answered in full ({two.both_rate:.1%}, target 85%); "
            f"single questions with a spurious second intent: {two.spurious}/{two.singles} ({two.spurious_rate:.1%}, target under 3%)",
            highlight=False,
        )
    if answers:
        out.print(
            f"answers: {answers.questions} question variants, each held out in turn: top-1 {answers.top1_accuracy:.1%}; "
            f"threshold {answers.threshold:.2f}: coverage {answers.coverage:.1%}, accuracy on accepted {answers.accuracy_on_accepted:.1%}",
            highlight=False,
        )


def _two_questions(path: Path, texts: list[str], labels: list[str], settings: "Settings",
                   test_set: tuple[list[str], list[str]] | None, intents: list) -> "TwoQuestionsResult":
    """The two-question measure of the model trained on everything eval trains on (and the intents' answers, as drafts read)."""
    from bot.nlu.answers import AnswerIndex
    from bot.nlu.classifier import IntentClassifier
    from bot.nlu.two_questions import evaluate_two_questions, load_two_questions

    try:
        items = load_two_questions(path)
    except DraftbotError as exc:
        _fail(exc)
    model = IntentClassifier.fit(texts, labels, target_precision=settings.target_precision, threshold=settings.fallback_threshold)
    return evaluate_two_questions(model, items, test_set[0] if test_set else (), AnswerIndex.build(intents))


def _readable_intents(files: ConfigFiles) -> list:
    """The configuration's intents, or none when they do not load (they only name a report's rows)."""
    from bot.nlu.intents import intents_from

    try:
        return intents_from(files.intent_texts(), where="intents")
    except DraftbotError:
        return []


def _display_names(intents: list[Intent]) -> dict[str, str]:
    """Intent id -> Chinese display name, for the report."""
    from bot.nlu.intents import FALLBACK, FALLBACK_NAME

    return {FALLBACK: FALLBACK_NAME} | {i.intent: i.display_name for i in intents if i.display_name}


def _print_report(result: Report) -> None:
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
