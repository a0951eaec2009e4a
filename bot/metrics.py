"""Prometheus metrics, in one registry per app so tests and several apps in one process stay apart.

`draftbot serve` runs the worker in a child process. Both processes then count in the folder named by
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, which `serve` sets before anything
imports prometheus_client), and /metrics adds up what every process counted.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.multiprocess import MultiProcessCollector


class Metrics:
    """Callbacks by outcome, drafts by intent/persona/status, sends by result, pipeline latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry: CollectorRegistry | None = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            if not values.ValueClass._multiprocess:
                raise RuntimeError("PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported")
            MultiProcessCollector(self.registry)  # reads what every process wrote to the folder
            registry = None  # registering the metrics as well would count this process twice
        self.callbacks = Counter(
            "draftbot_callbacks", "WeCom callbacks by outcome", ["outcome"], registry=registry
        )
        self.drafts = Counter(
            "draftbot_drafts", "Drafts created, by intent, persona and status",
            ["intent", "persona", "status"], registry=registry,
        )
        self.decisions = Counter(
            "draftbot_decisions", "Human decisions on drafts", ["decision"], registry=registry
        )
        self.sends = Counter("draftbot_sends", "Replies sent, by result", ["result"], registry=registry)
        self.pipeline_seconds = Histogram(
            "draftbot_pipeline_seconds", "Time to draft one message",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=registry,
        )
        self.queue_depth = Gauge(
            "draftbot_jobs_pending", "Jobs waiting or running", registry=registry, multiprocess_mode="mostrecent"
        )
