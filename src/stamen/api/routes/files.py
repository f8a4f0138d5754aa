"""GET /files/{key}: blobs at signed, expiring URLs (no API key), with Range support."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter
from fastapi.responses import FileResponse

from stamen.api.deps import RuntimeDep
from stamen.errors import Forbidden, NotFound

router = APIRouter()


@router.api_route("/files/{key:path}", methods=["GET", "HEAD"])
def serve_file(key: str, runtime: RuntimeDep, expires: str | None = None, signature: str | None = None):
    if not runtime.blobs.verify(key, expires, signature):
        raise Forbidden("This file URL is invalid or has expired; fetch the run again for a fresh URL")
    path = runtime.blobs.path(key)
    if path is None:
        raise NotFound("file not found")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})
