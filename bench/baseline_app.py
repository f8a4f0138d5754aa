"""Baseline for bench/api.py: a bare Starlette app doing one SQLite insert (POST) or select (GET)."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.routing import Route

DB_PATH = os.environ.get("BASELINE_DB", "/tmp/stamen-baseline.db")
_local = threading.local()


def connection() -> sqlite3.Connection:
    if not hasattr(_local, "db"):
        _local.db = sqlite3.connect(DB_PATH, isolation_level=None, timeout=30)
        _local.db.execute("PRAGMA journal_mode=WAL")
        _local.db.execute("PRAGMA synchronous=NORMAL")
        _local.db.execute("CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, status TEXT, body TEXT)")
    return _local.db


def insert(body: bytes) -> str:
    run_id = "run_" + uuid.uuid4().hex
    connection().execute("INSERT INTO runs VALUES (?, 'pending', ?)", (run_id, body.decode()))
    return run_id


def select(run_id: str):
    return connection().execute("SELECT id, status FROM runs WHERE id = ?", (run_id,)).fetchone()


async def create(request):
    run_id = await run_in_threadpool(insert, await request.body())
    return JSONResponse({"run_id": run_id}, status_code=201)


async def retrieve(request):
    row = await run_in_threadpool(select, request.path_params["run_id"])
    return JSONResponse({"run_id": row[0], "status": row[1]})


app = Starlette(routes=[Route("/generate", create, methods=["POST"]), Route("/runs/{run_id}", retrieve)])
