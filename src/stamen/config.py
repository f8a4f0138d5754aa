"""Every knob is a STAMEN_* environment variable; defaults give the embedded single-machine setup."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STAMEN_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".stamen")
    public_url: str | None = None  # base for poll_url and output URLs; default http://host:port
    database_url: str | None = None  # default: SQLite (WAL) file in data_dir
    api_key: str | None = None  # registered for the default workspace on first start

    url_ttl_seconds: int = 7 * 24 * 3600  # lifetime of signed output URLs
    idempotency_window_seconds: int = 2 * 3600
    max_json_body_bytes: int = 1 * 1024 * 1024

    webhook_allow_private: bool = False  # allow http:// and private/loopback callback hosts
    fetch_allow_private: bool = False  # allow private/loopback hosts for URL inputs

    executor: Literal["local", "celery"] = "local"  # celery: runs execute in `stamen worker` processes
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    celery_resubmit_after_seconds: float = 60.0  # a run pending this long is submitted again
    worker_concurrency: int = 8  # runs executing at once in one process
    cpu_workers: int = Field(default_factory=lambda: os.cpu_count() or 2)  # CPU-bound handler pool
    lease_seconds: float = 30.0  # a running run's claim expires unless heartbeated
    max_attempts: int = 3  # executions of one run before it fails with worker_lost
    sweep_interval_seconds: float = 2.0

    max_fetch_bytes: int = 2 * 1024**3  # URL inputs of action runs
    fetch_timeout_seconds: float = 120.0
    max_upload_bytes: int = 4 * 1024**3  # signed-reservation uploads
    max_url_asset_bytes: int = 50 * 1024**2  # POST /assets with an https source
    upload_window_seconds: int = 3600  # how long a signed upload reservation stays open

    techniques_dir: Path | None = None  # folder of technique YAML files loaded at start

    default_credits: float | None = None  # balance of new workspaces in USD; None = unlimited

    @field_validator("api_key")
    @classmethod
    def _api_key_prefix(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith(("sk_live_", "sk_test_")) and len(value) > 12):
            raise ValueError("STAMEN_API_KEY must start with sk_live_ or sk_test_ and be longer than 12 characters")
        return value

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/api/v1"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'stamen.db'}"


@functools.cache
def get_settings() -> Settings:
    return Settings()
