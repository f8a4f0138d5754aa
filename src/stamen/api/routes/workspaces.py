"""GET /workspaces and the workspace-scoped project create."""

from __future__ import annotations

from fastapi import APIRouter

from stamen.api.deps import IdempotencyKeyDep, PrincipalDep, ReadSession, RuntimeDep
from stamen.api.presenters import project_view, workspace_view
from stamen.api.schemas import WorkspaceProjectCreateBody
from stamen.services import idempotency, projects
from stamen.services.workspaces import list_workspaces

router = APIRouter()


@router.get("/workspaces")
def get_workspaces(principal: PrincipalDep, session: ReadSession):
    return {"workspaces": [workspace_view(w) for w in list_workspaces(session, principal.workspace_id)]}


@router.post("/workspaces/{workspace_id}/projects", status_code=201)
def create_workspace_project(
    workspace_id: str,
    body: WorkspaceProjectCreateBody,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    key: IdempotencyKeyDep,
):
    with runtime.db.session() as session:
        projects.require_workspace(session, workspace_id, principal.workspace_id)
        scope = f"workspaces/{workspace_id}/projects"
        idempotency.claim_key(session, runtime.settings, workspace_id=workspace_id, scope=scope, key=key)
        return project_view(projects.create_project(session, workspace_id, body.name))
