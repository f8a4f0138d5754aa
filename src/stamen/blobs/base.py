"""The BlobStore protocol: put a file or bytes under a key, open it, sign a URL for it."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol


class BlobStore(Protocol):
    def put_file(self, key: str, source: Path, *, move: bool = False) -> int:
        """Store a local file under `key`; returns its size in bytes."""
        ...

    def put_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> int:
        """Store a stream without holding it whole in memory; returns bytes written."""
        ...

    def path(self, key: str) -> Path | None:
        """Local path of a stored blob (None if missing or not on local disk)."""
        ...

    def signed_url(self, key: str) -> str:
        """Absolute URL, fetchable without an API key, valid for the configured lifetime."""
        ...

    def delete(self, key: str) -> None: ...
