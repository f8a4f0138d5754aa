"""Turn a run's bound inputs (asset ids, URLs, text) into local files and strings for its handler."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select

from stamen.errors import RunFailure
from stamen.execution.context import InputValue, RunContext
from stamen.services.fetch import fetch_to_file
from stamen.store.models import Asset

if TYPE_CHECKING:
    from stamen.runtime import Runtime


def _link_or_copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


def local_blob_for_url(runtime: Runtime, url: str) -> Path | None:
    """A URL Stamen itself signed (an earlier output or asset) resolves to its blob without HTTP."""
    parts = urlsplit(url)
    base = urlsplit(runtime.settings.base_url)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.path.startswith("/files/"):
        return None
    key = unquote(parts.path.removeprefix("/files/"))
    query = parse_qs(parts.query)
    expires, signature = query.get("expires", [None])[0], query.get("signature", [None])[0]
    if not runtime.blobs.verify(key, expires, signature):
        raise RunFailure("input_unreachable", "the Stamen file URL is invalid or has expired")
    return runtime.blobs.path(key)


def asset_path(runtime: Runtime, workspace_id: str, asset_id: str) -> Path:
    with runtime.db.session(write=False) as session:
        asset = session.scalar(select(Asset).where(Asset.id == asset_id))
    if asset is None or asset.workspace_id != workspace_id:
        raise RunFailure("input_unreachable", f"asset {asset_id} not found")
    if asset.status != "ready" or not asset.blob_key:
        raise RunFailure("input_unreachable", f"asset {asset_id} is {asset.status}, not ready")
    path = runtime.blobs.path(asset.blob_key)
    if path is None:
        raise RunFailure("input_unreachable", f"asset {asset_id} has no stored bytes")
    return path


async def resolve_one(runtime: Runtime, workspace_id: str, item: dict[str, Any], target: Path) -> InputValue:
    kind = item["type"]
    if kind == "text":
        return InputValue(type="text", text=item.get("text") or "", name=item.get("name"))
    reference = item["url"]
    suffix = Path(urlsplit(reference).path).suffix[:10]
    target = target.with_suffix(suffix) if suffix else target
    if reference.startswith("asset_"):
        source = await asyncio.to_thread(asset_path, runtime, workspace_id, reference)
        path = await asyncio.to_thread(_link_or_copy, source, target.with_suffix(source.suffix))
    elif (local := local_blob_for_url(runtime, reference)) is not None:
        path = await asyncio.to_thread(_link_or_copy, local, target.with_suffix(local.suffix))
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        await fetch_to_file(
            reference,
            target,
            max_bytes=runtime.settings.max_fetch_bytes,
            timeout=runtime.settings.fetch_timeout_seconds,
            allow_private=runtime.settings.fetch_allow_private,
        )
        path = target
    return InputValue(type=kind, path=path, name=item.get("name"))


async def resolve_action_inputs(
    runtime: Runtime, workspace_id: str, bound: dict[str, list[dict[str, Any]]], ctx: RunContext
) -> dict[str, list[InputValue]]:
    """Fetch every input concurrently into the run's scratch dir, keeping slot order."""
    jobs = []
    for slot, items in bound.items():
        for index, item in enumerate(items):
            jobs.append((slot, resolve_one(runtime, workspace_id, item, ctx.workdir / "inputs" / f"{slot}_{index}")))
    values = await asyncio.gather(*(job for _, job in jobs))
    resolved: dict[str, list[InputValue]] = {slot: [] for slot in bound}
    for (slot, _), value in zip(jobs, values, strict=True):
        resolved[slot].append(value)
    return resolved


INLINE_MAX_BYTES = 20 * 1024 * 1024


def _data_uri(path: Path) -> str:
    import base64
    import mimetypes

    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{content_type};base64,{base64.b64encode(path.read_bytes()).decode()}"


def inline_model_references(runtime: Runtime, workspace_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Model params naming media (`*_url`, `*_urls`) may hold asset ids or Stamen's own output URLs; a
    provider cannot reach those, so they become data: URIs (large files keep their signed URL, which
    providers reach through STAMEN_PUBLIC_URL)."""

    def resolve(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.startswith("asset_"):
            path = asset_path(runtime, workspace_id, value)
        else:
            path = local_blob_for_url(runtime, value)
            if path is None:
                return value
        if path.stat().st_size > INLINE_MAX_BYTES:
            return value if not value.startswith("asset_") else runtime.blobs.signed_url(
                str(path.relative_to(runtime.blobs.root))
            )
        return _data_uri(path)

    resolved = dict(params)
    for name, value in params.items():
        if name.endswith("_url"):
            resolved[name] = resolve(value)
        elif name.endswith("_urls") and isinstance(value, list):
            resolved[name] = [resolve(v) for v in value]
    return resolved
