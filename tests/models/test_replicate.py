"""The Replicate backend against a loopback server speaking Replicate's predictions API."""

from __future__ import annotations

import time

import pytest

from stamen.errors import RunFailure
from stamen.models import replicate
from stamen.models.base import GenerationRequest

from .conftest import Reply, backend_loader

TOKEN = "r8_TestToken0123456789abcdefghij"
MODEL = "black-forest-labs/flux-schnell"
PREDICTION_ID = "gm3qorzdhgbfurvjtvhg6dckhu"


def prediction(status: str, *, output=None, error=None, logs: str = "", server=None) -> dict:
    base = (server.url if server else "http://replicate.test") + f"/v1/predictions/{PREDICTION_ID}"
    return {
        "id": PREDICTION_ID,
        "model": MODEL,
        "version": "dp-4d0bcc010b3049749a251855f12800be",
        "status": status,
        "input": {"prompt": "a red fox"},
        "output": output,
        "logs": logs,
        "error": error,
        "metrics": {"predict_time": 0.5} if status == "succeeded" else None,
        "created_at": "2025-01-01T00:00:00.000Z",
        "started_at": None,
        "completed_at": None,
        "urls": {"get": base, "cancel": base + "/cancel"},
    }


@pytest.fixture
def backend_for(fake_provider, remote_env):
    return backend_loader(
        replicate.load,
        {**remote_env, "REPLICATE_API_TOKEN": TOKEN, "STAMEN_REPLICATE_BASE_URL": fake_provider.url},
        models_variable="STAMEN_REPLICATE_MODELS",
        default_models=f"image:{MODEL},text:meta/meta-llama-3-8b-instruct",
    )


def request_for(backend, model_id: str = MODEL, prompt: str = "a red fox", **params) -> GenerationRequest:
    spec = next(s for s in backend.models() if s.model_id == model_id)
    return GenerationRequest(model=spec, prompt=prompt, params=params)


def predictions_api(server, polls: list, *, create_path: str = f"/v1/models/{MODEL}/predictions"):
    server.route("POST", create_path, Reply(201, prediction("starting", server=server)))
    server.sequence("GET", f"/v1/predictions/{PREDICTION_ID}", polls)
    server.route("POST", f"/v1/predictions/{PREDICTION_ID}/cancel", prediction("canceled", server=server))


def test_load_returns_none_without_a_token():
    assert replicate.load({"STAMEN_REPLICATE_MODELS": f"image:{MODEL}"}) is None


async def test_prediction_is_created_polled_and_its_files_copied(
    backend_for, fake_provider, ctx, png_bytes, progress
):
    first = fake_provider.serve_file("/delivery/out-0.webp", png_bytes, "image/webp")
    second = fake_provider.serve_file("/delivery/out-1.webp", png_bytes, "image/webp")
    predictions_api(
        fake_provider,
        [
            prediction("processing", logs="Using seed: 42\n 50%|█████     | 2/4 [00:01<00:01,  1.9it/s]"),
            prediction("succeeded", output=[first, second]),
        ],
    )
    backend = backend_for()
    await backend.generate(request_for(backend, seed=42, num_outputs=2), ctx)

    [create] = fake_provider.requests_to("POST", f"/v1/models/{MODEL}/predictions")
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    assert create.json() == {"input": {"prompt": "a red fox", "seed": 42, "num_outputs": 2}}
    assert [o.media_type for o in ctx.outputs] == ["image", "image"]
    assert all(o.content_type == "image/webp" and o.path.read_bytes() == png_bytes for o in ctx.outputs)
    assert 50.0 in progress.values  # 10 + 80 * 50% from the model's progress bar
    assert progress.values == sorted(progress.values)


async def test_versioned_target_creates_through_predictions(backend_for, fake_provider, ctx):
    predictions_api(fake_provider, [prediction("succeeded", output="Hello")], create_path="/v1/predictions")
    backend = backend_for(
        "text:llm=meta/llama:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
    )
    await backend.generate(request_for(backend, "llm", "Say hello"), ctx)

    body = fake_provider.requests_to("POST", "/v1/predictions")[0].json()
    assert body["version"] == "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
    assert ctx.outputs[0].text == "Hello"


async def test_streamed_text_tokens_are_joined(backend_for, fake_provider, ctx):
    predictions_api(
        fake_provider,
        [prediction("succeeded", output=["Hel", "lo", " there"])],
        create_path="/v1/models/meta/meta-llama-3-8b-instruct/predictions",
    )
    backend = backend_for()
    await backend.generate(request_for(backend, "meta/meta-llama-3-8b-instruct", max_tokens=20), ctx)
    assert [(o.media_type, o.text) for o in ctx.outputs] == [("text", "Hello there")]


async def test_image_input_is_sent_under_the_catalog_name(
    backend_for, fake_provider, ctx, png_bytes, tmp_path
):
    catalog = tmp_path / "models.toml"
    catalog.write_text(
        '[[models]]\nid = "i2i-kontext"\nbackend = "replicate"\ntarget = "black-forest-labs/flux-kontext-pro"\n'
        'param_names = { image_url = "input_image" }\n'
        '[[models.params]]\nname = "image_url"\ntype = "string"\nrequired = true\n'
    )
    source = fake_provider.serve_file("/inputs/a.png", png_bytes, "image/png")
    output = fake_provider.serve_file("/delivery/out.png", png_bytes, "image/png")
    predictions_api(
        fake_provider,
        [prediction("succeeded", output=output)],
        create_path="/v1/models/black-forest-labs/flux-kontext-pro/predictions",
    )
    backend = backend_for(STAMEN_MODELS_FILE=str(catalog))
    await backend.generate(request_for(backend, "i2i-kontext", "make it night", image_url=source), ctx)

    sent = fake_provider.requests_to("POST", "/v1/models/black-forest-labs/flux-kontext-pro/predictions")[0]
    assert sent.json()["input"]["input_image"].startswith("data:image/png;base64,")
    assert len(ctx.outputs) == 1


async def test_rate_limited_create_waits_for_retry_after(backend_for, fake_provider, ctx, png_bytes):
    output = fake_provider.serve_file("/delivery/out.png", png_bytes, "image/png")
    predictions_api(fake_provider, [prediction("succeeded", output=output)])
    created = prediction("starting", server=fake_provider)
    calls = []

    def limited(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Reply(
                429,
                {"title": "Too Many Requests", "detail": "Request was throttled.", "status": 429},
                {"retry-after": "1"},
            )
        return Reply(201, created)

    fake_provider.route("POST", f"/v1/models/{MODEL}/predictions", limited)
    backend = backend_for()
    await backend.generate(request_for(backend), ctx)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.9
    assert len(ctx.outputs) == 1


async def test_failed_prediction_reports_the_model_error(backend_for, fake_provider, ctx):
    predictions_api(fake_provider, [prediction("failed", error="CUDA error: device-side assert triggered")])
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"
    assert "CUDA error: device-side assert triggered" in failed.value.message


async def test_nsfw_failure_is_safety_blocked(backend_for, fake_provider, ctx):
    predictions_api(
        fake_provider,
        [
            prediction(
                "failed", error="NSFW content detected. Try running it again, or try a different prompt."
            )
        ],
    )
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "safety_blocked"


async def test_invalid_input_is_a_provider_error_with_the_detail(backend_for, fake_provider, ctx):
    fake_provider.route(
        "POST",
        f"/v1/models/{MODEL}/predictions",
        Reply(
            422,
            {
                "title": "Input validation failed",
                "detail": "- input.num_outputs: Must be <= 4",
                "status": 422,
            },
        ),
    )
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, num_outputs=9), ctx)
    assert failed.value.code == "provider_error"
    assert "input.num_outputs: Must be <= 4" in failed.value.message


async def test_prediction_that_never_finishes_times_out_and_is_cancelled(backend_for, fake_provider, ctx):
    predictions_api(fake_provider, [prediction("processing")])
    backend = backend_for(STAMEN_REMOTE_TIMEOUT_SECONDS="0.4")
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "model_timeout"
    assert len(fake_provider.requests_to("POST", f"/v1/predictions/{PREDICTION_ID}/cancel")) == 1


async def test_canceled_prediction_is_a_provider_error(backend_for, fake_provider, ctx):
    predictions_api(fake_provider, [prediction("canceled")])
    backend = backend_for()
    with pytest.raises(RunFailure, match="canceled") as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"


async def test_expired_output_url_is_a_provider_error(backend_for, fake_provider, ctx):
    gone = fake_provider.url + "/delivery/expired.png"
    predictions_api(fake_provider, [prediction("succeeded", output=[gone])])
    backend = backend_for()
    with pytest.raises(RunFailure, match="could not download replicate's output") as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"
    assert "404" in failed.value.message


async def test_output_over_the_size_limit_is_refused(backend_for, fake_provider, ctx):
    big = fake_provider.serve_file("/delivery/big.png", b"\x89PNG" + b"0" * 5000, "image/png")
    predictions_api(fake_provider, [prediction("succeeded", output=big)])
    backend = backend_for(STAMEN_REMOTE_MAX_OUTPUT_BYTES="1000")
    with pytest.raises(RunFailure, match="over 1000 bytes") as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"
    assert not any(ctx.workdir.glob("output_*"))


@pytest.mark.parametrize(
    "polls",
    [
        [{"id": PREDICTION_ID, "status": "succeeded"}],  # required fields missing
        [prediction("succeeded", output=None)],
        [prediction("succeeded", output={"weird": 3})],
        [Reply(200, "<html>oops</html>", {"content-type": "text/html"})],
    ],
    ids=["missing-fields", "no-output", "output-without-files", "not-json"],
)
async def test_malformed_predictions_fail_as_provider_error(backend_for, fake_provider, ctx, polls):
    predictions_api(fake_provider, [prediction("processing"), *polls])
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"
    assert "replicate" in failed.value.message


async def test_token_echoed_by_the_server_never_reaches_the_failure(backend_for, fake_provider, ctx):
    def echo(request):
        return Reply(
            401, {"title": "Unauthenticated", "detail": f"bad token {request.headers['authorization']}"}
        )

    fake_provider.route("POST", f"/v1/models/{MODEL}/predictions", echo)
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend), ctx)
    assert failed.value.code == "provider_error"
    assert "bad token" in failed.value.message
    assert TOKEN not in failed.value.message
