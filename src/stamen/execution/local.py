"""In-process executor: a bounded set of asyncio workers draining a queue, plus a sweeper that
rebuilds the queue from the store (pending runs, expired leases) so nothing is lost across restarts."""

from __future__ import annotations

import asyncio
import logging
import socket

from stamen.execution.worker import Worker
from stamen.services import runs
from stamen.store.db import Database

log = logging.getLogger(__name__)


class LocalExecutor:
    def __init__(self, worker: Worker, db: Database, *, concurrency: int, max_attempts: int, sweep_seconds: float):
        self.worker = worker
        self.db = db
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.sweep_seconds = sweep_seconds
        self._queue: asyncio.Queue[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._known: set[str] = set()  # queued or executing here
        self._tasks: list[asyncio.Task] = []

    def submit(self, run_id: str) -> None:
        if self._loop is None or self._queue is None:
            return  # not started: the sweeper picks it up from the store
        self._loop.call_soon_threadsafe(self._enqueue, run_id)

    def _enqueue(self, run_id: str) -> None:
        if run_id not in self._known:
            self._known.add(run_id)
            self._queue.put_nowait(run_id)  # type: ignore[union-attr]

    async def start(self) -> None:
        def release_dead() -> None:
            with self.db.session() as session:
                runs.expire_leases_of_dead_processes(session, socket.gethostname())

        await asyncio.to_thread(release_dead)
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._drain(), name=f"stamen-worker-{i}") for i in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._sweep_forever(), name="stamen-sweeper"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _drain(self) -> None:
        assert self._queue is not None
        while True:
            run_id = await self._queue.get()
            try:
                await self.worker.execute(run_id)
            except Exception:
                log.exception("executing %s failed outside the handler", run_id)
            finally:
                self._known.discard(run_id)

    async def sweep(self) -> None:
        """Expired leases back to pending (or failed), then enqueue every pending run not queued here."""

        def scan() -> list[str]:
            with self.db.session() as session:
                runs.recover_expired_leases(session, max_attempts=self.max_attempts)
            with self.db.session(write=False) as session:
                return runs.pending_run_ids(session, exclude=set(self._known))

        for run_id in await asyncio.to_thread(scan):
            self._enqueue(run_id)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(self.sweep_seconds)
