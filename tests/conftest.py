from __future__ import annotations

from pathlib import Path

import pytest

from tests.stamen_server import StamenServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    """One real server (subprocess, own data dir) shared by HTTP-level tests."""
    instance = StamenServer(Path(tmp_path_factory.mktemp("stamen-server"))).start()
    yield instance
    instance.stop()
