"""Local diffusers backend: text-to-image (and image-to-image) on this machine, never downloading at run time.

`STAMEN_DIFFUSERS_MODELS="sd-turbo=/models/sd-turbo,t2i-sdxl=stabilityai/sdxl-turbo"` maps model ids to a
local pipeline folder or a Hugging Face repo id already in the local cache (`local_files_only`). Needs the
`diffusers` extra (diffusers, torch, transformers). Denoising runs in a worker thread; each step reports
progress, and a timed-out or cancelled run stops at the next step.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import logging
import os
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.models import catalog_file
from stamen.models.base import GenerationRequest, ModelParam, ModelSpec
from stamen.models.catalog_file import CatalogEntry, CatalogError
from stamen.models.remote_common import RemoteSettings, fetch_input, run_with_deadline

logger = logging.getLogger(__name__)

PROVIDER = "diffusers"
DEFAULT_PARAMS: tuple[ModelParam, ...] = (
    ModelParam("num_inference_steps", "int", default=25, min=1, max=150),
    ModelParam("guidance_scale", "float", min=0, max=30, description="Pipeline default when unset"),
    ModelParam("width", "int", min=8, max=2048, description="Multiple of 8; pipeline default when unset"),
    ModelParam("height", "int", min=8, max=2048, description="Multiple of 8; pipeline default when unset"),
    ModelParam("seed", "seed"),
    ModelParam("negative_prompt", "string"),
    ModelParam("image_url", "string", description="Source image (image-to-image)"),
    ModelParam(
        "strength", "float", min=0, max=1, description="How far image-to-image departs from the source"
    ),
)
PIPELINE_ARGUMENTS = (
    "num_inference_steps",
    "guidance_scale",
    "width",
    "height",
    "negative_prompt",
    "strength",
)


class _Stopped(Exception):
    """Raised inside the denoising loop to abandon a timed-out or cancelled run."""


class DiffusersBackend:
    """Pipelines loaded once per target and kept; one generation at a time per pipeline."""

    name = PROVIDER

    def __init__(
        self,
        *,
        entries: list[CatalogEntry],
        device: str = "cpu",
        cache_dir: str | None = None,
        timeout_seconds: float = 1800.0,
        fetch_settings: RemoteSettings | None = None,
    ) -> None:
        self.device = device
        self.cache_dir = cache_dir
        self.timeout_seconds = timeout_seconds
        self.fetch_settings = fetch_settings or RemoteSettings()
        self._entries = {entry.spec.model_id: entry for entry in entries}
        self._pipelines: dict[tuple[str, str], Any] = {}
        self._load_lock = threading.Lock()
        self._run_locks: dict[str, threading.Lock] = {}

    def models(self) -> list[ModelSpec]:
        return [entry.spec for entry in self._entries.values()]

    async def generate(self, request: GenerationRequest, ctx: RunContext) -> None:
        entry = self._entries.get(request.model.model_id) or CatalogEntry(request.model, PROVIDER)
        stop = threading.Event()

        async def give_up() -> None:
            stop.set()

        await run_with_deadline(
            self._generate(entry, request, ctx, stop),
            self.timeout_seconds,
            provider=PROVIDER,
            on_give_up=give_up,
        )

    async def _generate(
        self, entry: CatalogEntry, request: GenerationRequest, ctx: RunContext, stop: threading.Event
    ) -> None:
        params = dict(request.params)
        source_path = None
        if params.get("image_url"):
            source_path = (
                await fetch_input(params["image_url"], ctx, self.fetch_settings, name="image_url")
            ).path
        loop = asyncio.get_running_loop()

        def report(pct: float) -> None:
            loop.call_soon_threadsafe(ctx.progress, pct)

        ctx.progress(1)
        png = await asyncio.to_thread(
            self._run, entry.target, request.prompt, params, source_path, report, stop
        )
        ctx.save_output(png, "image", content_type="image/png", suffix=".png")

    def _run(
        self,
        target: str,
        prompt: str,
        params: dict[str, Any],
        source_path: Path | None,
        report: Any,
        stop: threading.Event,
    ) -> bytes:
        """Blocking: load (once), denoise, encode PNG. Runs in a worker thread."""
        import torch

        mode = "image-to-image" if source_path else "text-to-image"
        pipeline = self._pipeline(target, mode)
        report(10)
        arguments = {name: params[name] for name in PIPELINE_ARGUMENTS if params.get(name) is not None}
        if source_path is None:
            arguments.pop("strength", None)
        else:
            arguments["image"] = _open_image(source_path)
            arguments.pop("width", None)
            arguments.pop("height", None)
        for side in ("width", "height"):
            if side in arguments:
                arguments[side] = max(8, int(arguments[side]) // 8 * 8)
        if params.get("seed") is not None:
            arguments["generator"] = torch.Generator(device="cpu").manual_seed(int(params["seed"]))
        steps = int(arguments.get("num_inference_steps", 25))

        def on_step_end(
            pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]
        ) -> dict[str, Any]:
            if stop.is_set():
                raise _Stopped()
            report(10 + 85 * (step + 1) / max(steps, 1))
            return callback_kwargs

        with self._run_locks.setdefault(target, threading.Lock()):
            if stop.is_set():
                raise _Stopped()
            try:
                result = pipeline(prompt, callback_on_step_end=on_step_end, **arguments)
            except _Stopped:
                raise RunFailure("model_timeout", "the local diffusers run was stopped") from None
            except (ValueError, TypeError, RuntimeError) as exc:
                raise RunFailure("provider_error", f"the diffusers pipeline failed: {exc}") from None
        flagged = getattr(result, "nsfw_content_detected", None)
        if isinstance(flagged, list) and flagged and all(flagged):
            raise RunFailure("safety_blocked", "the pipeline's safety checker flagged the image")
        image = result.images[0]
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def _pipeline(self, target: str, mode: str) -> Any:
        with self._load_lock:
            key = (target, mode)
            if key in self._pipelines:
                return self._pipelines[key]
            base = self._pipelines.get((target, "text-to-image"))
            if base is None:
                base = self._load(target)
                self._pipelines[(target, "text-to-image")] = base
            if mode == "image-to-image":
                from diffusers import AutoPipelineForImage2Image

                try:
                    self._pipelines[key] = AutoPipelineForImage2Image.from_pipe(base)
                except ValueError as exc:
                    raise RunFailure(
                        "provider_error", f"{target} has no image-to-image pipeline: {exc}"
                    ) from None
            return self._pipelines[key]

    def _load(self, target: str) -> Any:
        import torch
        from diffusers import DiffusionPipeline

        local = Path(target).expanduser()
        source = str(local) if local.is_dir() else target
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        logger.info("loading diffusers pipeline %s on %s", source, self.device)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
                pipeline = DiffusionPipeline.from_pretrained(  # torch_dtype: understood by diffusers >= 0.30
                    source, local_files_only=True, cache_dir=self.cache_dir, torch_dtype=dtype
                )
        except (OSError, ValueError) as exc:
            where = "folder" if local.is_dir() else "local Hugging Face cache"
            hint = "" if local.is_dir() else f"; fetch it beforehand, e.g. `hf download {target}`"
            raise RunFailure(
                "provider_error",
                f"cannot load diffusers model {target} from the {where}: {_first_line(exc)}{hint}",
            ) from None
        pipeline.set_progress_bar_config(disable=True)
        return pipeline.to(self.device)


def _open_image(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError):
        raise RunFailure("input_unreachable", "params.image_url is not an image Stamen can read") from None
    width, height = max(8, image.width // 8 * 8), max(8, image.height // 8 * 8)
    return image.resize((width, height)) if (width, height) != image.size else image


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _as_image_item(item: str) -> str:
    """`id=path` as is; a bare path or repo id gets its last segment as id (`/models/sd-turbo` -> `sd-turbo`)."""
    item = item.strip()
    if not item or "=" in item:
        return f"image:{item}" if item else ""
    return f"image:{Path(item).name}={item}"


def is_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("diffusers", "torch", "transformers"))


def load(settings_env: Mapping[str, str] = os.environ) -> DiffusersBackend | None:
    """The backend when `STAMEN_DIFFUSERS_MODELS` or catalog entries name models and the extra is installed."""
    entries = catalog_file.parse_model_list(
        ",".join(_as_image_item(item) for item in settings_env.get("STAMEN_DIFFUSERS_MODELS", "").split(",")),
        backend=PROVIDER,
        variable="STAMEN_DIFFUSERS_MODELS",
        default_params={"image": DEFAULT_PARAMS},
        estimated_seconds={"image": 60},
    )
    entries += catalog_file.entries_for(PROVIDER, settings_env, default_params={"image": DEFAULT_PARAMS})
    if not entries:
        return None
    for entry in entries:
        if entry.spec.type != "image":
            raise CatalogError(f"model {entry.spec.model_id}: the diffusers backend makes images only")
    if not is_available():
        logger.warning("STAMEN_DIFFUSERS_MODELS is set but the diffusers extra is not installed")
        return None
    timeout = float(settings_env.get("STAMEN_DIFFUSERS_TIMEOUT_SECONDS") or 1800)
    return DiffusersBackend(
        entries=entries,
        device=settings_env.get("STAMEN_DIFFUSERS_DEVICE") or "cpu",
        cache_dir=settings_env.get("STAMEN_DIFFUSERS_CACHE_DIR") or None,
        timeout_seconds=timeout,
        fetch_settings=RemoteSettings.from_env(settings_env),
    )
