"""Outbound run webhooks: validated targets, persisted deliveries, signed attempts with retries.

A delivery row is written in the same transaction that makes the run terminal, so a crash cannot drop
it; the dispatcher sends due deliveries, signing each attempt with a fresh timestamp over identical bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from stamen.errors import InputValidation
from stamen.ids import new_id, now_ms
from stamen.net import check_public_host
from stamen.store.db import Database
from stamen.store.models import Run, WebhookDelivery, Workspace

log = logging.getLogger(__name__)

API_VERSION = "2026-06-11"
RETRY_DELAYS_SECONDS = (10, 60, 300)  # after the first attempt
TIMEOUT_SECONDS = 10.0
CLAIM_SECONDS = 60  # a dispatcher owns a due delivery this long while sending it


def validate_callback_url(url: str, *, allow_private: bool) -> str:
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise InputValidation.field("callback_url", "must be an absolute https:// URL")
    if not allow_private:
        problem = check_public_host(parts.hostname)
        if problem:
            raise InputValidation.field("callback_url", f"must point to a public host ({problem})")
    return url


def sign(secret: str, body: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def enqueue_for_run(session: Session, run: Run) -> WebhookDelivery:
    event = "run.completed" if run.status == "completed" else "run.failed"
    delivery_id = new_id("whd")
    data: dict = {
        "run_id": run.id,
        "run_type": "technique" if run.kind == "technique" else "generation",
        "workspace_id": run.workspace_id,
        "status": run.status,
    }
    if run.status == "failed":
        data["error_code"] = run.error_code
        data["error_message"] = run.error_message
    envelope = {"id": delivery_id, "type": event, "api_version": API_VERSION, "created_at": now_ms(), "data": data}
    delivery = WebhookDelivery(
        id=delivery_id,
        run_id=run.id,
        workspace_id=run.workspace_id,
        url=run.callback_url,
        event=event,
        body=json.dumps(envelope, separators=(",", ":")),
        status="pending",
        attempts=0,
        next_attempt_at=now_ms(),
        created_at=now_ms(),
    )
    session.add(delivery)
    return delivery


class WebhookDispatcher:
    """Sends due deliveries; safe to run in several processes (deliveries are claimed before sending)."""

    def __init__(self, db: Database, *, poll_seconds: float = 1.0):
        self.db = db
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)

    def nudge(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:  # keep dispatching whatever one bad row does
                log.exception("webhook dispatch pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _claim_due(self) -> list[tuple[WebhookDelivery, str]]:
        now = now_ms()
        with self.db.session() as session:
            due = list(
                session.scalars(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                    .limit(50)
                )
            )
            claimed = []
            for delivery in due:
                result = session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery.id, WebhookDelivery.next_attempt_at == delivery.next_attempt_at
                    )
                    .values(next_attempt_at=now + CLAIM_SECONDS * 1000)
                )
                if result.rowcount == 1:
                    secret = session.scalar(
                        select(Workspace.webhook_secret).where(Workspace.id == delivery.workspace_id)
                    )
                    claimed.append((delivery, secret or ""))
            return claimed

    async def deliver_due(self) -> int:
        claimed = await asyncio.to_thread(self._claim_due)
        await asyncio.gather(*(self._attempt(delivery, secret) for delivery, secret in claimed))
        return len(claimed)

    async def _attempt(self, delivery: WebhookDelivery, secret: str) -> None:
        headers = {
            "Content-Type": "application/json",
            "Flora-Signature": sign(secret, delivery.body, int(time.time())),
            "Flora-Webhook-Id": delivery.id,
            "Flora-Event": delivery.event,
            "User-Agent": "Stamen-Webhooks/1",
        }
        error: str | None = None
        try:
            response = await self._client.post(delivery.url, content=delivery.body.encode(), headers=headers)
            if not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = delivery.attempts + 1
        values: dict = {"attempts": attempts, "last_error": error}
        if error is None:
            values["status"] = "delivered"
        elif attempts > len(RETRY_DELAYS_SECONDS):
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = now_ms() + RETRY_DELAYS_SECONDS[attempts - 1] * 1000
        await asyncio.to_thread(self._record, delivery.id, values)

    def _record(self, delivery_id: str, values: dict) -> None:
        with self.db.session() as session:
            session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))
