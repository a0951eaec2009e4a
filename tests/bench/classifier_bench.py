"""Classifier benchmark: public data, shipped intents, persona distinctness, latency and training time.

    python tests/bench/classifier_bench.py              # prints the figures, writes tests/bench/results/classifier.json
    python tests/bench/classifier_bench.py --seeds 3    # also repeat each cross-validation with seeds 1 and 2

Runs on one core (the process pins itself with os.sched_setaffinity) so the figures match the
"10,000 examples in under 10 s on one core" target.

The public data sets (SMP2017, BANKING77) are not in this repository: they are read from
../shared/bench/<name>/train.jsonl, one {"text": ..., "label": ...} per line. To measure on them, build
those files from github NOXITONG/SMP2017-ECDT-task1 (preprocessing/Chinese_data.csv, the train block)
and PolyAI-LDN/task-specific-datasets (banking_data/train.csv), or point DRAFTBOT_BENCH_DATA at a
folder that has them. Without them those figures are skipped, with a note saying so; the rest runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.config import PROJECT_DIR
from bot.nlu.classifier import IntentClassifier
from bot.nlu.datasets import from_intents, load_jsonl
from bot.nlu.entities import ENTITY_SAMPLES
from bot.nlu.evaluation import cross_validate, held_out
from bot.nlu.intents import FALLBACK, load_intents
from bot.nlu.normalise import normalise
from bot.persona.render import Renderer
from bot.persona.styles import ARCHETYPES, load_personas

BENCH = Path(os.environ.get("DRAFTBOT_BENCH_DATA") or ROOT.parent / "shared" / "bench")
RESULTS = ROOT / "tests" / "bench" / "results" / "classifier.json"
HELD_OUT = sorted((ROOT / "tests" / "bench" / "data").glob("shipped_heldout*.jsonl"))


def missing(name: str) -> dict | None:
    """A note saying why the public data set `name` is skipped, or None when its training split is there."""
    path = BENCH / name / "train.jsonl"
    if path.is_file():
        return None
    note = f"skipped: {path} is missing (see the top of tests/bench/classifier_bench.py for where to get it)"
    print(f"{name}: {note}", file=sys.stderr)
    return {"skipped": note}


def public(name: str, seeds: int = 1) -> dict:
    if (skipped := missing(name)) is not None:
        return skipped
    texts, labels = load_jsonl(BENCH / name / "train.jsonl")
    report = cross_validate(texts, labels, folds=5)
    return {**_figures(report), **_other_seeds(texts, labels, seeds)}


def _other_seeds(texts: list[str], labels: list[str], seeds: int) -> dict:
    """The same cross-validation with other shuffles (of the folds and of the calibration inside each fold)."""
    if seeds <= 1:
        return {}
    runs = [{"seed": seed, **_figures(cross_validate(texts, labels, folds=5, seed=seed))} for seed in range(1, seeds)]
    return {"other_seeds": [{key: run[key] for key in ("seed", "accuracy", "threshold", "coverage", "accuracy_on_accepted")} for run in runs]}


def _figures(report) -> dict:
    return {
        "examples": report.examples,
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "threshold": report.threshold,
        "coverage": report.coverage,
        "accuracy_on_accepted": report.accuracy_on_accepted,
        **_calibration_error(report.items),
    }


def _calibration_error(items: list[dict], bins: int = 10) -> dict:
    """Mean confidence against accuracy, and the expected calibration error (10 equal-width bins)."""
    confidence = np.array([item["confidence"] for item in items])
    correct = np.array([item["predicted"] == item["label"] for item in items])
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    error = sum(abs(confidence[which == b].mean() - correct[which == b].mean()) * (which == b).mean()
                for b in range(bins) if (which == b).any())
    return {"mean_confidence": round(float(confidence.mean()), 4), "expected_calibration_error": round(float(error), 4)}


def shipped(seeds: int = 1) -> dict:
    texts, labels = from_intents(load_intents(PROJECT_DIR / "intents"))
    report = cross_validate(texts, labels, folds=5)
    return {**_figures(report), **_other_seeds(texts, labels, seeds), "confusion_pairs": report.confusion_pairs[:6],
            "weakest": sorted(({"intent": s.intent, "f1": s.f1} for s in report.per_intent), key=lambda s: s["f1"])[:5]}


def shipped_held_out() -> dict:
    """Trained on the shipped intents, tested on messages written from the intents' descriptions alone.

    Each file was written without looking at the examples and is never trained on: it says how the
    shipped model does on new customers' wording, which cross-validation over our own examples
    cannot. Once a file's errors have led to new examples, it is no longer held out; the next
    file is written fresh (tests/bench/README.md says which is which).
    """
    intents = load_intents(PROJECT_DIR / "intents")
    model = IntentClassifier.train(intents)
    trained_on = {normalise(text) for text in from_intents(intents)[0]}
    results = {}
    for path in HELD_OUT:
        texts, labels = load_jsonl(path)
        report = held_out(model, texts, labels, method=f"trained on intents/, tested on {path.name}")
        results[path.name] = {
            **_figures(report), "also_in_training": [text for text in texts if normalise(text) in trained_on],
            "confusion_pairs": report.confusion_pairs[:6],
            "errors": [f"{item['label']} → {item['predicted']} ({item['confidence']}): {item['text']}"
                       for item in report.items if item["predicted"] != item["label"]],
        }
    return results


def persona_distinctness() -> dict:
    """Tell the four archetype personas apart from draft text alone, leaving one intent out at a time."""
    book = load_personas(PROJECT_DIR / "persona_styles")
    renderer = Renderer(book)
    intents = [i.intent for i in load_intents(PROJECT_DIR / "intents")] + [FALLBACK]
    personas = [name for name in book.names() if book[name].archetype in ARCHETYPES]
    rows = []  # (intent, persona, text without the sign-off)
    for persona in personas:
        sign_off = book[persona].sign_off
        for intent in intents:
            for variation in renderer.variations(persona, intent):
                for context in ({"customer_name": "", "message": ""}, {"customer_name": "王女士", "message": "", **ENTITY_SAMPLES}):
                    text = renderer.render(persona=persona, intent=intent, context=context, only=variation).text
                    rows.append((intent, persona, text.replace(sign_off, "").strip()))
    correct = total = 0
    for held in intents:
        train = [(t, p) for i, p, t in rows if i != held]
        test = [(t, p) for i, p, t in rows if i == held]
        model = IntentClassifier.fit([t for t, _ in train], [p for _, p in train], threshold=0.0)
        correct += sum(model.predict(t).best == p for t, p in test)
        total += len(test)
    return {"personas": personas, "drafts": len(rows), "leave_one_intent_out_accuracy": round(correct / total, 4)}


def speed() -> dict:
    if (skipped := missing("banking77")) is not None:
        return skipped
    texts, labels = load_jsonl(BENCH / "banking77" / "train.jsonl")
    started = time.process_time()
    model = IntentClassifier.fit(texts, labels)
    training = time.process_time() - started
    shipped_model = IntentClassifier.train(load_intents(PROJECT_DIR / "intents"))
    messages = [t for t, _ in zip(*from_intents(load_intents(PROJECT_DIR / "intents")))][:500] + texts[:500]
    latencies = []
    for text in messages:
        begin = time.perf_counter()
        (shipped_model if re.search(r"[\u4e00-\u9fff]", text) else model).predict(text)
        latencies.append((time.perf_counter() - begin) * 1000)
    latencies.sort()
    calibration = model.calibration
    return {
        "training_seconds_10k_one_core": round(training, 2),
        "calibration_10k": {
            "threshold": calibration.threshold, "temperature": calibration.temperature, "folds": calibration.folds,
            "out_of_fold_coverage": calibration.coverage, "out_of_fold_accuracy_on_accepted": calibration.accuracy_on_accepted,
            "precision_lower_bound": calibration.precision_lower_bound,
        },
        "training_examples": len(texts),
        "predict_median_ms": round(statistics.median(latencies), 3),
        "predict_p99_ms": round(latencies[int(len(latencies) * 0.99)], 3),
        "predict_calls": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1, help="repeat each 5-fold cross-validation with this many seeds (0, 1, ...)")
    parser.add_argument("--core", type=int, default=None, help="the CPU to pin to (default: the first one allowed)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0] if args.core is None else args.core})
    results = {
        "command": "python tests/bench/classifier_bench.py" + (f" --seeds {args.seeds}" if args.seeds > 1 else ""),
        "machine": {"cpus_used": 1, "python": platform.python_version(), "nproc": os.cpu_count(), "load_average_at_start": os.getloadavg()},
        "smp2017_5fold": public("smp2017", args.seeds),
        "banking77_5fold": public("banking77", args.seeds),
        "shipped_intents_5fold": shipped(args.seeds),
        "shipped_intents_held_out": shipped_held_out(),
        "persona_distinctness": persona_distinctness(),
        "speed": speed(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
