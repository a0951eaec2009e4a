"""What the browser tests share: Debian's Chromium under Playwright, and a watch for page problems.

Needs Debian's Chromium at /usr/bin/chromium (`apt-get install chromium`); Playwright's own browser
download is not used. Screenshots go to tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def bad_console(msg) -> bool:
    """Console errors are problems; failed requests are checked by the response watch, which knows the URL."""
    return msg.type == "error" and not msg.text.startswith("Failed to load resource")


def watch(page, base_url: str, problems: list[str], bad_response: Callable[[object], bool]) -> None:
    """Record script errors, console errors, failed responses and any request that leaves our own server."""
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if bad_console(msg) else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if bad_response(r) else None)
    page.on("request", lambda req: None if req.url.startswith(base_url) else problems.append(f"external request {req.url}"))


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
