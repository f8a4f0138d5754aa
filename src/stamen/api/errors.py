"""Every error leaves as the contract envelope `{"error": {code, message, fields?}}`, never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from stamen.errors import StamenError

log = logging.getLogger(__name__)


def envelope(status: int, code: str, message: str, fields: list[dict] | None = None, headers: dict | None = None):
    error: dict = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    response_headers = dict(headers or {})
    if status == 409:
        response_headers.setdefault("x-should-retry", "false")
    return JSONResponse({"error": error}, status_code=status, headers=response_headers)


def _field_path(location: tuple) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    path = ""
    for part in parts:
        if part.isdigit():
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "body"


def _message(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "Required"
    if kind == "extra_forbidden":
        return "is not an allowed field"
    message = error.get("msg", "is invalid")
    return message.removeprefix("Value error, ")


async def _validation_handler(_request: Request, exc: RequestValidationError):
    errors = exc.errors()
    if any(e.get("type") in ("json_invalid", "json_type") for e in errors):
        return envelope(400, "invalid_json", "Request body is not valid JSON")
    fields = []
    for error in errors:
        location = tuple(error.get("loc", ()))
        if location == ("body",) and error.get("type") in ("model_attributes_type", "dict_type", "missing"):
            return envelope(400, "invalid_json", "Request body must be a JSON object")
        fields.append({"field": _field_path(location), "message": _message(error)})
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return envelope(400, "input_validation_error", summary, fields)


async def _stamen_handler(_request: Request, exc: StamenError):
    fields = [{"field": f.field, "message": f.message} for f in exc.fields]
    return envelope(exc.status, exc.code, exc.message, fields, exc.headers)


async def _http_handler(request: Request, exc: StarletteHTTPException):
    if exc.status_code == 404:
        return envelope(404, "not_found", f"No route {request.method} {request.url.path}")
    if exc.status_code == 405:
        return envelope(405, "not_found", f"No route {request.method} {request.url.path}")
    code = "input_validation_error" if exc.status_code < 500 else "unknown_error"
    return envelope(exc.status_code, code, str(exc.detail))


async def _unhandled(_request: Request, exc: Exception):
    log.exception("unhandled error", exc_info=exc)
    return envelope(500, "unknown_error", "Unexpected server error; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StamenError, _stamen_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(Exception, _unhandled)
