"""Wiring: build every concrete part of draftbot from Settings (used by the app and the CLI)."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from bot.config import Settings
from bot.services import configuration
from bot.services.configuration import ConfigFiles, ConfigWatcher
from bot.services.callbacks import CallbackStore
from bot.db.session import make_engine, make_sessions, upgrade
from bot.services.customers import CustomerDirectory
from bot.services.drafting import Drafting
from bot.services.retention import Retention
from bot.services.facts import FactSources
from bot.services.facts.orders import OrderFacts
from bot.errors import SettingsError
from bot.metrics import Metrics
from bot.nlu.answers import AnswerIndex
from bot.nlu.classifier import IntentClassifier
from bot.nlu.entities import Catalog
from bot.services.delivery import Outbox, Sender
from bot.policy.dont_disturb import Rules
from bot.policy.sensitive import SensitiveWords
from bot.persona.render import Renderer
from bot.drafts.lifecycle import ApprovedReply
from bot.drafts.pipeline import Pipeline
from bot.services.decisions import DraftDecisions
from bot.services.archive import ArchivePoller, ArchivePuller
from bot.services.archive_intake import ArchiveIntake
from bot.services.jobs.handlers import JobHandlers
from bot.staffchat import StaffChat
from bot.wecom.archive import ArchiveKeys, FinanceSdk
from bot.wecom.callback import CallbackCrypto
from bot.wecom.client import WeComClient
from bot.wecom.kf import KfSender
from bot.worker.thread import Worker
from bot.worker.process import WorkerProcess

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def load_pipeline(settings: Settings) -> Pipeline:
    """The pipeline of the intents and personas folders the settings name (seconds: it trains the classifier)."""
    return build_pipeline(ConfigFiles.from_directories(settings.intents_dir, settings.personas_dir), settings)


def build_pipeline(files: ConfigFiles, settings: Settings) -> Pipeline:
    """Parse a configuration's intents and personas (in memory) and train the classifier."""
    intents, book = configuration.load(files)
    if settings.default_persona not in book:
        raise SettingsError(
            f"DRAFTBOT_DEFAULT_PERSONA: no persona {settings.default_persona!r} in the configuration "
            f"(have: {', '.join(book.names())})"
        )
    classifier = IntentClassifier.train(
        intents, target_precision=settings.target_precision, threshold=settings.fallback_threshold
    )
    return Pipeline(
        classifier=classifier, intents=intents, book=book, renderer=Renderer(book),
        default_persona=settings.default_persona, catalog=Catalog.load(settings.catalog),
        answers=AnswerIndex.build(intents),
    )


def fact_sources(settings: Settings) -> FactSources:
    """The brand's systems drafts may ask (orders when DRAFTBOT_ORDERS_URL is set)."""
    providers = []
    if settings.orders_url:
        providers.append(OrderFacts(
            url=settings.orders_url, token=settings.orders_token, timeout=settings.orders_timeout_seconds,
            cache_seconds=settings.orders_cache_seconds, concurrency=settings.orders_concurrency,
            breaker_failures=settings.orders_breaker_failures, breaker_seconds=settings.orders_breaker_seconds,
        ))
    return FactSources(providers)


def archive_poller(settings: Settings, *, sessions: sessionmaker, clock: Clock, intake: ArchiveIntake,
                   lease_seconds: float, wake: Callable[[], None]) -> ArchivePoller:
    """The chat archive's puller, polling every DRAFTBOT_ARCHIVE_POLL_SECONDS (the SDK is loaded at the first pull)."""
    assert settings.archive_sdk is not None
    path = settings.archive_sdk

    def open_sdk() -> FinanceSdk:
        return FinanceSdk(path, corp_id=settings.wecom_corp_id, secret=settings.archive_secret,
                          timeout=settings.archive_timeout_seconds, proxy=settings.archive_proxy,
                          proxy_password=settings.archive_proxy_password)

    puller = ArchivePuller(open_source=open_sdk, keys=ArchiveKeys.load(settings.archive_private_key), intake=intake,
                           sessions=sessions, clock=clock, lease_seconds=max(lease_seconds, 2.0 * settings.archive_timeout_seconds),
                           on_stored=wake)
    return ArchivePoller(puller, poll_seconds=settings.archive_poll_seconds)


def open_database(settings: Settings) -> tuple[Engine, sessionmaker]:
    """Connect and migrate to the newest schema."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine, make_sessions(engine)


def freeze_heap() -> None:
    """Put every object alive now out of the garbage collector's reach (gc.freeze), once a process has started.

    A draftbot process holds a large heap that lives as long as it does (classifier, templates,
    SQLAlchemy metadata). Without this, every full collection walks all of it: about 5% of the CPU
    spent acknowledging a callback. Only long-running processes call it (`draftbot serve`, `draftbot worker`).
    """
    gc.collect()
    gc.freeze()


@dataclass
class Runtime:
    """Every concrete part of a running draftbot."""

    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker
    pipeline: Pipeline
    metrics: Metrics
    outbox: Outbox
    decisions: DraftDecisions
    drafting: Drafting
    worker: Worker | WorkerProcess  # a thread of this process, or (`draftbot serve`) a child process
    crypto: CallbackCrypto | None
    kf_client: WeComClient | None
    app_client: WeComClient | None
    callbacks: CallbackStore | None = None  # durable storage of accepted callbacks (group commit); None in `draftbot worker`
    staffchat: StaffChat | None = None  # the staff app chat: needs the app's secret and agent id
    config: ConfigWatcher | None = None  # follows the active configuration version in the database
    archive: ArchivePoller | None = None  # pulls the chat archive (DRAFTBOT_ARCHIVE_SDK) where the jobs run

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock = system_clock, serving: bool = True) -> "Runtime":
        """Every part, for a process that serves HTTP (`serving`) or for `draftbot worker`, which only runs jobs.

        A serving runtime stores callbacks and runs the jobs in a worker thread, or with
        DRAFTBOT_WORKER=process in a child process it starts (`draftbot serve`). The child is spawned
        first, so it loads while this process trains; it touches the database only after `worker.start()`.
        """
        spawned = WorkerProcess() if serving and settings.worker == "process" else None
        if spawned is not None:
            spawned.spawn()
        try:
            return cls._build(settings, clock=clock, serving=serving, spawned=spawned)
        except BaseException:
            if spawned is not None:
                spawned.stop()
            raise

    @classmethod
    def _build(cls, settings: Settings, *, clock: Clock, serving: bool, spawned: WorkerProcess | None) -> "Runtime":
        engine, sessions = open_database(settings)
        config = ConfigWatcher(
            sessions=sessions, settings=settings, clock=clock, poll_seconds=settings.config_poll_seconds,
            build=lambda files: build_pipeline(files, settings),
        )
        try:
            pipeline = config.load()  # the active version; version 1 from the shipped folders on a fresh database
        except BaseException:
            engine.dispose()
            raise
        metrics = Metrics()
        crypto = None
        if settings.callback_configured:
            crypto = CallbackCrypto(
                token=settings.wecom_token, aes_key=settings.wecom_aes_key,
                corp_id=settings.wecom_corp_id, replay_window=settings.replay_window_seconds,
            )
        kf_client = app_client = None
        if settings.api_configured:
            app_client = WeComClient(
                corp_id=settings.wecom_corp_id, secret=settings.wecom_secret,
                api_base=settings.wecom_api_base, timeout=settings.wecom_timeout_seconds,
            )
        senders: dict[str, Sender] = {"demo": _ConversationOnly()}
        if settings.wecom_corp_id and settings.kf_secret:
            kf_client = WeComClient(
                corp_id=settings.wecom_corp_id, secret=settings.kf_secret,
                api_base=settings.wecom_api_base, timeout=settings.wecom_timeout_seconds,
            )
            senders["kf"] = KfSender(kf_client)
        sensitive = SensitiveWords.load(settings.sensitive_words_file)
        rules = Rules.parse(
            daily_cap=settings.promo_daily_cap, weekly_cap=settings.promo_weekly_cap,
            quiet_hours=settings.quiet_hours, timezone=settings.timezone,
        )
        outbox = Outbox(
            senders=senders, max_attempts=settings.send_max_attempts,
            backoff=settings.send_backoff_seconds, metrics=metrics, rules=rules, sensitive=sensitive,
        )
        decisions = DraftDecisions(sensitive=sensitive, approvers=settings.approvers, metrics=metrics)
        drafting = Drafting(pipeline=pipeline, metrics=metrics, kf_staff=settings.kf_staff, sensitive=sensitive,
                            facts=fact_sources(settings), context_minutes=settings.context_minutes,
                            customers=CustomerDirectory(kf_client=kf_client, contacts_client=app_client))
        staffchat = None
        if app_client is not None and settings.wecom_agent_id:
            staffchat = StaffChat(settings=settings, client=app_client, outbox=outbox, decisions=decisions,
                                  intent_names=lambda intent: drafting.pipeline.intent_name(intent))
        worker: Worker | WorkerProcess  # the wake-ups below read it when they are called, once it is built
        callbacks = None
        if serving:
            on_stored = spawned.callbacks_stored if spawned is not None else lambda: worker.wake()
            callbacks = CallbackStore(engine, clock, on_stored=on_stored)
            callbacks.start()
        archive = None
        archive_intake = ArchiveIntake(pipeline=lambda: drafting.pipeline, contacts_client=app_client)
        if spawned is not None:
            worker = spawned
        else:
            if settings.archive_configured:  # pulled where jobs run: the SDK is native code, kept out of the serving process
                archive = archive_poller(settings, sessions=sessions, clock=clock, intake=archive_intake,
                                         lease_seconds=settings.worker_lease_seconds, wake=lambda: worker.wake())
            jobs = JobHandlers(settings=settings, drafting=drafting, outbox=outbox, wake=lambda: worker.wake(),
                               kf_client=kf_client, staffchat=staffchat, archive_intake=archive_intake,
                               wake_archive=archive.wake if archive is not None else None)
            worker = Worker(
                sessions=sessions,
                handlers=jobs.table(),
                clock=clock,
                poll_seconds=settings.worker_poll_seconds,
                lease_seconds=settings.worker_lease_seconds,
                # a worker thread next to the callback path lets acknowledgements go first
                busy=callbacks.busy if callbacks is not None else lambda: False,
                beside=[*([archive] if archive is not None else []),  # the chat archive's poller, retention
                        Retention(sessions=sessions, days=settings.retention_days, clock=clock)],
            )
        runtime = cls(
            settings=settings, clock=clock, engine=engine, sessions=sessions, pipeline=pipeline,
            metrics=metrics, outbox=outbox, decisions=decisions, drafting=drafting, worker=worker, callbacks=callbacks,
            crypto=crypto, kf_client=kf_client, app_client=app_client, staffchat=staffchat, config=config,
            archive=archive,
        )
        config.on_change = runtime.use_pipeline
        config.start()
        return runtime

    def use_pipeline(self, pipeline: Pipeline) -> None:
        """Swap in a fully built pipeline (a new configuration version) for the next drafts."""
        self.pipeline = pipeline
        self.drafting.pipeline = pipeline
        if gc.get_freeze_count():  # a frozen heap (see freeze_heap): let the old pipeline go, keep the new one out of reach
            gc.unfreeze()
            freeze_heap()

    def close(self) -> None:
        if self.config is not None:
            self.config.stop()
        if self.callbacks is not None:
            self.callbacks.stop()
        self.worker.stop()
        for client in (self.kf_client, self.app_client):
            if client is not None:
                client.close()
        self.engine.dispose()


class _ConversationOnly:
    """The demo channel's sender: the conversation lives in draftbot, so recording the reply is delivery."""

    def send(self, reply: ApprovedReply) -> None:
        return None
