"""The FastAPI application: contract routes under /api/v1, files, health; the runtime in app.state."""

from __future__ import annotations

import importlib
import mimetypes
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from stamen.api import errors
from stamen.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from stamen.config import Settings
from stamen.runtime import Runtime

API_PREFIX = "/api/v1"
# Route modules under stamen.api.routes mounted at /api/v1 (each exposes `router`).
API_ROUTE_MODULES = (
    "generations",
    "runs",
    "models",
    "workspaces",
    "projects",
    "feedback",
    "actions",
    "assets",
    "techniques",
)

for _type, _ext in (
    ("audio/wav", ".wav"),
    ("video/mp4", ".mp4"),
    ("image/webp", ".webp"),
    ("audio/mp4", ".m4a"),
    ("video/webm", ".webm"),
    ("audio/mpeg", ".mp3"),
    ("video/quicktime", ".mov"),
):
    mimetypes.add_type(_type, _ext)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="Stamen", version="0.1.0", lifespan=lifespan, openapi_url=f"{API_PREFIX}/openapi.json")
    app.state.runtime = runtime
    errors.install(app)

    api = APIRouter(prefix=API_PREFIX)
    for name in API_ROUTE_MODULES:
        api.include_router(importlib.import_module(f"stamen.api.routes.{name}").router)
    app.include_router(api)

    from stamen.api.routes import assets, files

    app.include_router(files.router)
    app.include_router(assets.uploads)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.max_json_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    return app
