"""Cost of one draft render with the bounds on (bot.persona.sandbox) against Jinja's plain sandbox.

    python tests/bench/render_bench.py [--personas persona_styles] [--rounds 21]

Renders every variation of every shipped template for every persona with the linter's two sample
contexts, `--rounds` times (alternating), in the bounded `Renderer` and in the same `Renderer` built on Jinja's
plain `SandboxedEnvironment` (what rendered drafts before the bounds). Prints microseconds per
render (median of the rounds) for both and the difference.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from jinja2 import ChoiceLoader, DictLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from bot.persona.lint import SAMPLE_CONTEXTS
from bot.persona.render import Renderer
from bot.persona.styles import load_personas

ROOT = Path(__file__).resolve().parents[2]


class PlainRenderer(Renderer):
    """The renderer on Jinja's plain sandbox, without the bounds: the baseline."""

    def _environment(self, name: str) -> SandboxedEnvironment:  # type: ignore[override]
        loaders = [DictLoader(dict(p.templates)) for p in self.book.chain(name)]
        return SandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
                                    keep_trailing_newline=False, auto_reload=False)


def cases(renderer: Renderer) -> list[tuple[str, str, str, dict]]:
    """Every (persona, intent, variation, context) the shipped templates render."""
    found = []
    for persona in renderer.book.names():
        for template in sorted(renderer.book[persona].templates):
            intent = template.removesuffix(".j2")
            if intent == "base":
                continue
            for variation in renderer.variations(persona, intent):
                found.extend((persona, intent, variation, context) for context in SAMPLE_CONTEXTS)
    return found


def one_round(renderer: Renderer, work: list[tuple[str, str, str, dict]]) -> float:
    """Microseconds per render over one pass of the work."""
    started = time.perf_counter()
    for persona, intent, variation, context in work:
        renderer.render(persona=persona, intent=intent, context=context, only=variation)
    return (time.perf_counter() - started) / len(work) * 1e6


def time_renders(renderers: list[Renderer], work: list[tuple[str, str, str, dict]], rounds: int) -> list[float]:
    """Median over rounds of microseconds per render, for each renderer (rounds alternate between them)."""
    for renderer in renderers:
        one_round(renderer, work)  # compile and warm up
    timings: list[list[float]] = [[] for _ in renderers]
    for _ in range(rounds):
        for renderer, times in zip(renderers, timings, strict=True):
            times.append(one_round(renderer, work))
    return [statistics.median(times) for times in timings]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=Path, default=ROOT / "persona_styles")
    parser.add_argument("--rounds", type=int, default=21)
    options = parser.parse_args()
    book = load_personas(options.personas)
    bounded, plain = Renderer(book), PlainRenderer(book)
    work = cases(bounded)
    bounded_us, plain_us = time_renders([bounded, plain], work, options.rounds)
    print(f"{len(work)} renders per round ({len(book.names())} personas, every variation, {len(SAMPLE_CONTEXTS)} contexts), "
          f"median of {options.rounds} rounds")
    print(f"bounded sandbox: {bounded_us:7.1f} µs per render")
    print(f"plain sandbox:   {plain_us:7.1f} µs per render")
    print(f"cost of bounds:  {bounded_us - plain_us:+7.1f} µs per render ({bounded_us / plain_us:.2f}x)")


if __name__ == "__main__":
    main()
