"""The web pages' templates (web/templates/) and static files (web/static/): one Jinja2 environment for every page."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

WEB = Path(__file__).resolve().parent
STATIC = WEB / "static"
templates = Jinja2Templates(directory=str(WEB / "templates"))  # autoescapes every template
