"""Assets: direct uploads, server-side URL fetches and signed upload reservations (complete/retry)."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamen.errors import Conflict, InputValidation, NotFound, RunFailure
from stamen.ids import new_id, now_ms
from stamen.media.sniff import sniff
from stamen.runtime import Runtime
from stamen.services.pagination import decode_cursor, encode_cursor
from stamen.store.models import Asset

DIRECT_MAX_BYTES = 4 * 1024 * 1024


def iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _new(
    workspace_id: str,
    via: str,
    *,
    content_type: str | None,
    file_name: str | None,
    folder: str | None,
    project_id: str | None,
) -> Asset:
    return Asset(
        id=new_id("asset"),
        workspace_id=workspace_id,
        project_id=project_id,
        status="pending_upload",
        uploaded_via=via,
        upload_content_type=content_type,
        name=file_name,
        folder=folder,
        created_at=now_ms(),
    )


def _accept_file(runtime: Runtime, asset: Asset, path: Path) -> None:
    """Validate the bytes at `path` and store them as the asset's blob (ready), or mark it failed."""
    detected = sniff(path)
    if detected is None:
        asset.status = "failed"
        asset.failure_message = "The file is not a supported image, video, audio or PDF"
        return
    if detected.kind == "image" and (detected.width or 0) * (detected.height or 0) > 150_000_000:
        asset.status = "failed"
        asset.failure_message = "The image is larger than 150 megapixels"
        return
    suffix = {
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "video/mp4": ".mp4",
        "audio/wav": ".wav",
        "audio/mpeg": ".mp3",
        "application/pdf": ".pdf",
        "image/webp": ".webp",
        "image/gif": ".gif",
        "video/quicktime": ".mov",
        "video/webm": ".webm",
        "audio/ogg": ".ogg",
    }.get(detected.content_type, "")
    key = f"assets/{asset.id}{suffix}"
    asset.size_bytes = runtime.blobs.put_file(key, path, move=True)
    asset.blob_key = key
    asset.content_type = detected.content_type
    asset.width, asset.height = detected.width, detected.height
    asset.status = "ready"
    asset.failure_message = None


def create_direct(runtime: Runtime, session: Session, workspace_id: str, stream: BinaryIO, **fields) -> Asset:
    asset = _new(workspace_id, "direct", **fields)
    with tempfile.TemporaryDirectory(dir=runtime.settings.data_dir) as scratch:
        path = Path(scratch) / "upload"
        with open(path, "wb") as out:
            copied = 0
            while chunk := stream.read(1024 * 1024):
                copied += len(chunk)
                if copied > DIRECT_MAX_BYTES:
                    raise InputValidation.field(
                        "file", "direct uploads are limited to 4 MiB; use source 'signed-url' for larger files"
                    )
                out.write(chunk)
        _accept_file(runtime, asset, path)
    if asset.status != "ready":
        raise InputValidation.field("file", asset.failure_message or "unsupported file")
    session.add(asset)
    return asset


async def fetch_url_asset(runtime: Runtime, workspace_id: str, url: str, **fields) -> Asset:
    """Fetch and validate an https source into the BlobStore; the caller saves the (ready) asset."""
    from stamen.services.fetch import fetch_to_file

    asset = _new(workspace_id, "url", **fields)
    with tempfile.TemporaryDirectory(dir=runtime.settings.data_dir) as scratch:
        path = Path(scratch) / "download"
        try:
            await fetch_to_file(
                url,
                path,
                max_bytes=runtime.settings.max_url_asset_bytes,
                timeout=runtime.settings.fetch_timeout_seconds,
                allow_private=runtime.settings.fetch_allow_private,
            )
        except RunFailure as failure:
            raise InputValidation.field("source", failure.message) from None
        _accept_file(runtime, asset, path)
    if asset.status != "ready":
        raise InputValidation.field("source", asset.failure_message or "unsupported file")
    return asset


def reserve(runtime: Runtime, asset: Asset) -> None:
    asset.status = "pending_upload"
    asset.failure_message = None
    asset.upload_token = secrets.token_urlsafe(24)
    asset.upload_expires_at = now_ms() + runtime.settings.upload_window_seconds * 1000


def create_reservation(runtime: Runtime, session: Session, workspace_id: str, **fields) -> Asset:
    asset = _new(workspace_id, "signed_url", **fields)
    reserve(runtime, asset)
    session.add(asset)
    return asset


def upload_url(runtime: Runtime, asset: Asset) -> str:
    return f"{runtime.settings.base_url}/uploads/{asset.upload_token}"


def staged_key(asset: Asset) -> str:
    return f"uploads/{asset.id}"


def receive_upload(runtime: Runtime, token: str, stream: BinaryIO) -> Asset:
    """Bytes PUT to a reservation's upload URL, streamed to the BlobStore (never whole in memory)."""
    from stamen.blobs.local import BlobTooLarge

    with runtime.db.session(write=False) as session:
        asset = session.scalar(select(Asset).where(Asset.upload_token == token))
        if asset is None or asset.status != "pending_upload" or (asset.upload_expires_at or 0) < now_ms():
            raise NotFound("upload target not found or expired")
    try:
        runtime.blobs.put_stream(staged_key(asset), stream, max_bytes=runtime.settings.max_upload_bytes)
    except BlobTooLarge:
        raise InputValidation.field("file", f"larger than {runtime.settings.max_upload_bytes} bytes") from None
    return asset


def complete(runtime: Runtime, session: Session, asset: Asset) -> Asset:
    if asset.status != "pending_upload":
        raise Conflict(f"asset {asset.id} is {asset.status}; only a pending_upload asset can be completed")
    staged = runtime.blobs.path(staged_key(asset))
    if staged is None:
        raise Conflict(f"asset {asset.id} has no uploaded bytes yet; upload to upload_url first")
    with tempfile.TemporaryDirectory(dir=runtime.settings.data_dir) as scratch:
        path = Path(scratch) / "upload"
        shutil.move(staged, path)
        _accept_file(runtime, asset, path)
    asset.upload_token = None
    return asset


def retry(runtime: Runtime, asset: Asset) -> Asset:
    expired = asset.status == "pending_upload" and (asset.upload_expires_at or 0) < now_ms()
    if asset.status != "failed" and not expired:
        raise Conflict(f"asset {asset.id} is {asset.status}; only a failed or expired upload can be retried")
    reserve(runtime, asset)
    return asset


def get_asset(session: Session, asset_id: str, workspace_id: str) -> Asset:
    asset = session.scalar(select(Asset).where(Asset.id == asset_id))
    if asset is None or asset.workspace_id != workspace_id:
        raise NotFound(f"asset {asset_id} not found")
    return asset


def list_assets(
    session: Session, workspace_id: str, *, project_id: str | None, query: str | None, cursor: str | None, limit: int
) -> tuple[list[Asset], str | None]:
    statement = select(Asset).where(Asset.workspace_id == workspace_id)
    if project_id:
        statement = statement.where(Asset.project_id == project_id)
    if query:
        statement = statement.where(Asset.name.ilike(f"%{query}%"))
    position = decode_cursor(cursor, keys=("seq",))
    if position is not None:
        statement = statement.where(Asset.seq < position["seq"])
    assets = list(session.scalars(statement.order_by(Asset.seq.desc()).limit(limit + 1)))
    next_cursor = encode_cursor({"seq": assets[limit - 1].seq}) if len(assets) > limit else None
    return assets[:limit], next_cursor
