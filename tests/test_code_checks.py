"""The code checks CI runs besides the tests: mypy's configuration, doctests, and no markers for linters nobody runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRICT = ("bot.nlu.*", "bot.persona.*", "bot.drafts.*", "bot.policy.*", "bot.services.*")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_mypy_is_strict_for_the_domain_and_the_services() -> None:
    mypy = _pyproject()["tool"]["mypy"]
    strict = [o for o in mypy["overrides"] if o.get("disallow_untyped_defs")]
    assert len(strict) == 1 and set(strict[0]["module"]) == set(STRICT)
    assert all(strict[0].get(flag) for flag in ("disallow_any_generics", "disallow_untyped_calls", "warn_return_any"))
    assert "ignore-without-code" in mypy["enable_error_code"] and mypy["warn_unused_ignores"]
    untyped = [o for o in mypy["overrides"] if o.get("ignore_missing_imports")]
    assert all(not m.startswith("bot") for o in untyped for m in o["module"])  # only libraries without types


def test_ci_runs_mypy_before_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r'step "Types"\nmypy bot\n', script)
    assert script.index("mypy bot") < script.index("python3 -m pytest")


def test_pytest_runs_the_doctests_of_bot() -> None:
    options = _pyproject()["tool"]["pytest"]["ini_options"]
    assert "bot" in options["testpaths"] and "--doctest-modules" in options["addopts"]


def test_no_noqa_markers_for_linters_that_do_not_run() -> None:
    marked = [f"{path.relative_to(ROOT)}:{number}"
              for folder in ("bot", "tests") for path in sorted((ROOT / folder).rglob("*.py"))
              for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
              if re.search(r"#\s*noqa\b", line)]
    assert marked == []
