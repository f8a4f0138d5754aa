"""POST /feedback: stored for the operator (`stamen feedback` lists it)."""

from __future__ import annotations

from fastapi import APIRouter

from stamen.api.deps import IdempotencyKeyDep, PrincipalDep, RuntimeDep
from stamen.api.schemas import FeedbackBody
from stamen.ids import new_id, now_ms
from stamen.services import idempotency, projects
from stamen.store.models import Feedback

router = APIRouter()


@router.post("/feedback", status_code=201)
def record_feedback(body: FeedbackBody, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep):
    with runtime.db.session() as session:
        if body.workspace_id:
            projects.require_workspace(session, body.workspace_id, principal.workspace_id)
        idempotency.claim_key(session, runtime.settings, workspace_id=principal.workspace_id, scope="feedback", key=key)
        feedback = Feedback(
            id=new_id("fb"),
            workspace_id=principal.workspace_id,
            kind=body.kind,
            summary=body.summary,
            detail=body.detail,
            body=body.model_dump(exclude_none=True),
            received_at=now_ms(),
        )
        session.add(feedback)
        return {"feedback_id": feedback.id, "received_at": feedback.received_at}
