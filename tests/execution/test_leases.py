"""Lease expiry: a run whose worker vanished goes back to pending, then fails after max attempts."""

from __future__ import annotations

from sqlalchemy import update

from stamen.services import runs
from stamen.services.workspaces import create_workspace
from stamen.store.db import Database, migrate
from stamen.store.models import Run


def make_db(tmp_path) -> Database:
    url = f"sqlite:///{tmp_path / 'stamen.db'}"
    migrate(url)
    return Database(url)


def new_run(db: Database, *, quoted_cost: float = 0.0, credits: float | None = None) -> tuple[str, str]:
    with db.session() as session:
        workspace = create_workspace(session, "w", credits=credits)
        run = runs.create_run(
            session,
            runs.NewRun(
                kind="generation",
                workspace_id=workspace.id,
                project_id=workspace.default_project_id,
                target="sim-text",
                request={"prompt": "x"},
                quoted_cost=quoted_cost,
            ),
            idempotency_key=None,
            scope="generate",
            window_seconds=7200,
        )
        return run.id, workspace.id


def expire(db: Database, run_id: str) -> None:
    with db.session() as session:
        session.execute(update(Run).where(Run.id == run_id).values(lease_expires_at=0))


def test_expired_lease_is_retried_then_failed_with_worker_lost(tmp_path):
    db = make_db(tmp_path)
    run_id, _ = new_run(db)
    for attempt in range(1, 4):
        with db.session() as session:
            claimed = runs.claim(session, run_id, owner=f"w{attempt}", lease_seconds=30)
            assert claimed is not None and claimed.attempts == attempt
        expire(db, run_id)
        with db.session() as session:
            runs.recover_expired_leases(session, max_attempts=3)
    with db.session() as session:
        run = runs.get_run(session, run_id, session.get(Run, 1).workspace_id)
        assert run.status == "failed" and run.error_code == "worker_lost"
        assert "3 times" in run.error_message and run.completed_at is not None


def test_only_one_worker_can_claim_and_stale_owner_cannot_complete(tmp_path):
    db = make_db(tmp_path)
    run_id, _ = new_run(db)
    with db.session() as session:
        assert runs.claim(session, run_id, owner="a", lease_seconds=30) is not None
        assert runs.claim(session, run_id, owner="b", lease_seconds=30) is None
    expire(db, run_id)
    with db.session() as session:
        runs.recover_expired_leases(session, max_attempts=3)
        assert runs.claim(session, run_id, owner="b", lease_seconds=30) is not None
    with db.session() as session:
        assert not runs.complete(session, run_id, owner="a", outputs=[])
        assert runs.complete(
            session, run_id, owner="b", outputs=[{"output_id": "output_1", "type": "text", "text": "t"}]
        )
    with db.session() as session:
        assert not runs.fail(session, run_id, code="x", message="terminal states never change")


def test_credits_are_reserved_on_create_and_refunded_on_failure(tmp_path):
    from stamen.errors import InsufficientCredits
    from stamen.store.models import Workspace

    db = make_db(tmp_path)
    run_id, workspace_id = new_run(db, quoted_cost=0.4, credits=1.0)
    with db.session() as session:
        assert session.get(Workspace, workspace_id).credit_balance == 0.6
        try:
            runs.reserve_credits(session, workspace_id, 0.7)
            raise AssertionError("should have refused")
        except InsufficientCredits as error:
            assert error.status == 402
    with db.session() as session:
        runs.fail(session, run_id, code="provider_error", message="boom")
    with db.session() as session:
        assert session.get(Workspace, workspace_id).credit_balance == 1.0
        assert runs.get_run(session, run_id, workspace_id).charged_cost == 0.0
