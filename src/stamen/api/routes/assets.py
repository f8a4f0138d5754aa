"""Assets: POST /assets (multipart direct, https fetch, signed reservation), complete, retry, reads;
plus the reservation upload target PUT /uploads/{token} (outside /api/v1, no API key: the token is the key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool

from stamen.api.deps import IdempotencyKeyDep, PrincipalDep, RuntimeDep
from stamen.api.schemas import Closed, ProjectId, WorkspaceId
from stamen.errors import FieldError, InputValidation, InvalidJson, StamenError
from stamen.services import assets, idempotency, projects
from stamen.services.pagination import check_limit
from stamen.store.models import Asset

router = APIRouter()
uploads = APIRouter()

Text500 = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class AssetFields(Closed):
    model_config = {**Closed.model_config, "strict": False}
    workspace_id: WorkspaceId
    content_type: Text500 | None = None
    file_name: Text500 | None = None
    folder: Text500 | None = None
    project_id: ProjectId | None = None


class AssetJsonBody(AssetFields):
    model_config = {**Closed.model_config}
    source: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


def _validated(model: type[Closed], data: Any) -> Closed:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InputValidation.many(
            [
                FieldError(
                    ".".join(str(p) for p in e["loc"]) or "body",
                    "Required" if e["type"] == "missing" else e["msg"].removeprefix("Value error, "),
                )
                for e in error.errors()
            ]
        ) from None


def asset_url(runtime, asset: Asset) -> str | None:
    return runtime.blobs.signed_url(asset.blob_key) if asset.blob_key and asset.status == "ready" else None


def created_view(runtime, asset: Asset) -> dict:
    view = {
        "asset_id": asset.id,
        "status": asset.status,
        "uploaded_via": asset.uploaded_via,
        "url": asset_url(runtime, asset) or f"{runtime.settings.api_base_url}/assets/{asset.id}",
        "visibility": "workspace",
        "workspace_id": asset.workspace_id,
    }
    if asset.status == "pending_upload":
        view["expires_at"] = assets.iso(asset.upload_expires_at)
        view["upload_url"] = assets.upload_url(runtime, asset)
    return view


def state_view(runtime, asset: Asset) -> dict:
    view = {
        "asset_id": asset.id,
        "status": asset.status,
        "url": asset_url(runtime, asset),
        "visibility": "workspace",
        "workspace_id": asset.workspace_id,
        "failure_message": asset.failure_message,
    }
    if asset.status == "pending_upload":
        view["expires_at"] = assets.iso(asset.upload_expires_at)
        view["upload_url"] = assets.upload_url(runtime, asset)
    return view


def retrieve_view(runtime, asset: Asset) -> dict:
    return {
        "asset_id": asset.id,
        "status": asset.status,
        "uploaded_via": asset.uploaded_via,
        "content_type": asset.content_type or asset.upload_content_type or "application/octet-stream",
        "created_at": assets.iso(asset.created_at),
        "name": asset.name,
        "description": asset.description,
        "failure_message": asset.failure_message,
        "width": asset.width,
        "height": asset.height,
        "size_bytes": asset.size_bytes,
        "upload_content_type": asset.upload_content_type,
        "url": asset_url(runtime, asset),
        "workspace_id": asset.workspace_id,
    }


def list_view(runtime, asset: Asset) -> dict:
    view = retrieve_view(runtime, asset)
    view.pop("failure_message")
    view["created_at"] = asset.created_at
    view["project_id"] = asset.project_id
    return view


@router.post("/assets", status_code=201)
async def create_asset(request: Request, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep):
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        fields = _validated(AssetFields, {k: v for k, v in form.items() if k != "file"})
        if upload is None or isinstance(upload, str):
            raise InputValidation.field("file", "Required: a file part named 'file'")
        extra = {
            "content_type": fields.content_type or upload.content_type,
            "file_name": fields.file_name or upload.filename,
            "folder": fields.folder,
            "project_id": fields.project_id,
        }

        def store() -> dict:
            with runtime.db.session() as session:
                _authorize_creation(session, runtime, principal, fields.workspace_id, fields.project_id, key)
                asset = assets.create_direct(runtime, session, fields.workspace_id, upload.file, **extra)
                return created_view(runtime, asset)

        return await run_in_threadpool(store)
    try:
        data = await request.json()
    except ValueError:
        raise InvalidJson("Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidJson("Request body must be a JSON object")
    body = _validated(AssetJsonBody, data)
    extra = {
        "content_type": body.content_type,
        "file_name": body.file_name,
        "folder": body.folder,
        "project_id": body.project_id,
    }
    if body.source == "signed-url":

        def reserve() -> dict:
            with runtime.db.session() as session:
                _authorize_creation(session, runtime, principal, body.workspace_id, body.project_id, key)
                return created_view(runtime, assets.create_reservation(runtime, session, body.workspace_id, **extra))

        return await run_in_threadpool(reserve)
    if not body.source.startswith(("https://", "http://")):
        raise InputValidation.field("source", "must be 'signed-url' or an https:// URL")

    def authorize() -> None:
        with runtime.db.session(write=False) as session:
            _authorize(session, principal, body.workspace_id, body.project_id)

    await run_in_threadpool(authorize)  # before fetching anything for the caller
    asset = await assets.fetch_url_asset(runtime, body.workspace_id, body.source, **extra)

    def store() -> dict:
        # The key is claimed in the transaction that saves the asset, so a failed fetch releases it.
        try:
            with runtime.db.session() as session:
                _authorize_creation(session, runtime, principal, body.workspace_id, body.project_id, key)
                session.add(asset)
        except StamenError:
            runtime.blobs.delete(asset.blob_key)
            raise
        return created_view(runtime, asset)

    return await run_in_threadpool(store)


def _authorize(session, principal, workspace_id: str, project_id: str | None) -> None:
    """The caller may write to the workspace (and project), else 404."""
    projects.require_workspace(session, workspace_id, principal.workspace_id)
    if project_id:
        projects.get_project(session, project_id, principal.workspace_id)


def _authorize_creation(
    session, runtime, principal, workspace_id: str, project_id: str | None, key: str | None
) -> None:
    """POST /assets: the caller may write to the workspace (and project), and claims the Idempotency-Key."""
    _authorize(session, principal, workspace_id, project_id)
    idempotency.claim_key(session, runtime.settings, workspace_id=workspace_id, scope="assets", key=key)


def _claimed_asset(session, runtime, principal, asset_id: str, operation: str, key: str | None) -> Asset:
    """The caller's asset, with the Idempotency-Key claimed for `assets/{asset_id}/{operation}`."""
    asset = assets.get_asset(session, asset_id, principal.workspace_id)
    idempotency.claim_key(
        session, runtime.settings, workspace_id=principal.workspace_id, scope=f"assets/{asset_id}/{operation}", key=key
    )
    return asset


def _check_id(asset_id: str) -> None:
    if not asset_id.startswith("asset_") or len(asset_id) <= 6:
        raise InputValidation.field("assetId", "must be an id starting with 'asset_'")


@router.post("/assets/{asset_id}/complete")
def complete_asset(asset_id: str, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep):
    _check_id(asset_id)
    with runtime.db.session() as session:
        asset = _claimed_asset(session, runtime, principal, asset_id, "complete", key)
        return state_view(runtime, assets.complete(runtime, session, asset))


@router.post("/assets/{asset_id}/retry")
def retry_asset(asset_id: str, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep):
    _check_id(asset_id)
    with runtime.db.session() as session:
        asset = _claimed_asset(session, runtime, principal, asset_id, "retry", key)
        return state_view(runtime, assets.retry(runtime, asset))


@router.get("/assets/{asset_id}")
def retrieve_asset(asset_id: str, runtime: RuntimeDep, principal: PrincipalDep):
    _check_id(asset_id)
    with runtime.db.session(write=False) as session:
        return retrieve_view(runtime, assets.get_asset(session, asset_id, principal.workspace_id))


@router.get("/assets")
def list_assets(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    workspace_id: str | None = None,
    project_id: str | None = None,
    query: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
):
    with runtime.db.session(write=False) as session:
        if workspace_id:
            projects.require_workspace(session, workspace_id, principal.workspace_id)
        page, next_cursor = assets.list_assets(
            session,
            principal.workspace_id,
            project_id=project_id or None,
            query=query or None,
            cursor=cursor,
            limit=check_limit(limit),
        )
        return {"assets": [list_view(runtime, a) for a in page], "meta": {"next_cursor": next_cursor}}


class _RequestStream:
    """A blocking file-like view of the ASGI request body, read from a worker thread chunk by chunk."""

    def __init__(self, request: Request, loop):
        self._iterator = request.stream().__aiter__()
        self._loop = loop
        self._buffer = b""
        self._done = False

    def read(self, size: int = -1) -> bytes:
        import asyncio

        while not self._done and (size < 0 or len(self._buffer) < size):
            try:
                chunk = asyncio.run_coroutine_threadsafe(self._iterator.__anext__(), self._loop).result()
            except StopAsyncIteration:
                self._done = True
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


@uploads.put("/uploads/{token}")
async def upload_bytes(token: str, request: Request, runtime: RuntimeDep):
    import asyncio

    stream = _RequestStream(request, asyncio.get_running_loop())
    asset = await run_in_threadpool(assets.receive_upload, runtime, token, stream)
    return {"asset_id": asset.id, "status": "uploaded", "next": f"POST /api/v1/assets/{asset.id}/complete"}
