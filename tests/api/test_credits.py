"""Credits: quotes are reserved at create, settled on the run, refunded on failure; over-balance → 402.
Also covers catalog-file aliases of built-in models (a priced `espeak-tts` under the user's own id)."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_envelope, wait_for_run
from tests.stamen_server import StamenServer


@pytest.fixture(scope="module")
def priced_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("credits")
    catalog = data / "models.toml"
    catalog.write_text(
        '[[models]]\nid = "tts-paid"\nname = "Paid speech"\ntype = "audio"\nbackend = "espeak"\n'
        'target = "espeak-tts"\nprice = 0.4\nestimated_seconds = 3\n'
    )
    server = StamenServer(data / "stamen", env={"STAMEN_MODELS_FILE": str(catalog), "STAMEN_DEFAULT_CREDITS": "1.0"})
    yield server.start()
    server.stop()


def speak(server, prompt: str = "hello there"):
    return server.client().post(
        "/generate",
        json={
            "type": "audio",
            "model": "tts-paid",
            "prompt": prompt,
            "workspace_id": server.workspace_id,
            "project_id": server.project_id,
        },
    )


def test_alias_is_listed_with_its_price(priced_server):
    models = {m["model_id"]: m for m in priced_server.client().get("/models").json()["models"]}
    assert models["tts-paid"]["estimated_credits"] == 400 and models["tts-paid"]["estimated_seconds"] == 3
    assert [p["name"] for p in models["tts-paid"]["params"]] == [p["name"] for p in models["espeak-tts"]["params"]]


def test_quote_settle_refund_and_402(priced_server):
    client = priced_server.client()
    first = speak(priced_server)
    assert first.status_code == 201 and first.json()["charged_cost"] == 0.4
    run = wait_for_run(client, first.json()["run_id"])
    assert run["status"] == "completed" and run["charged_cost"] == 0.4

    failing = speak(priced_server, prompt="   ")  # nothing to say: the run fails and is refunded
    failed = wait_for_run(client, failing.json()["run_id"])
    assert failed["status"] == "failed" and failed["charged_cost"] == 0 and failed["error_message"]

    assert speak(priced_server).status_code == 201  # balance 0.6 → 0.2 (the failed run was refunded)
    error = assert_envelope(speak(priced_server), 402, "insufficient_credits")
    assert "0.2" in error["message"]
    free = client.post(
        "/generate",
        json={
            "type": "audio",
            "model": "espeak-tts",
            "prompt": "free",
            "workspace_id": priced_server.workspace_id,
            "project_id": priced_server.project_id,
        },
    )
    assert free.status_code == 201
