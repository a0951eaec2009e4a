"""Classifier benchmark: public data, shipped intents, persona distinctness, latency and training time.

    python tests/bench/classifier_bench.py            # prints a table, writes tests/bench/results/classifier.json

Runs on one core (the process pins itself with os.sched_setaffinity) so the figures match the
"10,000 examples in under 10 s on one core" target.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.config import PROJECT_DIR  # noqa: E402
from bot.nlu.classifier import IntentClassifier  # noqa: E402
from bot.nlu.datasets import from_intents, load_jsonl  # noqa: E402
from bot.nlu.entities import ENTITY_SAMPLES  # noqa: E402
from bot.nlu.evaluation import cross_validate  # noqa: E402
from bot.nlu.intents import FALLBACK, load_intents  # noqa: E402
from bot.persona.render import Renderer  # noqa: E402
from bot.persona.styles import ARCHETYPES, load_personas  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
RESULTS = ROOT / "tests" / "bench" / "results" / "classifier.json"


def public(name: str) -> dict:
    texts, labels = load_jsonl(BENCH / name / "train.jsonl")
    report = cross_validate(texts, labels, folds=5)
    return _figures(report)


def _figures(report) -> dict:  # noqa: ANN001
    return {
        "examples": report.examples,
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "threshold": report.threshold,
        "coverage": report.coverage,
        "accuracy_on_accepted": report.accuracy_on_accepted,
    }


def shipped() -> dict:
    texts, labels = from_intents(load_intents(PROJECT_DIR / "intents"))
    report = cross_validate(texts, labels, folds=5)
    return {**_figures(report), "confusion_pairs": report.confusion_pairs[:6],
            "weakest": sorted(({"intent": s.intent, "f1": s.f1} for s in report.per_intent), key=lambda s: s["f1"])[:5]}


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
    return {
        "training_seconds_10k_one_core": round(training, 2),
        "training_examples": len(texts),
        "predict_median_ms": round(statistics.median(latencies), 3),
        "predict_p99_ms": round(latencies[int(len(latencies) * 0.99)], 3),
        "predict_calls": len(latencies),
    }


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    results = {
        "command": "python tests/bench/classifier_bench.py",
        "machine": {"cpus_used": 1, "python": platform.python_version(), "nproc": os.cpu_count()},
        "smp2017_5fold": public("smp2017"),
        "banking77_5fold": public("banking77"),
        "shipped_intents_5fold": shipped(),
        "persona_distinctness": persona_distinctness(),
        "speed": speed(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
