"""Blobs as files under the data dir, served by the API at HMAC-signed, expiring URLs."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import time
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

CHUNK_BYTES = 1024 * 1024


class BlobTooLarge(Exception):
    pass


class LocalBlobStore:
    def __init__(self, root: Path, *, base_url: str, secret: bytes, ttl_seconds: int):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.ttl_seconds = ttl_seconds

    def _target(self, key: str) -> Path:
        target = (self.root / key).resolve()
        if self.root.resolve() not in target.parents:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return target

    def put_file(self, key: str, source: Path, *, move: bool = False) -> int:
        target = self._target(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        if move:
            shutil.move(source, partial)
        else:
            shutil.copyfile(source, partial)
        os.replace(partial, target)
        return target.stat().st_size

    def put_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> int:
        target = self._target(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        written = 0
        try:
            with open(partial, "wb") as out:
                while chunk := stream.read(CHUNK_BYTES):
                    written += len(chunk)
                    if max_bytes is not None and written > max_bytes:
                        raise BlobTooLarge(f"larger than {max_bytes} bytes")
                    out.write(chunk)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return written

    def path(self, key: str) -> Path | None:
        target = self._target(key)
        return target if target.is_file() else None

    def delete(self, key: str) -> None:
        self._target(key).unlink(missing_ok=True)

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_url(self, key: str) -> str:
        # Expiry is rounded up to the hour so repeated polls return the same URL.
        expires = (int(time.time() + self.ttl_seconds) // 3600 + 1) * 3600
        return f"{self.base_url}/files/{quote(key)}?expires={expires}&signature={self._signature(key, expires)}"

    def verify(self, key: str, expires: str | None, signature: str | None) -> bool:
        if not expires or not signature or not expires.isdigit():
            return False
        if int(expires) < time.time():
            return False
        return hmac.compare_digest(self._signature(key, int(expires)), signature)
