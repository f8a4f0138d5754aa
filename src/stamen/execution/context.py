"""What a handler (action, model backend, technique node) sees of its run: inputs, params, progress, outputs.

Handlers never touch HTTP or SQL; the worker builds a RunContext and records what the handler reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MediaType = Literal["image", "video", "audio", "text", "document"]

OUTPUT_TYPE_BY_MEDIA: dict[str, str] = {
    "image": "imageUrl",
    "video": "videoUrl",
    "audio": "audioUrl",
    "text": "text",
    "document": "documentUrl",
}


@dataclass
class InputValue:
    """One resolved input: a local file for media, the string itself for text."""

    type: MediaType
    path: Path | None = None
    text: str | None = None
    name: str | None = None  # original file name or slot name, when known


@dataclass
class SavedOutput:
    media_type: MediaType
    path: Path | None = None  # file to store (media)
    text: str | None = None  # inline text output
    content_type: str | None = None


@dataclass
class RunContext:
    run_id: str
    workdir: Path
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, list[InputValue]] = field(default_factory=dict)  # slot name -> values
    prompt: str | None = None
    on_progress: Callable[[float], None] | None = None
    outputs: list[SavedOutput] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # checkpoint restored from an earlier attempt
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Persist handler state (JSON) so a retried run resumes instead of redoing finished work.
        Blocking (a DB write): call it from a worker thread or via asyncio.to_thread."""
        self.state = state
        if self.on_checkpoint is not None:
            self.on_checkpoint(state)

    def progress(self, pct: float) -> None:
        """Report 0–100; the worker keeps it non-decreasing and rate-limits writes."""
        if self.on_progress is not None:
            self.on_progress(max(0.0, min(100.0, float(pct))))

    def input(self, slot: str) -> InputValue:
        values = self.inputs.get(slot) or []
        if not values:
            raise KeyError(slot)
        return values[0]

    def input_path(self, slot: str) -> Path:
        value = self.input(slot)
        assert value.path is not None, f"slot {slot} is not a media slot"
        return value.path

    def input_paths(self, slot: str) -> list[Path]:
        return [v.path for v in self.inputs.get(slot, []) if v.path is not None]

    def input_text(self, slot: str) -> str:
        value = self.input(slot)
        return value.text if value.text is not None else ""

    def new_path(self, name: str) -> Path:
        """A fresh file path inside the run's scratch directory."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self.workdir / name

    def save_output(
        self,
        source: Path | bytes | str,
        media_type: MediaType,
        *,
        content_type: str | None = None,
        suffix: str | None = None,
    ) -> SavedOutput:
        """Record an output in slot order. `str` is inline text only when media_type == 'text'."""
        if media_type == "text":
            output = SavedOutput("text", text=str(source))
        else:
            if isinstance(source, bytes):
                path = self.new_path(f"output_{len(self.outputs) + 1}{suffix or ''}")
                path.write_bytes(source)
            else:
                path = Path(source)
            output = SavedOutput(media_type, path=path, content_type=content_type)
        self.outputs.append(output)
        return output
