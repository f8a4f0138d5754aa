"""fal backend: models addressed by their fal endpoint ids, run through fal's queue protocol.

Submit, then poll status (`IN_QUEUE` → `IN_PROGRESS` → `COMPLETED`) with `await asyncio.sleep`, then fetch the
result; on timeout or a cancelled run the request is cancelled at fal. The official `fal-client` speaks the
wire format; `STAMEN_FAL_QUEUE_URL` points it elsewhere (tests, proxies).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.models import catalog_file
from stamen.models.base import GenerationRequest, ModelParam, ModelSpec
from stamen.models.catalog_file import CatalogEntry
from stamen.models.remote_common import (
    ProviderJob,
    RemoteSettings,
    RetryAdvice,
    estimated_progress,
    failure,
    failure_for_status,
    generate_within_deadline,
    inputs_for_provider,
    looks_like_safety_block,
    retry_advice_for_status,
    retry_advice_for_transport,
    save_remote_output,
    transport_failure,
    with_retries,
)

logger = logging.getLogger(__name__)

PROVIDER = "fal"
# fal's documented error types (`X-Fal-Error-Type` / `detail[].type`) that have a run error code of their own
ERROR_CODE_BY_TYPE = {
    "content_policy_violation": "safety_blocked",
    "file_download_error": "input_unreachable",
    "image_load_error": "input_unreachable",
    "generation_timeout": "model_timeout",
    "request_timeout": "model_timeout",
    "startup_timeout": "model_timeout",
}
OUTPUT_KEYS: dict[str, tuple[str, ...]] = {
    "image": ("images", "image"),
    "video": ("video", "videos"),
    "audio": ("audio", "audio_file", "audio_url", "audios"),
}
TEXT_KEYS = ("output", "text", "response", "content")
DEFAULT_PARAMS: dict[str, tuple[ModelParam, ...]] = {
    "image": (
        ModelParam("image_size", "string", description="e.g. landscape_4_3, square_hd"),
        ModelParam("num_inference_steps", "int", min=1, max=100),
        ModelParam("guidance_scale", "float", min=0, max=20),
        ModelParam("num_images", "int", min=1, max=4),
        ModelParam("seed", "seed"),
        ModelParam("negative_prompt", "string"),
        ModelParam("image_url", "string", description="Source image (image-to-image)"),
    ),
    "video": (
        ModelParam("image_url", "string", description="First frame (image-to-video)"),
        ModelParam("duration", "string"),
        ModelParam("aspect_ratio", "string"),
        ModelParam("negative_prompt", "string"),
        ModelParam("seed", "seed"),
    ),
    "audio": (ModelParam("seed", "seed"),),
    "text": (ModelParam("system_prompt", "string"),),
}
ESTIMATED_SECONDS = {"image": 10, "video": 120, "audio": 20, "text": 10}


class FalBackend:
    """Every fal endpoint named in `STAMEN_FAL_MODELS` or in catalog entries with `backend = "fal"`."""

    name = PROVIDER

    def __init__(self, *, key: str, entries: list[CatalogEntry], settings: RemoteSettings) -> None:
        import fal_client  # the `remote` extra

        self.settings = settings
        self._key = key
        self._entries = {entry.spec.model_id: entry for entry in entries}
        self._client = fal_client.AsyncClient(key=key, default_timeout=settings.request_timeout_seconds)

    def models(self) -> list[ModelSpec]:
        return [entry.spec for entry in self._entries.values()]

    async def generate(self, request: GenerationRequest, ctx: RunContext) -> None:
        entry = self._entries.get(request.model.model_id) or CatalogEntry(request.model, PROVIDER)
        job = ProviderJob()
        await generate_within_deadline(
            self._generate(entry, request, ctx, job),
            self.settings,
            provider=PROVIDER,
            secrets=[self._key],
            to_failure=self._failure,
            on_give_up=job.cancel,
        )

    async def _generate(
        self, entry: CatalogEntry, request: GenerationRequest, ctx: RunContext, job: ProviderJob
    ) -> None:
        params = await inputs_for_provider(request.params, ctx, self.settings)
        arguments = {"prompt": request.prompt, **entry.provider_inputs(params)}
        ctx.progress(2)
        handle = await self._call(lambda: self._client.submit(entry.target, arguments))
        job.started(handle.cancel)
        logger.info("fal request %s submitted for %s", handle.request_id, entry.target)
        await self._wait(handle, request.model, ctx)
        result = await self._call(lambda: handle.get())
        job.finished()
        ctx.progress(92)
        await self._save_outputs(result, request.model, ctx)

    async def _wait(self, handle: Any, model: ModelSpec, ctx: RunContext) -> None:
        import fal_client

        started = time.monotonic()
        while True:
            status = await self._call(lambda: handle.status())
            if isinstance(status, fal_client.Completed):
                if status.error:
                    code = ERROR_CODE_BY_TYPE.get(status.error_type or "", "provider_error")
                    if code == "provider_error" and looks_like_safety_block(status.error_type, status.error):
                        code = "safety_blocked"
                    raise RunFailure(code, f"{PROVIDER} failed the request: {status.error}")
                return
            if isinstance(status, fal_client.InProgress):
                ctx.progress(estimated_progress(time.monotonic() - started, model.estimated_seconds))
            else:
                ctx.progress(5)
            await asyncio.sleep(self.settings.poll_seconds)

    async def _save_outputs(self, result: Any, model: ModelSpec, ctx: RunContext) -> None:
        if not isinstance(result, dict):
            raise RunFailure("provider_error", f"{PROVIDER} returned a result that is not a JSON object")
        if model.type == "text":
            text = next((result[k] for k in TEXT_KEYS if isinstance(result.get(k), str)), None)
            if text is None:
                raise RunFailure(
                    "provider_error", f"{PROVIDER} returned no text (keys: {sorted(result)[:10]})"
                )
            ctx.save_output(text, "text")
            return
        nsfw = result.get("has_nsfw_concepts")
        if isinstance(nsfw, list) and nsfw and all(nsfw):
            raise RunFailure("safety_blocked", f"{PROVIDER}'s safety checker flagged every output")
        files = output_files(result, model.type)
        if not files:
            raise RunFailure(
                "provider_error", f"{PROVIDER} returned no {model.type} output (keys: {sorted(result)[:10]})"
            )
        for file in files:
            await save_remote_output(
                file["url"],
                ctx,
                model.type,
                self.settings,
                provider=PROVIDER,
                content_type=file.get("content_type"),
            )

    async def _call(self, make_call: Any) -> Any:
        return await with_retries(make_call, classify_fal_error, self.settings, what=f"{PROVIDER} request")

    def _failure(self, exc: BaseException) -> RunFailure:
        import fal_client

        secrets = [self._key]
        if isinstance(exc, fal_client.client.FalClientHTTPError):
            code = ERROR_CODE_BY_TYPE.get(fal_error_type(exc) or "")
            message = fal_error_message(exc)
            if code:
                return failure(code, f"{PROVIDER} refused the request: {message}", secrets)
            return failure_for_status(PROVIDER, exc.status_code, message, secrets)
        return transport_failure(PROVIDER, exc, secrets)


def output_files(result: Mapping[str, Any], media_type: str) -> list[dict[str, Any]]:
    """fal File objects (`{"url", "content_type"}`) under the usual keys for a modality, in order."""
    files: list[dict[str, Any]] = []
    for key in OUTPUT_KEYS.get(media_type, ()):
        value = result.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("url"), str):
                files.append(item)
            elif isinstance(item, str) and item.startswith(("http://", "https://", "data:")):
                files.append({"url": item})
        if files:
            break
    return files


def fal_error_message(exc: Any) -> str:
    """fal puts the reason in `detail`: a string, or a list of `{msg, type, loc}` validation errors."""
    detail = exc.message
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                location = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{location}: {item.get('msg')}" if location else str(item.get("msg")))
        detail = "; ".join(parts) or str(detail)
    return f"{detail} (HTTP {exc.status_code})"


def fal_error_type(exc: Any) -> str | None:
    """`error_type` of the body or `X-Fal-Error-Type`, else the first `detail[].type` fal documents."""
    if exc.error_type:
        return exc.error_type
    detail = exc.message
    if isinstance(detail, list):
        for item in detail:
            if isinstance(item, dict) and item.get("type") in ERROR_CODE_BY_TYPE:
                return item["type"]
    return None


def classify_fal_error(exc: BaseException) -> RetryAdvice | None:
    import fal_client

    if isinstance(exc, fal_client.client.FalClientHTTPError):
        if (
            fal_error_type(exc) in ERROR_CODE_BY_TYPE
            or exc.response_headers.get("x-fal-retryable") == "false"
        ):
            return None
        return retry_advice_for_status(exc.status_code, exc.response_headers)
    return retry_advice_for_transport(exc)


def configure_queue_url(queue_url: str) -> None:
    """fal-client reads its queue host once, at import; Stamen points it elsewhere (process-wide)."""
    import fal_client.client

    fal_client.client.QUEUE_URL_FORMAT = queue_url.rstrip("/") + "/"


def load(settings_env: Mapping[str, str] = os.environ) -> FalBackend | None:
    """The backend when `FAL_KEY` is set; None otherwise."""
    key = settings_env.get("FAL_KEY") or None
    if not key:
        return None
    entries = catalog_file.configured_entries(
        PROVIDER,
        settings_env,
        variable="STAMEN_FAL_MODELS",
        default_params=DEFAULT_PARAMS,
        estimated_seconds=ESTIMATED_SECONDS,
    )
    queue_url = settings_env.get("STAMEN_FAL_QUEUE_URL")
    if queue_url:
        configure_queue_url(queue_url)
    return FalBackend(key=key, entries=entries, settings=RemoteSettings.from_env(settings_env))
