"""Webhook deliveries: signed envelope, persisted rows, retries on failure with fresh signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select, update

from stamen.ids import now_ms
from stamen.services import runs
from stamen.services.webhooks import WebhookDispatcher
from stamen.store.models import WebhookDelivery, Workspace
from tests.execution.test_leases import make_db, new_run


class Receiver:
    def __init__(self, statuses: list[int]):
        self.statuses = statuses
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"


@pytest.fixture
def receiver():
    instance = Receiver([500])
    yield instance
    instance.httpd.shutdown()


def verify(secret: str, headers: dict, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in headers["Flora-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


async def test_failed_delivery_is_retried_with_same_body_and_valid_signature(tmp_path, receiver):
    db = make_db(tmp_path)
    run_id, workspace_id = new_run(db)
    with db.session() as session:
        run = runs.get_run(session, run_id, workspace_id)
        run.callback_url = receiver.url
        runs.claim(session, run_id, owner="w", lease_seconds=30)
    with db.session() as session:
        runs.fail(session, run_id, code="provider_error", message="upstream said no", owner="w")
    with db.session() as session:
        secret = session.get(Workspace, workspace_id).webhook_secret

    dispatcher = WebhookDispatcher(db)
    assert await dispatcher.deliver_due() == 1
    with db.session() as session:
        delivery = session.scalar(select(WebhookDelivery))
        assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_error == "HTTP 500"
        assert 9_000 <= delivery.next_attempt_at - now_ms() <= 10_500  # first retry after 10 s
        session.execute(update(WebhookDelivery).values(next_attempt_at=0))
    await dispatcher.aclose()

    restarted = WebhookDispatcher(db)  # a fresh process finds the persisted delivery
    assert await restarted.deliver_due() == 1
    await restarted.aclose()
    (first_headers, first_body), (second_headers, second_body) = receiver.requests
    assert first_body == second_body
    envelope = json.loads(second_body)
    assert envelope["type"] == "run.failed" and envelope["id"].startswith("whd_")
    assert envelope["data"] == {
        "run_id": run_id,
        "run_type": "generation",
        "workspace_id": workspace_id,
        "status": "failed",
        "error_code": "provider_error",
        "error_message": "upstream said no",
    }
    assert second_headers["Flora-Webhook-Id"] == envelope["id"] and second_headers["Flora-Event"] == "run.failed"
    assert verify(secret, first_headers, first_body) and verify(secret, second_headers, second_body)
    assert not verify(secret, second_headers, second_body + b" ")
    with db.session() as session:
        assert session.scalar(select(WebhookDelivery)).status == "delivered"


async def test_delivery_gives_up_after_three_retries(tmp_path):
    receiver = Receiver([500, 500, 500, 500, 200])
    db = make_db(tmp_path)
    run_id, workspace_id = new_run(db)
    with db.session() as session:
        runs.get_run(session, run_id, workspace_id).callback_url = receiver.url
        runs.claim(session, run_id, owner="w", lease_seconds=30)
    with db.session() as session:
        runs.complete(session, run_id, owner="w", outputs=[])
    dispatcher = WebhookDispatcher(db)
    for _ in range(4):
        assert await dispatcher.deliver_due() == 1
        with db.session() as session:
            session.execute(
                update(WebhookDelivery).where(WebhookDelivery.status == "pending").values(next_attempt_at=0)
            )
    assert await dispatcher.deliver_due() == 0
    await dispatcher.aclose()
    receiver.httpd.shutdown()
    with db.session() as session:
        delivery = session.scalar(select(WebhookDelivery))
        assert delivery.status == "failed" and delivery.attempts == 4
    assert len(receiver.requests) == 4


def test_signature_matches_contract_test_vector():
    from stamen.services.webhooks import sign

    body = '{"id":"whd_9s8d7f6g","type":"run.completed","api_version":"2026-06-11","created_at":1767225613500,"data":{"run_id":"run_4hd92ka7","run_type":"generation","workspace_id":"ws_7f3kq2","status":"completed"}}'  # contract examples/webhook-run-completed.body.json  # noqa: E501
    assert sign("whsec_stamen_example_0123456789", body, 1767225614) == (
        "t=1767225614,v1=d102dc3048eae8f85973416509f552199e3e216660f65d0fe87f91d16785f702"
    )
