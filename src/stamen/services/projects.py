"""Projects: create, read, list (most recent activity first)."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from stamen.errors import NotFound
from stamen.ids import new_id, now_ms
from stamen.services.pagination import decode_cursor, encode_cursor
from stamen.store.models import Project, Workspace


def require_workspace(session: Session, workspace_id: str, caller_workspace_id: str) -> Workspace:
    """The caller's own workspace, or 404 (other workspaces are indistinguishable from missing ones)."""
    workspace = session.get(Workspace, workspace_id) if workspace_id == caller_workspace_id else None
    if workspace is None:
        raise NotFound(f"workspace {workspace_id} not found")
    return workspace


def create_project(session: Session, workspace_id: str, name: str) -> Project:
    project = Project(
        id=new_id("prj"),
        workspace_id=workspace_id,
        name=name,
        origin="api",
        created_at=now_ms(),
        last_modified=None,
    )
    session.add(project)
    return project


def get_project(session: Session, project_id: str, caller_workspace_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None or project.workspace_id != caller_workspace_id:
        raise NotFound(f"project {project_id} not found")
    return project


def touch_owned(session: Session, workspace_id: str, project_id: str, caller_workspace_id: str) -> None:
    """Mark activity on a project of the caller's workspace, or 404: one statement for run-creating hot paths."""
    if workspace_id != caller_workspace_id:
        raise NotFound(f"workspace {workspace_id} not found")
    table = Project.__table__
    result = session.execute(
        update(table)
        .where(table.c.id == project_id, table.c.workspace_id == caller_workspace_id)
        .values(last_modified=now_ms())
    )
    if result.rowcount != 1:
        raise NotFound(f"project {project_id} not found")


def touch(session: Session, project_id: str) -> None:
    table = Project.__table__  # Core statement: no ORM session synchronisation on the hot path
    session.execute(update(table).where(table.c.id == project_id).values(last_modified=now_ms()))


def list_projects(
    session: Session, workspace_id: str, *, query: str | None, cursor: str | None, limit: int
) -> tuple[list[Project], str | None]:
    activity = func.coalesce(Project.last_modified, Project.created_at)
    statement = select(Project, activity.label("activity")).where(Project.workspace_id == workspace_id)
    if query:
        statement = statement.where(Project.name.ilike(f"%{query}%"))
    position = decode_cursor(cursor, keys=("activity", "id"))
    if position is not None:
        statement = statement.where(
            or_(activity < position["activity"], (activity == position["activity"]) & (Project.id < position["id"]))
        )
    rows = session.execute(statement.order_by(activity.desc(), Project.id.desc()).limit(limit + 1)).all()
    projects = [row[0] for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"activity": last[1], "id": last[0].id})
    return projects, next_cursor
