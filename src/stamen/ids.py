"""Prefixed random identifiers (`run_…`, `prj_…`) as the contract spells them."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str, nbytes: int = 12) -> str:
    return f"{prefix}_{secrets.token_urlsafe(nbytes).replace('-', 'x').replace('_', 'y')}"


def now_ms() -> int:
    return int(time.time() * 1000)
