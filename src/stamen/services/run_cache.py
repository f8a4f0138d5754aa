"""An in-process cache of terminal runs. Terminal runs never change, so caching them is safe across
processes; it lets polls of finished runs skip the database."""

from __future__ import annotations

from collections import OrderedDict

from stamen.store.models import Run

TERMINAL = ("completed", "failed")


class TerminalRunCache:
    def __init__(self, capacity: int = 50_000):
        self.capacity = capacity
        self._runs: OrderedDict[str, Run] = OrderedDict()

    def get(self, run_id: str) -> Run | None:
        return self._runs.get(run_id)

    def remember(self, run: Run) -> None:
        """Keep `run` (a detached, fully loaded record) if it is terminal."""
        if run.status not in TERMINAL:
            return
        self._runs[run.id] = run
        if len(self._runs) > self.capacity:
            self._runs.popitem(last=False)
