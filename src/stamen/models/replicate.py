"""Replicate backend: predictions (create, poll, cancel) whose file outputs are copied into the run.

Targets are `owner/name` (the model's latest version, official models) or `owner/name:version`. Polling is
`await asyncio.sleep` between `GET /v1/predictions/{id}`; progress comes from the model's tqdm-style logs
when it prints them, else from elapsed time. The official `replicate` client speaks the wire format;
`STAMEN_REPLICATE_BASE_URL` points it elsewhere.
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

PROVIDER = "replicate"
TERMINAL_STATUSES = ("succeeded", "failed", "canceled")
DEFAULT_PARAMS: dict[str, tuple[ModelParam, ...]] = {
    "image": (
        ModelParam("aspect_ratio", "string", description="e.g. 1:1, 16:9"),
        ModelParam("num_outputs", "int", min=1, max=4),
        ModelParam("output_format", "string"),
        ModelParam("seed", "seed"),
        ModelParam("image_url", "string", description="Source image (image-to-image)"),
    ),
    "video": (
        ModelParam("image_url", "string", description="First frame (image-to-video)"),
        ModelParam("duration", "int", min=1),
        ModelParam("aspect_ratio", "string"),
        ModelParam("seed", "seed"),
    ),
    "audio": (ModelParam("seed", "seed"),),
    "text": (
        ModelParam("system_prompt", "string"),
        ModelParam("max_tokens", "int", min=1),
        ModelParam("temperature", "float", min=0, max=2),
    ),
}
ESTIMATED_SECONDS = {"image": 10, "video": 120, "audio": 20, "text": 10}


class ReplicateBackend:
    """Every Replicate model named in `STAMEN_REPLICATE_MODELS` or in catalog entries for `replicate`."""

    name = PROVIDER

    def __init__(
        self,
        *,
        token: str,
        entries: list[CatalogEntry],
        settings: RemoteSettings,
        base_url: str | None = None,
    ) -> None:
        import httpx
        import replicate  # the `remote` extra
        from replicate.client import RetryTransport

        self.settings = settings
        self._token = token
        self._entries = {entry.spec.model_id: entry for entry in entries}
        timeout = httpx.Timeout(
            settings.request_timeout_seconds, connect=min(10.0, settings.request_timeout_seconds)
        )
        # replicate's client retries GETs on 429/503/504 honouring Retry-After; this inner layer does the same
        # for POSTs answered 429 (nothing was created, so asking again is safe).
        post_retries = RetryTransport(
            httpx.AsyncHTTPTransport(),
            max_attempts=settings.retry_attempts,
            max_backoff_wait=settings.retry_max_seconds,
            backoff_factor=settings.retry_base_seconds,
            retryable_methods=["POST"],
            retry_status_codes=[429],
        )
        self._client = replicate.Client(
            api_token=token, base_url=base_url, timeout=timeout, transport=post_retries
        )

    def models(self) -> list[ModelSpec]:
        return [entry.spec for entry in self._entries.values()]

    async def generate(self, request: GenerationRequest, ctx: RunContext) -> None:
        entry = self._entries.get(request.model.model_id) or CatalogEntry(request.model, PROVIDER)
        job = ProviderJob()
        await generate_within_deadline(
            self._generate(entry, request, ctx, job),
            self.settings,
            provider=PROVIDER,
            secrets=[self._token],
            to_failure=self._failure,
            on_give_up=job.cancel,
        )

    async def _generate(
        self, entry: CatalogEntry, request: GenerationRequest, ctx: RunContext, job: ProviderJob
    ) -> None:
        params = await inputs_for_provider(request.params, ctx, self.settings)
        inputs = {"prompt": request.prompt, **entry.provider_inputs(params)}
        ctx.progress(2)
        prediction = await self._call(lambda: self._create(entry.target, inputs))
        job.started(lambda: self._client.predictions.async_cancel(prediction.id))
        logger.info("replicate prediction %s created for %s", prediction.id, entry.target)
        started = time.monotonic()
        while prediction.status not in TERMINAL_STATUSES:
            if prediction.status == "processing":
                progress = prediction.progress
                if progress is not None:
                    ctx.progress(10 + 80 * progress.percentage)
                else:
                    ctx.progress(
                        estimated_progress(time.monotonic() - started, request.model.estimated_seconds)
                    )
            else:
                ctx.progress(5)
            await asyncio.sleep(self.settings.poll_seconds)
            await self._call(prediction.async_reload)
        job.finished()
        if prediction.status == "failed":
            raise prediction_failure(prediction.error)
        if prediction.status == "canceled":
            raise RunFailure("provider_error", f"{PROVIDER} prediction {prediction.id} was canceled")
        ctx.progress(92)
        await self._save_outputs(prediction.output, request.model, ctx)

    async def _create(self, target: str, inputs: dict[str, Any]) -> Any:
        predictions = self._client.predictions
        owner_name, colon, version = target.partition(":")
        if colon:
            return await predictions.async_create(version=version, input=inputs)
        if "/" not in owner_name:
            return await predictions.async_create(version=owner_name, input=inputs)
        return await predictions.async_create(model=owner_name, input=inputs)

    async def _save_outputs(self, output: Any, model: ModelSpec, ctx: RunContext) -> None:
        if model.type == "text":
            if isinstance(output, list) and all(isinstance(part, str) for part in output):
                output = "".join(output)
            if not isinstance(output, str):
                raise RunFailure("provider_error", f"{PROVIDER} returned no text output")
            ctx.save_output(output, "text")
            return
        urls = output_urls(output)
        if not urls:
            raise RunFailure("provider_error", f"{PROVIDER} returned no {model.type} file output")
        for url in urls:
            await save_remote_output(url, ctx, model.type, self.settings, provider=PROVIDER)

    async def _call(self, make_call: Any) -> Any:
        return await with_retries(
            make_call, classify_replicate_error, self.settings, what=f"{PROVIDER} request"
        )

    def _failure(self, exc: BaseException) -> RunFailure:
        import replicate.exceptions

        secrets = [self._token]
        if isinstance(exc, replicate.exceptions.ReplicateError):
            message = exc.detail or exc.title or "no details given"
            return failure_for_status(PROVIDER, exc.status, message, secrets)
        return transport_failure(PROVIDER, exc, secrets)


def prediction_failure(error: Any) -> RunFailure:
    message = str(error or "the prediction failed without an error message")
    if looks_like_safety_block(message):
        return RunFailure("safety_blocked", f"{PROVIDER} refused the request: {message}")
    lowered = message.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return RunFailure("model_timeout", f"{PROVIDER} prediction timed out: {message}")
    return RunFailure("provider_error", f"{PROVIDER} prediction failed: {message}")


def output_urls(output: Any) -> list[str]:
    """File outputs in order: a URL, a list of URLs, or URLs nested in an object's values."""
    if isinstance(output, str):
        return [output] if output.startswith(("http://", "https://", "data:")) else []
    if isinstance(output, list):
        return [url for item in output for url in output_urls(item)]
    if isinstance(output, dict):
        return [url for value in output.values() for url in output_urls(value)]
    return []


def classify_replicate_error(exc: BaseException) -> RetryAdvice | None:
    import replicate.exceptions

    if isinstance(exc, replicate.exceptions.ReplicateError):
        if exc.status == 429:
            return None  # the client's transports already waited out Retry-After and gave up
        return retry_advice_for_status(exc.status, None)
    return retry_advice_for_transport(exc)


def load(settings_env: Mapping[str, str] = os.environ) -> ReplicateBackend | None:
    """The backend when `REPLICATE_API_TOKEN` is set; None otherwise."""
    token = settings_env.get("REPLICATE_API_TOKEN") or None
    if not token:
        return None
    entries = catalog_file.configured_entries(
        PROVIDER,
        settings_env,
        variable="STAMEN_REPLICATE_MODELS",
        default_params=DEFAULT_PARAMS,
        estimated_seconds=ESTIMATED_SECONDS,
    )
    return ReplicateBackend(
        token=token,
        entries=entries,
        settings=RemoteSettings.from_env(settings_env),
        base_url=settings_env.get("STAMEN_REPLICATE_BASE_URL") or None,
    )
