"""Scale-out execution: runs go to Celery workers (`stamen worker`) over a broker such as Redis.

The API process only submits run ids; `worker.execute(run_id)` runs in the Celery worker processes,
exactly as it does in the local executor. The store stays the source of truth: a sweeper in the API
process recovers expired leases and re-submits runs the broker lost.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache

from celery import Celery

from stamen.config import Settings, get_settings
from stamen.services import runs
from stamen.store.db import Database

log = logging.getLogger(__name__)

TASK_NAME = "stamen.execute_run"


def make_celery(settings: Settings) -> Celery:
    app = Celery("stamen", broker=settings.celery_broker_url)
    app.conf.update(
        task_acks_late=True,  # a worker that dies mid-run leaves the message for another
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
    )
    if settings.celery_broker_url.startswith("filesystem://"):
        folder = str(settings.data_dir.resolve() / "broker")
        app.conf.broker_transport_options = {
            "data_folder_in": folder,
            "data_folder_out": folder,
            "control_folder": f"{folder}/control",
        }
        (settings.data_dir / "broker").mkdir(parents=True, exist_ok=True)
    app.task(name=TASK_NAME, ignore_result=True)(execute_run)
    return app


@cache
def _worker_state():
    """One runtime and event loop per worker process, created on its first task."""
    from stamen.execution.worker import Worker
    from stamen.runtime import Runtime

    runtime = Runtime(get_settings())
    return Worker(runtime), asyncio.new_event_loop()


def execute_run(run_id: str) -> None:
    worker, loop = _worker_state()
    loop.run_until_complete(worker.execute(run_id))


class CeleryExecutor:
    def __init__(self, settings: Settings, db: Database, *, max_attempts: int, sweep_seconds: float):
        self.app = make_celery(settings)
        self.resubmit_after_seconds = settings.celery_resubmit_after_seconds
        self.db = db
        self.max_attempts = max_attempts
        self.sweep_seconds = sweep_seconds
        self._task: asyncio.Task | None = None

    def submit(self, run_id: str) -> None:
        try:
            self.app.send_task(TASK_NAME, args=[run_id])
        except Exception:  # the run is committed: the sweeper submits it again later
            log.exception("could not submit %s to the broker", run_id)

    async def sweep(self) -> None:
        def scan() -> list[str]:
            with self.db.session() as session:
                retried = runs.recover_expired_leases(session, max_attempts=self.max_attempts)
            with self.db.session(write=False) as session:
                stale = runs.pending_run_ids(session, older_than_seconds=self.resubmit_after_seconds)
            return list(dict.fromkeys([*retried, *stale]))

        for run_id in await asyncio.to_thread(scan):
            await asyncio.to_thread(self.submit, run_id)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(self.sweep_seconds)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._sweep_forever(), name="stamen-celery-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
