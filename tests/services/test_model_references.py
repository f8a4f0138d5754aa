"""Model params naming media accept asset ids and Stamen URLs; providers receive data: URIs instead."""

from __future__ import annotations

import base64

import pytest

from stamen.config import Settings
from stamen.errors import RunFailure
from stamen.ids import now_ms
from stamen.models.registry import ModelRegistry
from stamen.models.simulator import SimulatorBackend
from stamen.runtime import Runtime
from stamen.services.inputs import inline_model_references
from stamen.store.models import Asset


@pytest.fixture
def runtime(tmp_path):
    return Runtime(Settings(data_dir=tmp_path), models=ModelRegistry([], SimulatorBackend()))


def test_asset_ids_and_own_urls_become_data_uris(runtime, tmp_path):
    workspace_id = runtime.bootstrap().workspace_id
    source = tmp_path / "pic.png"
    source.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    runtime.blobs.put_file("assets/asset_abc.png", source)
    with runtime.db.session() as session:
        session.add(Asset(id="asset_abc", workspace_id=workspace_id, status="ready", uploaded_via="direct",
                          blob_key="assets/asset_abc.png", created_at=now_ms()))
    own_url = runtime.blobs.signed_url("assets/asset_abc.png")
    resolved = inline_model_references(runtime, workspace_id, {
        "image_url": "asset_abc", "image_urls": [own_url, "https://example.com/x.png"], "prompt_url": 3,
        "strength": 0.5,
    })
    expected = "data:image/png;base64," + base64.b64encode(source.read_bytes()).decode()
    assert resolved["image_url"] == expected
    assert resolved["image_urls"] == [expected, "https://example.com/x.png"]
    assert resolved["strength"] == 0.5 and resolved["prompt_url"] == 3
    with pytest.raises(RunFailure) as failure:
        inline_model_references(runtime, workspace_id, {"image_url": "asset_missing"})
    assert failure.value.code == "input_unreachable"
    with pytest.raises(RunFailure):
        inline_model_references(runtime, workspace_id, {"image_url": own_url.replace("signature=", "signature=0")})
