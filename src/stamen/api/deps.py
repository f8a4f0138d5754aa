"""Request dependencies: the runtime, the caller (API key), a DB session, the idempotency key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from stamen.runtime import Runtime
from stamen.services import idempotency
from stamen.services.keys import Principal


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    return request.app.state.runtime.keys.authenticate(authorization)


def authenticate(request: Request) -> Principal:
    """The caller of a hot-path route that takes `request` only (skips dependency solving)."""
    return request.app.state.runtime.keys.authenticate(request.headers.get("authorization"))


def read_session(request: Request) -> Iterator[Session]:
    with request.app.state.runtime.db.session(write=False) as session:
        yield session


async def idempotency_key(idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> str | None:
    return idempotency.check_key(idempotency_key)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ReadSession = Annotated[Session, Depends(read_session)]
IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]
