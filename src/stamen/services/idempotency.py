"""`Idempotency-Key`: a duplicate blocker per workspace + operation, inside the creating transaction.

The key row is inserted in the same transaction as the resource it guards, so a request that fails
(any non-2xx) rolls back and releases its key, and of two concurrent duplicates exactly one commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stamen.errors import IdempotencyDuplicate, InputValidation
from stamen.ids import now_ms
from stamen.store.models import IdempotencyKey

if TYPE_CHECKING:
    from stamen.config import Settings

MAX_KEY_LENGTH = 255


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InputValidation.field("Idempotency-Key", f"must be 1–{MAX_KEY_LENGTH} characters")
    return key


def claim(session: Session, *, workspace_id: str, scope: str, key: str | None, window_seconds: int) -> None:
    """Reserve `key` for this request or raise IdempotencyDuplicate (409, not retryable)."""
    if key is None:
        return
    now = now_ms()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.workspace_id == workspace_id,
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at < now - window_seconds * 1000,
        )
    )
    try:
        with session.begin_nested():
            session.add(IdempotencyKey(workspace_id=workspace_id, scope=scope, key=key, created_at=now))
    except IntegrityError:
        raise IdempotencyDuplicate(
            f"Idempotency-Key {key!r} was already used for this operation within the last {window_seconds // 3600} h",
            headers={"x-should-retry": "false"},
        ) from None


def claim_key(session: Session, settings: Settings, *, workspace_id: str, scope: str, key: str | None) -> None:
    """`claim` over the window the settings configure (`idempotency_window_seconds`)."""
    claim(session, workspace_id=workspace_id, scope=scope, key=key, window_seconds=settings.idempotency_window_seconds)
