"""Prometheus metrics, in one registry per app so tests and several apps in one process stay apart."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Callbacks by outcome, drafts by intent/persona/status, sends by result, pipeline latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.callbacks = Counter(
            "draftbot_callbacks", "WeCom callbacks by outcome", ["outcome"], registry=self.registry
        )
        self.drafts = Counter(
            "draftbot_drafts", "Drafts created, by intent, persona and status",
            ["intent", "persona", "status"], registry=self.registry,
        )
        self.decisions = Counter(
            "draftbot_decisions", "Human decisions on drafts", ["decision"], registry=self.registry
        )
        self.sends = Counter("draftbot_sends", "Replies sent, by result", ["result"], registry=self.registry)
        self.pipeline_seconds = Histogram(
            "draftbot_pipeline_seconds", "Time to draft one message",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        self.queue_depth = Gauge("draftbot_jobs_pending", "Jobs waiting or running", registry=self.registry)
