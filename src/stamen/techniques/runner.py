"""Execute a technique run: a DAG of model and action nodes under one run id.

Ready nodes run concurrently (asyncio; CPU work in `runtime.cpu_pool`). Each finished node's outputs go
to the BlobStore under `runs/<run_id>/nodes/<node>/…` and are recorded with `ctx.checkpoint`, so a retried
run (after a crash) skips every completed node, and a failure names the node that failed.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from stamen.actions import ACTIONS
from stamen.actions import validate_params as validate_action_params
from stamen.errors import RunFailure, StamenError
from stamen.execution.context import InputValue, RunContext
from stamen.models.base import GenerationRequest
from stamen.services.inputs import inline_model_references, resolve_one
from stamen.store.models import Run, Workspace
from stamen.techniques.spec import NodeSpec, Source, TechniqueSpec
from stamen.techniques.validation import dependencies, execution_order, needed_nodes, node_ports

if TYPE_CHECKING:
    from stamen.runtime import Runtime

log = logging.getLogger(__name__)

Item = dict[str, Any]  # {"type": media, "key": blob key} or {"type": "text", "text": ...}


def now() -> float:
    """Wall-clock milliseconds with sub-millisecond precision, for per-node timings in the state."""
    return round(time.time() * 1000, 3)


class NodeFailed(Exception):
    def __init__(self, node_id: str, node: NodeSpec, error: BaseException):
        if isinstance(error, RunFailure):
            code, message = error.code, error.message
        elif isinstance(error, StamenError):
            code, message = "input_invalid", error.message
        else:
            code, message = "internal_error", f"{type(error).__name__}: {error}"
        super().__init__(message)
        self.failure = RunFailure(code, f"node {node_id!r} ({node.describe()}) failed: {message}")


class TechniqueExecution:
    def __init__(self, runtime: Runtime, run: Run, ctx: RunContext):
        self.runtime, self.run, self.ctx = runtime, run, ctx
        self.spec = TechniqueSpec.model_validate(run.request["spec"])
        self.prices: dict[str, float] = run.request.get("prices") or {}
        self.state: dict[str, Any] = copy.deepcopy(ctx.state or {})
        self.state["attempts"] = int(self.state.get("attempts", 0)) + 1
        self.nodes: dict[str, dict[str, Any]] = self.state.setdefault("nodes", {})
        self.needed = needed_nodes(self.spec)
        self.order = execution_order(self.spec, self.needed)
        self.fractions: dict[str, list[float]] = {}
        self.done: set[str] = set()
        self._checkpoint_lock = asyncio.Lock()

    # ---- state --------------------------------------------------------------------------------

    async def checkpoint(self) -> None:
        async with self._checkpoint_lock:
            snapshot = copy.deepcopy(self.state)
            await asyncio.to_thread(self.ctx.checkpoint, snapshot)

    def completed(self, node_id: str) -> bool:
        record = self.nodes.get(node_id)
        if not record or record.get("status") != "completed":
            return False
        items = [item for values in record["outputs"].values() for item in values]
        return all("key" not in item or self.runtime.blobs.path(item["key"]) is not None for item in items)

    def report_progress(self) -> None:
        total = sum(1.0 if n in self.done else _mean(self.fractions.get(n, [])) for n in self.order)
        self.ctx.progress(95 * total / max(len(self.order), 1))

    # ---- values -------------------------------------------------------------------------------

    async def store_inputs(self) -> None:
        """Fetch the caller's inputs once into the BlobStore (kept across retries)."""
        if "inputs" in self.state:
            return
        stored: dict[str, list[Item]] = {}
        for input_id, items in (self.run.request.get("inputs") or {}).items():
            stored[input_id] = []
            for index, item in enumerate(items):
                if item["type"] == "text":
                    stored[input_id].append({"type": "text", "text": item.get("text") or ""})
                    continue
                target = self.ctx.workdir / "inputs" / f"{input_id}_{index}"
                value = await resolve_one(self.runtime, self.run.workspace_id, item, target)
                assert value.path is not None
                key = f"runs/{self.run.id}/inputs/{input_id}/{index}{value.path.suffix}"
                await asyncio.to_thread(self.runtime.blobs.put_file, key, value.path, move=True)
                stored[input_id].append({"type": item["type"], "key": key})
        self.state["inputs"] = stored
        await self.checkpoint()

    def items(self, reference: str) -> list[Item]:
        source = Source.parse(reference)
        assert source is not None
        if source.node is None:
            return list(self.state["inputs"].get(source.port, []))
        return list(self.nodes[source.node]["outputs"].get(source.port, []))

    def value(self, item: Item) -> InputValue:
        if item["type"] == "text":
            return InputValue(type="text", text=item["text"])
        path = self.runtime.blobs.path(item["key"])
        if path is None:
            raise RunFailure("internal_error", f"stored intermediate {item['key']} is missing")
        return InputValue(type=item["type"], path=path, name=Path(item["key"]).name)

    def instances(self, node_id: str) -> list[dict[str, list[Item]]]:
        """Bindings per execution: a single-value port fed several values fans the node out, once per value."""
        node = self.spec.nodes[node_id]
        inputs, _ = node_ports(node, self._model(node).spec if not node.is_action else None)
        gathered = {port: [i for ref in node.references(port) for i in self.items(ref)] for port in node.inputs}
        width = 1
        for port, values in gathered.items():
            if not values and not inputs[port].optional:
                raise RunFailure("input_invalid", f"input {port} received no values")
            if not inputs[port].multiple and len(values) > 1:
                if width not in (1, len(values)):
                    raise RunFailure("input_invalid", f"cannot pair {width} values with {len(values)} on {port}")
                width = len(values)
        return [
            {
                port: values if inputs[port].multiple or len(values) <= 1 else [values[index]]
                for port, values in gathered.items()
            }
            for index in range(width)
        ]

    # ---- execution ----------------------------------------------------------------------------

    def _model(self, node: NodeSpec):
        resolved = self.runtime.models.get(node.model or "", test_mode=self.run.test_mode)
        if resolved is None:
            raise RunFailure("provider_error", f"model {node.model} is no longer configured on this server")
        return resolved

    async def run_node(self, node_id: str) -> None:
        node = self.spec.nodes[node_id]
        record: dict[str, Any] = {"status": "running", "started_at": now()}
        self.nodes[node_id] = record
        try:
            bindings = self.instances(node_id)
            self.fractions[node_id] = [0.0] * len(bindings)
            results = await asyncio.gather(
                *(self.run_instance(node_id, index, binding) for index, binding in enumerate(bindings))
            )
        except Exception as error:  # any failure of a node fails the run, naming the node
            failed = NodeFailed(node_id, node, error)
            record.update(status="failed", finished_at=now(), error=failed.failure.message)
            await self.checkpoint()
            raise failed from error
        outputs: dict[str, list[Item]] = {}
        for produced in results:
            for port, items in produced.items():
                outputs.setdefault(port, []).extend(items)
        record.update(
            status="completed", finished_at=now(), outputs=outputs, instances=len(bindings),
            cost=round(self.prices.get(node_id, 0.0) * len(bindings), 6),
        )
        self.done.add(node_id)
        await self.checkpoint()
        self.report_progress()

    async def run_instance(self, node_id: str, index: int, binding: dict[str, list[Item]]) -> dict[str, list[Item]]:
        node = self.spec.nodes[node_id]
        fractions = self.fractions[node_id]

        def on_progress(pct: float) -> None:
            fractions[index] = max(fractions[index], pct / 100)
            self.report_progress()

        child = RunContext(
            run_id=f"{self.run.id}:{node_id}:{index}", workdir=self.ctx.workdir / "nodes" / node_id / str(index),
            on_progress=on_progress,
        )
        child.workdir.mkdir(parents=True, exist_ok=True)
        if node.is_action:
            spec = ACTIONS[node.action]  # type: ignore[index]
            params = validate_action_params(spec, node.params)
            child.params = params.model_dump()
            child.inputs = {port: [self.value(i) for i in items] for port, items in binding.items()}
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.runtime.cpu_pool, spec.run, child, params)
        else:
            resolved = self._model(node)
            params = dict(node.params)
            for port, items in binding.items():
                if port != "prompt" and items:
                    params[port] = self.runtime.blobs.signed_url(items[0]["key"])
            if not self.run.test_mode:  # providers cannot reach Stamen's own URLs: inline them
                params = await asyncio.to_thread(inline_model_references, self.runtime, self.run.workspace_id, params)
            prompt = binding["prompt"][0]["text"] if binding.get("prompt") else (node.prompt or "")
            child.prompt, child.params = prompt, params
            request = GenerationRequest(model=resolved.spec, prompt=prompt, params=params, test_mode=self.run.test_mode)
            await resolved.backend.generate(request, child)
        if not child.outputs:
            raise RunFailure("internal_error", "the step finished without producing an output")
        return await asyncio.to_thread(self.store_outputs, node_id, index, child)

    def store_outputs(self, node_id: str, index: int, child: RunContext) -> dict[str, list[Item]]:
        """Keep a node's outputs in the BlobStore and assign them to its output ports in slot order."""
        node = self.spec.nodes[node_id]
        _, ports = node_ports(node, self._model(node).spec if not node.is_action else None)
        names = list(ports)
        slots: list[str] = []
        for position, name in enumerate(names):
            remaining, later = len(child.outputs) - len(slots), len(names) - position - 1
            last = position == len(names) - 1
            take = max(remaining - later, 0) if ports[name].multiple or last else min(1, remaining)
            slots += [name] * take
        assigned: dict[str, list[Item]] = {name: [] for name in names}
        for position, (slot, output) in enumerate(zip(slots, child.outputs, strict=True)):
            if output.media_type == "text":
                assigned[slot].append({"type": "text", "text": output.text or ""})
                continue
            assert output.path is not None
            suffix = Path(output.path).suffix
            key = f"runs/{self.run.id}/nodes/{node_id}/{index}_{position + 1}{suffix}"
            self.runtime.blobs.put_file(key, Path(output.path), move=True)
            assigned[slot].append({"type": output.media_type, "key": key})
        return assigned

    async def execute(self) -> None:
        """Start every node whose upstream nodes are done; on a failure, let running nodes finish (their
        results are kept) and then fail the run with the first failure."""
        await self.store_inputs()
        done = self.done
        done.update(node_id for node_id in self.order if self.completed(node_id))
        running: dict[asyncio.Task, str] = {}
        failure: NodeFailed | None = None
        self.report_progress()
        try:
            while True:
                if failure is None:
                    for node_id in self.order:
                        upstream = {u for _, u in dependencies(self.spec.nodes[node_id])}
                        if node_id not in done and node_id not in running.values() and upstream <= done:
                            running[asyncio.create_task(self.run_node(node_id))] = node_id
                if not running:
                    break
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    node_id = running.pop(task)
                    error = task.exception()
                    if error is None:
                        done.add(node_id)
                    elif failure is None:
                        failure = error if isinstance(error, NodeFailed) else NodeFailed(
                            node_id, self.spec.nodes[node_id], error
                        )
        finally:
            for task in running:
                task.cancel()
        if failure is not None:
            raise failure.failure

    def save_outputs(self) -> None:
        """Technique outputs in declared order; files are linked into the scratch dir (the worker moves them)."""
        for output in self.spec.outputs:
            for position, item in enumerate(self.items(output.source)):
                if item["type"] == "text":
                    self.ctx.save_output(item["text"], "text")
                    continue
                source = self.value(item).path
                assert source is not None
                target = self.ctx.new_path(f"final_{output.id}_{position}{source.suffix}")
                _link_or_copy(source, target)
                self.ctx.save_output(target, item["type"])

    def settle(self) -> None:
        """Charge what the nodes actually cost: return the difference to the quote before completing."""
        actual = round(sum(float(self.nodes[n].get("cost", 0.0)) for n in self.order if n in self.nodes), 6)
        quoted = float(self.run.quoted_cost or 0.0)
        if abs(actual - quoted) < 1e-9:
            return
        with self.runtime.db.session() as session:
            changed = session.execute(
                update(Run).where(Run.id == self.run.id, Run.status == "running").values(quoted_cost=actual)
            )
            if changed.rowcount == 1:
                session.execute(
                    update(Workspace)
                    .where(Workspace.id == self.run.workspace_id, Workspace.credit_balance.is_not(None))
                    .values(credit_balance=Workspace.credit_balance + (quoted - actual))
                )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


async def run_technique(runtime: Runtime, run: Run, ctx: RunContext) -> None:
    """The `technique` run handler (see `execution/handlers.py`)."""
    execution = TechniqueExecution(runtime, run, ctx)
    await execution.execute()
    await asyncio.to_thread(execution.settle)
    execution.save_outputs()
