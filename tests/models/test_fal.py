"""The fal backend against a loopback server speaking fal's queue protocol (submit, status, result, cancel)."""

from __future__ import annotations

import base64
import time

import fal_client.client
import pytest

from stamen.errors import RunFailure
from stamen.models import fal
from stamen.models.base import GenerationRequest

from .conftest import Reply, backend_loader

FAL_KEY = "fal-key-id:fal-key-secret-0123456789"
APP = "fal-ai/flux/dev"
REQUEST_ID = "764cabcf-b745-4b3e-ae38-1200304cf45b"
BASE = f"/fal-ai/flux/requests/{REQUEST_ID}"


@pytest.fixture(autouse=True)
def restore_fal_queue_url(monkeypatch):
    monkeypatch.setattr(fal_client.client, "QUEUE_URL_FORMAT", fal_client.client.QUEUE_URL_FORMAT)


@pytest.fixture
def backend_for(fake_provider, remote_env):
    return backend_loader(
        fal.load,
        {**remote_env, "FAL_KEY": FAL_KEY, "STAMEN_FAL_QUEUE_URL": fake_provider.url},
        models_variable="STAMEN_FAL_MODELS",
        default_models=f"image:{APP},video:fal-ai/kling-video",
    )


def request_for(backend, model_id: str = APP, prompt: str = "a red fox", **params) -> GenerationRequest:
    spec = next(s for s in backend.models() if s.model_id == model_id)
    return GenerationRequest(model=spec, prompt=prompt, params=params)


def queue_app(server, *, statuses=None, result=None, submit_path=f"/{APP}"):
    """Program the fake with fal's queue endpoints for one request."""
    base = server.url + BASE
    accepted = {
        "request_id": REQUEST_ID,
        "response_url": base,
        "status_url": base + "/status",
        "cancel_url": base + "/cancel",
        "queue_position": 0,
    }
    server.route("POST", submit_path, accepted)
    server.sequence(
        "GET",
        BASE + "/status",
        statuses
        or [
            {"status": "IN_QUEUE", "queue_position": 1, "response_url": base},
            {"status": "IN_PROGRESS", "logs": None, "response_url": base},
            {"status": "COMPLETED", "logs": None, "response_url": base, "metrics": {"inference_time": 0.1}},
        ],
    )
    if result is not None:
        server.route("GET", BASE, result)
    server.route("PUT", BASE + "/cancel", Reply(202, {"status": "CANCELLATION_REQUESTED"}))
    return accepted


def test_load_returns_none_without_a_key():
    assert fal.load({"STAMEN_FAL_MODELS": f"image:{APP}"}) is None


def test_models_are_addressed_by_their_fal_endpoint_ids(backend_for):
    specs = {spec.model_id: spec for spec in backend_for().models()}
    assert specs[APP].type == "image" and specs[APP].target == APP
    assert specs["fal-ai/kling-video"].type == "video"


async def test_queue_run_submits_polls_and_copies_the_image(
    backend_for, fake_provider, ctx, png_bytes, progress
):
    image_url = fake_provider.serve_file("/cdn/out.png", png_bytes, "image/png")
    queue_app(
        fake_provider,
        result={"images": [{"url": image_url, "content_type": "image/png"}], "has_nsfw_concepts": [False]},
    )
    backend = backend_for()
    await backend.generate(request_for(backend, seed=42, num_inference_steps=4), ctx)

    [submit] = fake_provider.requests_to("POST", f"/{APP}")
    assert submit.headers["authorization"] == f"Key {FAL_KEY}"
    assert submit.json() == {"prompt": "a red fox", "seed": 42, "num_inference_steps": 4}
    assert len(fake_provider.requests_to("GET", BASE + "/status")) >= 3
    assert fake_provider.requests_to("PUT", BASE + "/cancel") == []
    [output] = ctx.outputs
    assert output.media_type == "image" and output.content_type == "image/png"
    assert output.path.read_bytes() == png_bytes
    assert progress.values == sorted(progress.values) and progress.values[-1] < 100


async def test_video_output_and_image_input_by_url(backend_for, fake_provider, ctx, png_bytes):
    source = fake_provider.serve_file("/inputs/first-frame.png", png_bytes, "image/png")
    video_url = fake_provider.serve_file("/cdn/clip.mp4", b"\x00\x00\x00\x18ftypmp42fake-video", "video/mp4")
    queue_app(fake_provider, submit_path="/fal-ai/kling-video", result={"video": {"url": video_url}})
    backend = backend_for()
    await backend.generate(request_for(backend, "fal-ai/kling-video", "the fox runs", image_url=source), ctx)

    sent = fake_provider.requests_to("POST", "/fal-ai/kling-video")[0].json()
    assert sent["image_url"].startswith("data:image/png;base64,")
    assert base64.b64decode(sent["image_url"].split(",", 1)[1]) == png_bytes
    [output] = ctx.outputs
    assert output.media_type == "video" and output.content_type == "video/mp4"
    assert output.path.suffix == ".mp4"


async def test_catalog_maps_a_flora_id_and_renames_params(
    backend_for, fake_provider, ctx, png_bytes, tmp_path
):
    catalog = tmp_path / "models.yaml"
    catalog.write_text(
        "models:\n"
        "  - id: i2i-flux-2-pro\n"
        "    backend: fal\n"
        "    target: fal-ai/flux-2-pro/edit\n"
        "    param_names: {image_url: image_urls}\n"
        "    params:\n"
        "      - {name: image_url, type: string, required: true}\n"
    )
    source = fake_provider.serve_file("/inputs/a.png", png_bytes, "image/png")
    image_url = fake_provider.serve_file("/cdn/out.png", png_bytes, "image/png")
    queue_app(fake_provider, submit_path="/fal-ai/flux-2-pro/edit", result={"images": [{"url": image_url}]})
    backend = backend_for(STAMEN_MODELS_FILE=str(catalog))
    await backend.generate(request_for(backend, "i2i-flux-2-pro", "make it blue", image_url=source), ctx)

    sent = fake_provider.requests_to("POST", "/fal-ai/flux-2-pro/edit")[0].json()
    assert set(sent) == {"prompt", "image_urls"}
    assert len(ctx.outputs) == 1


async def test_rate_limited_submit_is_retried(backend_for, fake_provider, ctx, png_bytes):
    image_url = fake_provider.serve_file("/cdn/out.png", png_bytes, "image/png")
    accepted = queue_app(fake_provider, result={"images": [{"url": image_url}]})
    attempts = []

    def limited(request):
        attempts.append(request)
        if len(attempts) == 1:
            return Reply(429, {"detail": "Too many requests"}, {"retry-after": "0"})
        return accepted

    fake_provider.route("POST", f"/{APP}", limited)
    backend = backend_for()
    await backend.generate(request_for(backend), ctx)
    assert len(attempts) == 2
    assert len(ctx.outputs) == 1


async def test_content_policy_violation_is_safety_blocked(backend_for, fake_provider, ctx):
    fake_provider.route(
        "POST",
        f"/{APP}",
        Reply(
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "prompt"],
                        "msg": "The content could not be processed because it contained material flagged by a "
                        "content checker.",
                        "type": "content_policy_violation",
                    }
                ]
            },
            {"x-fal-retryable": "false"},
        ),
    )
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "safety_blocked"
    assert "prompt: The content could not be processed" in failed.value.message
    assert len(fake_provider.requests_to("POST", f"/{APP}")) == 1


async def test_input_the_app_could_not_download_is_input_unreachable(backend_for, fake_provider, ctx):
    queue_app(fake_provider)
    fake_provider.route(
        "GET",
        BASE,
        Reply(
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "image_url"],
                        "msg": "Failed to download the file.",
                        "type": "file_download_error",
                    }
                ]
            },
        ),
    )
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "input_unreachable"
    assert "image_url: Failed to download the file." in failed.value.message


async def test_completed_with_error_reports_the_provider_message(backend_for, fake_provider, ctx):
    base = fake_provider.url + BASE
    queue_app(
        fake_provider,
        statuses=[
            {
                "status": "COMPLETED",
                "logs": None,
                "response_url": base,
                "error": "CUDA out of memory while sampling",
                "error_type": "runner_error",
            }
        ],
    )
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"
    assert "CUDA out of memory while sampling" in failed.value.message


async def test_nsfw_flagged_outputs_are_safety_blocked(backend_for, fake_provider, ctx, png_bytes):
    image_url = fake_provider.serve_file("/cdn/black.png", png_bytes, "image/png")
    queue_app(fake_provider, result={"images": [{"url": image_url}], "has_nsfw_concepts": [True]})
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "safety_blocked"
    assert ctx.outputs == []


async def test_job_that_never_finishes_times_out_and_is_cancelled(backend_for, fake_provider, ctx):
    base = fake_provider.url + BASE
    queue_app(fake_provider, statuses=[{"status": "IN_PROGRESS", "logs": None, "response_url": base}])
    backend = backend_for(STAMEN_REMOTE_TIMEOUT_SECONDS="0.4")
    started = time.monotonic()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "model_timeout"
    assert time.monotonic() - started < 3
    assert len(fake_provider.requests_to("PUT", BASE + "/cancel")) == 1


async def test_server_errors_on_result_fail_after_retries(backend_for, fake_provider, ctx):
    queue_app(fake_provider, result=Reply(500, {"detail": "Internal error in the app"}))
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"
    assert "Internal error in the app" in failed.value.message


@pytest.mark.parametrize(
    ("submit", "result"),
    [
        ({"status": "IN_QUEUE"}, None),  # no request_id / urls
        (None, {"images": []}),
        (None, {"images": [{"content_type": "image/png"}]}),
        (None, ["not", "an", "object"]),
    ],
    ids=["submit-without-request-id", "no-images", "image-without-url", "result-not-object"],
)
async def test_malformed_responses_fail_as_provider_error(backend_for, fake_provider, ctx, submit, result):
    queue_app(fake_provider, result=result)
    if submit is not None:
        fake_provider.route("POST", f"/{APP}", submit)
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"
    assert "fal" in failed.value.message


async def test_unknown_status_is_a_malformed_response(backend_for, fake_provider, ctx):
    queue_app(fake_provider, statuses=[{"status": "EXPLODED"}])
    backend = backend_for()
    with pytest.raises(RunFailure, match="malformed response") as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"


async def test_key_echoed_by_the_server_never_reaches_the_failure(backend_for, fake_provider, ctx):
    def echo(request):
        return Reply(401, {"detail": f"Invalid credentials {request.headers['authorization']}"})

    fake_provider.route("POST", f"/{APP}", echo)
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"
    assert "Invalid credentials" in failed.value.message
    assert "fal-key-secret" not in failed.value.message
