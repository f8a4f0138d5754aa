"""The executor protocol: hand a committed run id to something that will call `worker.execute`."""

from __future__ import annotations

from typing import Protocol


class Executor(Protocol):
    def submit(self, run_id: str) -> None:
        """Schedule a committed run. Thread-safe; must not block. Losing a submit is tolerated:
        the sweeper re-enqueues pending runs from the store."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
