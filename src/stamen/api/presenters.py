"""Shape stored records into contract responses (absent data is an omitted key, never null)."""

from __future__ import annotations

from typing import Any

from stamen.blobs.base import BlobStore
from stamen.store.models import Project, Run, Workspace


def output_views(run: Run, blobs: BlobStore) -> list[dict[str, str]]:
    views = []
    for output in run.outputs or []:
        url = output["text"] if output["type"] == "text" else blobs.signed_url(output["key"])
        views.append({"output_id": output["output_id"], "type": output["type"], "url": url})
    return views


def run_view(run: Run, blobs: BlobStore, api_base: str) -> dict[str, Any]:
    """`GenerationRetrieveResponse` / technique `Run`."""
    view: dict[str, Any] = {
        "run_id": run.id,
        "status": run.status,
        "progress": round(run.progress, 2),
        "created_at": run.created_at,
    }
    if run.started_at is not None:
        view["started_at"] = run.started_at
    if run.completed_at is not None:
        view["completed_at"] = run.completed_at
    if run.charged_cost is not None:
        view["charged_cost"] = run.charged_cost
    if run.status == "failed":
        view["error_code"] = run.error_code or "internal_error"
        view["error_message"] = run.error_message or "The run failed"
    if run.status == "completed":
        view["outputs"] = output_views(run, blobs)
    view["poll_url"] = f"{api_base}/runs/{run.id}"
    return view


def generation_list_item(run: Run, blobs: BlobStore, api_base: str) -> dict[str, Any]:
    view = run_view(run, blobs, api_base)
    view["generation_id"] = run.id
    view["workspace_id"] = run.workspace_id
    view["project_id"] = run.project_id
    view["model"] = {"model_id": run.target}
    return view


def run_created(run: Run, api_base: str, *, estimated_seconds: int | None, extra: dict[str, Any]) -> dict[str, Any]:
    """`GenerationCreateResponse` / `ActionRunResponse` / `RunStartTechniqueResponse`."""
    return {
        "run_id": run.id,
        "type": run.kind,
        "estimated_seconds": estimated_seconds,
        "charged_cost": run.quoted_cost,
        "poll_url": f"{api_base}/runs/{run.id}",
        "project_id": run.project_id,
        **extra,
    }


def project_view(project: Project) -> dict[str, Any]:
    return {
        "project_id": project.id,
        "workspace_id": project.workspace_id,
        "name": project.name,
        "origin": project.origin,
        "created_at": project.created_at,
        "last_modified": project.last_modified,
    }


def workspace_view(workspace: Workspace) -> dict[str, Any]:
    return {"workspace_id": workspace.id, "name": workspace.name, "role": "owner", "created_at": workspace.created_at}
