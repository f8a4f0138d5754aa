"""Wire models for request bodies: closed objects with the contract's field rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def prefixed(prefix: str):
    def check(value: str) -> str:
        if not value.startswith(prefix) or len(value) == len(prefix) or any(c.isspace() for c in value):
            raise ValueError(f"must be an id starting with '{prefix}'")
        return value

    return AfterValidator(check)


WorkspaceId = Annotated[str, prefixed("ws_")]
ProjectId = Annotated[str, prefixed("prj_")]
RunId = Annotated[str, prefixed("run_")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
GenerationType = Literal["image", "video", "audio", "text"]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class GenerateBody(Closed):
    type: GenerationType
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    workspace_id: WorkspaceId
    project_id: ProjectId
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    params: dict[str, Any] | None = None
    callback_url: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None


class ProjectCreateBody(Closed):
    name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    workspace_id: WorkspaceId


class WorkspaceProjectCreateBody(Closed):
    name: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class FeedbackBody(Closed):
    kind: Literal["feature_request", "bug", "technique_request", "missing_capability"]
    summary: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    detail: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    attempted_tools: list[str] | None = None
    workspace_id: WorkspaceId | None = None
    project_id: ProjectId | None = None
    run_id: RunId | None = None


class ActionInputBody(Closed):
    type: Literal["image", "video", "audio", "text"]
    url: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    text: str | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class ActionRunBody(Closed):
    action_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    workspace_id: WorkspaceId
    project_id: ProjectId
    inputs: Annotated[list[ActionInputBody], Field(min_length=1, max_length=100)]
    params: dict[str, Any] | None = None
