"""`Worker.execute(run_id)`: claim with a lease, run the handler, record the outcome. Same code for the
local executor and Celery; a crash mid-run leaves a lease that expires and the run is retried."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from stamen.errors import RunFailure, StamenError
from stamen.execution.context import OUTPUT_TYPE_BY_MEDIA, RunContext, SavedOutput
from stamen.execution.handlers import handler_for
from stamen.services import runs
from stamen.store.models import Run

if TYPE_CHECKING:
    from stamen.runtime import Runtime

log = logging.getLogger(__name__)

PROGRESS_FLUSH_SECONDS = 0.5


class LeaseLost(Exception):
    pass


class Worker:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def execute(self, run_id: str) -> None:
        settings = self.runtime.settings
        run = await asyncio.to_thread(self._claim, run_id)
        if run is None:
            return
        workdir = settings.data_dir / "work" / run_id
        progress = _ProgressBox()
        ctx = RunContext(
            run_id=run_id,
            workdir=workdir,
            on_progress=progress.set,
            state=dict(run.state or {}),
            on_checkpoint=lambda state: self._checkpoint(run_id, state),
        )
        heartbeat = asyncio.create_task(self._heartbeat(run_id, progress))
        try:
            await handler_for(run.kind)(self.runtime, run, ctx)
            outputs = await asyncio.to_thread(self._store_outputs, run_id, ctx.outputs)
            if not outputs:
                raise RunFailure("internal_error", "the handler finished without producing an output")
            await asyncio.to_thread(self._finish, run_id, outputs)
        except LeaseLost:
            log.warning("lost the lease on %s; another worker owns it now", run_id)
        except asyncio.CancelledError:
            raise  # shutting down: the lease expires and the run is retried
        except RunFailure as failure:
            await asyncio.to_thread(self._fail, run_id, failure.code, failure.message)
        except StamenError as error:
            await asyncio.to_thread(self._fail, run_id, "input_invalid", error.message)
        except Exception as error:  # a bug in a handler must fail the run, never the worker
            log.exception("run %s crashed", run_id)
            await asyncio.to_thread(self._fail, run_id, "internal_error", f"{type(error).__name__}: {error}")
        finally:
            heartbeat.cancel()
            shutil.rmtree(workdir, ignore_errors=True)
        self.runtime.on_run_terminal(run_id)

    def _claim(self, run_id: str) -> Run | None:
        with self.runtime.db.session() as session:
            return runs.claim(session, run_id, owner=self.owner, lease_seconds=self.runtime.settings.lease_seconds)

    async def _heartbeat(self, run_id: str, progress: _ProgressBox) -> None:
        lease = self.runtime.settings.lease_seconds
        renew_every = max(0.2, lease / 3)
        since_renew = 0.0
        while True:
            await asyncio.sleep(PROGRESS_FLUSH_SECONDS)
            since_renew += PROGRESS_FLUSH_SECONDS
            pct = progress.take()
            if pct is None and since_renew < renew_every:
                continue
            since_renew = 0.0

            def beat(pct: float | None = pct) -> bool:
                with self.runtime.db.session() as session:
                    return runs.heartbeat(session, run_id, owner=self.owner, lease_seconds=lease, progress=pct)

            if not await asyncio.to_thread(beat):
                return

    def _store_outputs(self, run_id: str, saved: list[SavedOutput]) -> list[dict]:
        outputs = []
        for index, output in enumerate(saved, start=1):
            output_id = f"output_{index}"
            record = {"output_id": output_id, "type": OUTPUT_TYPE_BY_MEDIA[output.media_type]}
            if output.media_type == "text":
                record["text"] = output.text or ""
            else:
                assert output.path is not None
                path = Path(output.path)
                content_type = output.content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                suffix = path.suffix or mimetypes.guess_extension(content_type) or ""
                key = f"runs/{run_id}/{output_id}{suffix}"
                record["size_bytes"] = self.runtime.blobs.put_file(key, path, move=True)
                record["key"] = key
                record["content_type"] = content_type
            outputs.append(record)
        return outputs

    def _checkpoint(self, run_id: str, state: dict) -> None:
        with self.runtime.db.session() as session:
            runs.save_state(session, run_id, owner=self.owner, state=state)

    def _finish(self, run_id: str, outputs: list[dict]) -> None:
        with self.runtime.db.session() as session:
            if not runs.complete(session, run_id, owner=self.owner, outputs=outputs):
                raise LeaseLost(run_id)

    def _fail(self, run_id: str, code: str, message: str) -> None:
        with self.runtime.db.session() as session:
            runs.fail(session, run_id, code=code, message=message, owner=self.owner)


class _ProgressBox:
    """Latest progress from the handler (any thread), kept non-decreasing; flushed by the heartbeat."""

    def __init__(self) -> None:
        self._value = 0.0
        self._dirty = False

    def set(self, pct: float) -> None:
        if pct > self._value:
            self._value = min(pct, 99.0)
            self._dirty = True

    def take(self) -> float | None:
        if not self._dirty:
            return None
        self._dirty = False
        return self._value
