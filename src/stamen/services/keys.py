"""API keys: `sk_live_…` / `sk_test_…`, stored as SHA-256 hashes, scoped to one workspace."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamen.errors import InvalidApiKey, NotFound, Unauthorized
from stamen.ids import new_id, now_ms
from stamen.store.db import Database
from stamen.store.models import ApiKey

KEY_PREFIXES = {"live": "sk_live_", "test": "sk_test_"}
CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's workspace, and whether the key is a test-mode key."""

    workspace_id: str
    key_id: str
    test_mode: bool


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mode_of(key: str) -> str | None:
    for mode, prefix in KEY_PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return mode
    return None


def register_key(session: Session, workspace_id: str, key: str, *, name: str | None = None) -> ApiKey:
    mode = mode_of(key)
    if mode is None:
        raise ValueError("an API key must start with sk_live_ or sk_test_")
    record = ApiKey(
        id=new_id("key"),
        workspace_id=workspace_id,
        key_hash=hash_key(key),
        hint=f"{key[:12]}…{key[-4:]}",
        mode=mode,
        name=name,
        created_at=now_ms(),
    )
    session.add(record)
    return record


def create_key(session: Session, workspace_id: str, *, mode: str = "live", name: str | None = None) -> str:
    """Create a key and return its plaintext (shown once; only the hash is stored)."""
    key = KEY_PREFIXES[mode] + secrets.token_urlsafe(24)
    register_key(session, workspace_id, key, name=name)
    return key


def revoke_key(session: Session, key_id: str) -> ApiKey:
    record = session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    if record is None:
        raise NotFound(f"API key {key_id} not found")
    record.revoked_at = record.revoked_at or now_ms()
    return record


class KeyAuthenticator:
    """Resolves a Bearer token to a Principal, caching hits briefly (revocation applies within 2 s)."""

    def __init__(self, db: Database):
        self.db = db
        self._cache: dict[str, tuple[float, Principal]] = {}

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthorized("Missing Authorization header; send 'Authorization: Bearer <api key>'")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidApiKey("Authorization header must be 'Bearer <api key>'")
        if mode_of(token) is None:
            raise InvalidApiKey("Invalid API key: keys start with sk_live_ or sk_test_")
        digest = hash_key(token)
        cached = self._cache.get(digest)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        with self.db.session(write=False) as session:
            record = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
            if record is None or record.revoked_at is not None:
                raise InvalidApiKey("Invalid API key: unknown or revoked")
            principal = Principal(record.workspace_id, record.id, record.mode == "test")
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + CACHE_SECONDS, principal)
        return principal
