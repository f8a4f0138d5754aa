"""The runtime: one object holding what a process needs (settings, store, blobs, models, executor)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stamen.blobs.local import LocalBlobStore
from stamen.config import Settings
from stamen.execution.executor import Executor
from stamen.models.registry import ModelRegistry, build_registry
from stamen.services.keys import KeyAuthenticator
from stamen.services.run_cache import TerminalRunCache
from stamen.services.webhooks import WebhookDispatcher
from stamen.services.workspaces import Bootstrap, ensure_bootstrap
from stamen.store.db import Database, migrate

log = logging.getLogger(__name__)


def load_secret(path: Path) -> bytes:
    """The server's URL-signing secret, created once and kept in the data dir."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


class Runtime:
    def __init__(self, settings: Settings, *, models: ModelRegistry | None = None):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(settings.resolved_database_url)
        self.db = Database(settings.resolved_database_url)
        self.blobs = LocalBlobStore(
            settings.data_dir / "blobs",
            base_url=settings.base_url,
            secret=load_secret(settings.data_dir / "signing.key"),
            ttl_seconds=settings.url_ttl_seconds,
        )
        self.models = models or build_registry()
        self.keys = KeyAuthenticator(self.db)
        self.terminal_runs = TerminalRunCache()
        self.cpu_pool = ThreadPoolExecutor(max_workers=settings.cpu_workers, thread_name_prefix="stamen-cpu")
        self.webhooks = WebhookDispatcher(self.db)
        self.executor: Executor = self._make_executor()
        self._background: list[asyncio.Task] = []

    def _make_executor(self) -> Executor:
        if self.settings.executor == "celery":
            from stamen.execution.celery import CeleryExecutor

            return CeleryExecutor(
                self.settings,
                self.db,
                max_attempts=self.settings.max_attempts,
                sweep_seconds=self.settings.sweep_interval_seconds,
            )
        from stamen.execution.local import LocalExecutor
        from stamen.execution.worker import Worker

        return LocalExecutor(
            Worker(self),
            self.db,
            concurrency=self.settings.worker_concurrency,
            max_attempts=self.settings.max_attempts,
            sweep_seconds=self.settings.sweep_interval_seconds,
        )

    def bootstrap(self) -> Bootstrap:
        with self.db.session() as session:
            return ensure_bootstrap(session, api_key=self.settings.api_key, credits=self.settings.default_credits)

    def on_run_terminal(self, run_id: str) -> None:
        self.webhooks.nudge()

    async def start(self) -> None:
        from stamen.techniques.catalog import file_catalog

        file_catalog(self.settings, self.models)  # load technique files now, so file errors show at start
        await self.executor.start()
        self._background.append(asyncio.create_task(self.webhooks.run_forever(), name="stamen-webhooks"))

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.executor.stop()
        await self.webhooks.aclose()
        self.cpu_pool.shutdown(wait=False, cancel_futures=True)
        self.db.engine.dispose()
