"""draftbot serve and draftbot worker: the HTTP service and its job runner."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import _configure_logging, _fail, _settings, app, out
from bot.errors import DraftbotError

if TYPE_CHECKING:
    pass


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
    from bot.app import (
        create_app,  # after _share_metrics_with_worker: it must precede importing prometheus_client
    )
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
    from bot.wiring import (  # loaded before waiting: `serve` starts its worker early for this
        Runtime,
        freeze_heap,
    )
    from bot.worker.process import run_until_stopped, wait_for_go
    from bot.worker.thread import Worker

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
        worker = runtime.worker
        assert isinstance(worker, Worker), "a runtime that does not serve runs its jobs in a thread"
        run_until_stopped(worker, supervised=supervised, sole_instance=sole_instance)
    finally:
        runtime.close()
