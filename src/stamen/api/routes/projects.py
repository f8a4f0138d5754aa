"""POST /projects, GET /projects, GET /projects/{projectId}."""

from __future__ import annotations

from fastapi import APIRouter

from stamen.api.deps import IdempotencyKeyDep, PrincipalDep, ReadSession, RuntimeDep
from stamen.api.presenters import project_view
from stamen.api.schemas import ProjectCreateBody
from stamen.errors import InputValidation
from stamen.services import idempotency, projects
from stamen.services.pagination import check_limit

router = APIRouter()


@router.post("/projects", status_code=201)
def create_project(body: ProjectCreateBody, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep):
    with runtime.db.session() as session:
        projects.require_workspace(session, body.workspace_id, principal.workspace_id)
        idempotency.claim_key(session, runtime.settings, workspace_id=body.workspace_id, scope="projects", key=key)
        return project_view(projects.create_project(session, body.workspace_id, body.name))


@router.get("/projects")
def list_projects(
    principal: PrincipalDep,
    session: ReadSession,
    workspace_id: str | None = None,
    query: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
):
    if not workspace_id:
        raise InputValidation.field("workspace_id", "Required")
    projects.require_workspace(session, workspace_id, principal.workspace_id)
    page, next_cursor = projects.list_projects(
        session, workspace_id, query=query or None, cursor=cursor, limit=check_limit(limit)
    )
    return {"projects": [project_view(p) for p in page], "meta": {"next_cursor": next_cursor}}


@router.get("/projects/{project_id}")
def retrieve_project(project_id: str, principal: PrincipalDep, session: ReadSession):
    if not project_id.startswith("prj_"):
        raise InputValidation.field("projectId", "must be an id starting with 'prj_'")
    return project_view(projects.get_project(session, project_id, principal.workspace_id))
