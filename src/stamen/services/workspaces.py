"""Workspaces and the first-start bootstrap (default workspace, project and API key)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamen.ids import new_id, now_ms
from stamen.services import keys
from stamen.store.models import ApiKey, Project, Workspace


@dataclass
class Bootstrap:
    workspace_id: str
    project_id: str
    new_api_key: str | None  # plaintext, only when created on this start


def create_workspace(session: Session, name: str, *, credits: float | None = None) -> Workspace:
    workspace = Workspace(
        id=new_id("ws"),
        name=name,
        created_at=now_ms(),
        webhook_secret="whsec_" + secrets.token_urlsafe(32),
        credit_balance=credits,
    )
    session.add(workspace)
    session.flush()
    project = Project(
        id=new_id("prj"),
        workspace_id=workspace.id,
        name="Default project",
        origin="api",
        created_at=now_ms(),
        last_modified=None,
    )
    session.add(project)
    workspace.default_project_id = project.id
    return workspace


def ensure_bootstrap(session: Session, *, api_key: str | None, credits: float | None) -> Bootstrap:
    """First start: one workspace + project + key. `api_key` (STAMEN_API_KEY) is registered if new."""
    workspace = session.scalar(select(Workspace).order_by(Workspace.created_at).limit(1))
    new_key: str | None = None
    if workspace is None:
        workspace = create_workspace(session, "Default workspace", credits=credits)
        session.flush()
        if api_key is None:
            new_key = keys.create_key(session, workspace.id, mode="live", name="first start")
    if api_key is not None:
        existing = session.scalar(select(ApiKey).where(ApiKey.key_hash == keys.hash_key(api_key)))
        if existing is None:
            keys.register_key(session, workspace.id, api_key, name="STAMEN_API_KEY")
    return Bootstrap(workspace.id, workspace.default_project_id or "", new_key)


def list_workspaces(session: Session, workspace_id: str) -> list[Workspace]:
    return list(session.scalars(select(Workspace).where(Workspace.id == workspace_id)))
