"""Runs: create (price, charge, commit, then enqueue), lifecycle transitions, reads and listings.

Every transition is a guarded UPDATE (`WHERE status = …`), so two workers can never both own a run,
and terminal states never change again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from stamen.errors import InsufficientCredits, NotFound
from stamen.ids import new_id, now_ms
from stamen.services import idempotency, webhooks
from stamen.services.pagination import decode_cursor, encode_cursor
from stamen.store.models import Run, Workspace

TERMINAL = ("completed", "failed")
RUNS = Run.__table__  # Core statements on hot paths skip the ORM's session synchronisation


@dataclass
class NewRun:
    kind: str  # generation | action | technique
    workspace_id: str
    project_id: str
    target: str  # model id / action id / technique id
    request: dict[str, Any]
    quoted_cost: float = 0.0
    test_mode: bool = False
    callback_url: str | None = None


def create_run(session: Session, new: NewRun, *, idempotency_key: str | None, scope: str, window_seconds: int) -> Run:
    """Insert a pending run, reserving credits and the idempotency key in the same transaction."""
    idempotency.claim(
        session, workspace_id=new.workspace_id, scope=scope, key=idempotency_key, window_seconds=window_seconds
    )
    if new.quoted_cost > 0:
        reserve_credits(session, new.workspace_id, new.quoted_cost)
    values = dict(
        id=new_id("run"),
        kind=new.kind,
        workspace_id=new.workspace_id,
        project_id=new.project_id,
        status="pending",
        progress=0.0,
        created_at=now_ms(),
        target=new.target,
        test_mode=new.test_mode,
        request=new.request,
        quoted_cost=new.quoted_cost,
        callback_url=new.callback_url,
        attempts=0,
    )
    session.execute(insert(Run.__table__), values)  # Core insert: no unit-of-work cost on the hot path
    return Run(**values)  # a transient copy for the response


def reserve_credits(session: Session, workspace_id: str, amount: float) -> None:
    balance = session.scalar(select(Workspace.credit_balance).where(Workspace.id == workspace_id))
    if balance is None:
        return  # unlimited
    if balance < amount:
        raise InsufficientCredits(f"This run costs ${amount:.4f} but the workspace balance is ${balance:.4f}")
    session.execute(
        update(Workspace).where(Workspace.id == workspace_id).values(credit_balance=Workspace.credit_balance - amount)
    )


def refund_credits(session: Session, workspace_id: str, amount: float) -> None:
    if amount > 0:
        session.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id, Workspace.credit_balance.is_not(None))
            .values(credit_balance=Workspace.credit_balance + amount)
        )


def get_run(session: Session, run_id: str, workspace_id: str) -> Run:
    run = session.scalar(select(Run).where(Run.id == run_id))
    if run is None or run.workspace_id != workspace_id:
        raise NotFound(f"run {run_id} not found")
    return run


def list_runs(
    session: Session,
    *,
    kind: str,
    workspace_id: str,
    project_id: str | None,
    status: str | None,
    target: str | None = None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Run], str | None]:
    statement = select(Run).where(Run.workspace_id == workspace_id, Run.kind == kind)
    if project_id:
        statement = statement.where(Run.project_id == project_id)
    if status:
        statement = statement.where(Run.status == status)
    if target:
        statement = statement.where(Run.target == target)
    position = decode_cursor(cursor, keys=("seq",))
    if position is not None:
        statement = statement.where(Run.seq < position["seq"])
    runs = list(session.scalars(statement.order_by(Run.seq.desc()).limit(limit + 1)))
    next_cursor = encode_cursor({"seq": runs[limit - 1].seq}) if len(runs) > limit else None
    return runs[:limit], next_cursor


# ---- lifecycle -------------------------------------------------------------------------------------


def claim(session: Session, run_id: str, *, owner: str, lease_seconds: float) -> Run | None:
    """pending → running for `owner`, with a lease; None if someone else has it or it is terminal."""
    now = now_ms()
    result = session.execute(
        update(RUNS)
        .where(RUNS.c.id == run_id, RUNS.c.status == "pending")
        .values(
            status="running",
            attempts=RUNS.c.attempts + 1,
            lease_owner=owner,
            lease_expires_at=now + int(lease_seconds * 1000),
            started_at=now,
        )
    )
    if result.rowcount != 1:
        return None
    return session.scalar(select(Run).where(Run.id == run_id))


def heartbeat(session: Session, run_id: str, *, owner: str, lease_seconds: float, progress: float | None) -> bool:
    """Extend the lease (and record progress); False if the lease was lost."""
    values: dict[str, Any] = {"lease_expires_at": now_ms() + int(lease_seconds * 1000)}
    if progress is not None:
        values["progress"] = progress
    result = session.execute(
        update(RUNS)
        .where(RUNS.c.id == run_id, RUNS.c.status == "running", RUNS.c.lease_owner == owner)
        .values(**values)
    )
    return result.rowcount == 1


def save_state(session: Session, run_id: str, *, owner: str, state: dict[str, Any]) -> None:
    """Checkpoint handler state (e.g. finished technique nodes) so a retry resumes instead of redoing."""
    session.execute(
        update(RUNS)
        .where(RUNS.c.id == run_id, RUNS.c.status == "running", RUNS.c.lease_owner == owner)
        .values(state=state)
    )


def complete(session: Session, run_id: str, *, owner: str, outputs: list[dict[str, Any]]) -> bool:
    run = session.scalar(select(Run).where(Run.id == run_id))
    if run is None or run.status != "running" or run.lease_owner != owner:
        return False
    run.status = "completed"
    run.progress = 100.0
    run.completed_at = now_ms()
    run.outputs = outputs
    run.charged_cost = run.quoted_cost
    run.lease_owner = None
    run.lease_expires_at = None
    _on_terminal(session, run)
    return True


def fail(session: Session, run_id: str, *, code: str, message: str, owner: str | None = None) -> bool:
    """→ failed with a reason, refunding the quote. `owner` None fails a run in any non-terminal state."""
    run = session.scalar(select(Run).where(Run.id == run_id))
    if run is None or run.status in TERMINAL or (owner is not None and run.lease_owner != owner):
        return False
    run.status = "failed"
    run.progress = 100.0  # as FLORA does; clients branch on status
    run.completed_at = now_ms()
    run.error_code = code
    run.error_message = message[:2000]
    run.charged_cost = 0.0
    run.lease_owner = None
    run.lease_expires_at = None
    refund_credits(session, run.workspace_id, run.quoted_cost)
    _on_terminal(session, run)
    return True


def _on_terminal(session: Session, run: Run) -> None:
    if run.callback_url:
        webhooks.enqueue_for_run(session, run)


def recover_expired_leases(session: Session, *, max_attempts: int) -> list[str]:
    """Runs whose worker stopped heartbeating: back to pending, or failed after `max_attempts`."""
    now = now_ms()
    expired = list(session.scalars(select(Run).where(Run.status == "running", Run.lease_expires_at < now).limit(500)))
    retried: list[str] = []
    for run in expired:
        if run.attempts >= max_attempts:
            fail(
                session,
                run.id,
                code="worker_lost",
                message=f"The worker executing this run stopped {run.attempts} times; giving up",
            )
        else:
            run.status = "pending"
            run.lease_owner = None
            run.lease_expires_at = None
            retried.append(run.id)
    return retried


def expire_leases_of_dead_processes(session: Session, hostname: str) -> int:
    """Expire leases held by processes of this host that no longer exist (e.g. after kill -9 and a
    restart), so their runs are recovered at once instead of after the lease lifetime."""
    import os

    expired = 0
    statement = select(RUNS.c.id, RUNS.c.lease_owner).where(
        RUNS.c.status == "running", RUNS.c.lease_owner.like(f"{hostname}:%")
    )
    for run_id, owner in session.execute(statement).all():
        pid = owner.split(":")[1] if owner.count(":") >= 2 else ""
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still alive: its heartbeat decides
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        session.execute(update(RUNS).where(RUNS.c.id == run_id, RUNS.c.lease_owner == owner).values(lease_expires_at=0))
        expired += 1
    return expired


def pending_run_ids(
    session: Session, *, limit: int = 1000, exclude: set[str] | None = None, older_than_seconds: float = 0
) -> list[str]:
    """Pending runs, oldest first (optionally only those created more than `older_than_seconds` ago)."""
    statement = select(Run.id).where(Run.status == "pending").order_by(Run.seq).limit(limit)
    if older_than_seconds:
        statement = statement.where(Run.created_at < now_ms() - int(older_than_seconds * 1000))
    return [rid for rid in session.scalars(statement) if not exclude or rid not in exclude]
