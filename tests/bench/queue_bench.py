"""Job queue drain rate: how fast one worker runs jobs that do nothing, with a backlog waiting.

    python tests/bench/queue_bench.py [--jobs 6000] [--database-url postgresql+psycopg://…]

Enqueues the jobs, then times `Worker.run_until_idle` with a no-op handler, so the figure is the
queue's own cost per job (claiming, loading, finishing, committing). Default: a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime

from bot.db import queue
from bot.db.session import make_engine, make_sessions, upgrade
from bot.worker.thread import Worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=6000)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a temporary SQLite file)")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='draftbot-queue-')}/queue.db"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessions(engine)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with sessions() as session:
        for n in range(args.jobs):
            queue.enqueue(session, kind="noop", key=f"noop:{n}", payload={"n": n}, now=now)
        session.commit()
    worker = Worker(sessions=sessions, handlers={"noop": lambda session, payload, now: None}, clock=lambda: now,
                    poll_seconds=1.0, lease_seconds=60.0)
    started = time.perf_counter()
    ran = worker.run_until_idle(limit=args.jobs + 1)
    seconds = time.perf_counter() - started
    print(f"{engine.dialect.name}: {ran} jobs in {seconds:.2f} s: {ran / seconds:,.0f} jobs/s, {seconds / ran * 1e6:,.0f} µs per job")
    engine.dispose()


if __name__ == "__main__":
    main()
