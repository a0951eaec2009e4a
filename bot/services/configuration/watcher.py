"""Each running instance follows the active configuration version: build its pipeline, swap it in."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.db.models import ConfigState, ConfigVersion
from bot.drafts.pipeline import Pipeline
from bot.services.configuration.files import ConfigFiles
from bot.services.configuration.store import STATE_ID, ensure_initial, files_of

log = logging.getLogger(__name__)

Builder = Callable[[ConfigFiles], Pipeline]  # a configuration -> its pipeline


class ConfigWatcher:
    """Builds the pipeline of the active version and, in a daemon thread, follows changes to it.

    `poll()` reads config_state; when the active version changed it builds the new pipeline fully
    and only then hands it to `on_change`. A failed build keeps the old pipeline and logs an error.
    """

    def __init__(self, *, sessions: sessionmaker[Session], settings: Settings, build: Builder, clock: Callable[[], datetime],
                 poll_seconds: float, on_change: Callable[[Pipeline], None] | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.build = build
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.on_change = on_change
        self.version_id: int | None = None
        self.number: int | None = None
        self._seen: tuple[object, ...] | None = None  # (active_version_id, changed_at) last read
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> Pipeline:
        """Ensure a version exists (version 1 from the shipped folders) and build its pipeline."""
        with self.sessions() as session:
            version = ensure_initial(session, self.settings, self.clock())
            state = session.get(ConfigState, STATE_ID)
            pipeline = self._build(version)
            self._seen = (state.active_version_id, state.changed_at) if state else None
            self.version_id, self.number = version.id, version.number
        return pipeline

    def _build(self, version: ConfigVersion) -> Pipeline:
        return self.build(files_of(version))

    def poll(self) -> bool:
        """Switch to the active version if it changed; True when a new pipeline was installed."""
        with self._lock:
            with self.sessions() as session:
                row = session.execute(select(ConfigState.active_version_id, ConfigState.changed_at).where(ConfigState.id == STATE_ID)).first()
                if row is None or tuple(row) == self._seen:
                    return False
                if row[0] == self.version_id:
                    self._seen = tuple(row)
                    return False
                version = session.get(ConfigVersion, row[0])
                if version is None:  # the state names a version that is not there
                    self._seen = tuple(row)
                    log.error("active configuration version id %s does not exist; keeping version %s", row[0], self.number)
                    return False
                try:
                    pipeline = self._build(version)
                except Exception as exc:
                    self._seen = tuple(row)  # do not rebuild a broken version every poll
                    log.error("configuration version %s could not be loaded; keeping version %s: %s",
                              version.number, self.number, exc)
                    return False
                previous = self.number
                if self.on_change is not None:
                    self.on_change(pipeline)
                self._seen = tuple(row)
                self.version_id, self.number = version.id, version.number
                log.info("configuration switched from version %s to %s", previous, version.number)
                return True

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="draftbot-config", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:
                log.exception("configuration poll failed")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None
