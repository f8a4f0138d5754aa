"""Domain errors carrying a contract error code; the HTTP layer maps them to the envelope in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldError:
    field: str
    message: str


class StamenError(Exception):
    """An error a client can act on: HTTP status + contract `code` + plain-words message."""

    status = 500
    code = "unknown_error"

    def __init__(self, message: str, *, fields: list[FieldError] | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or []
        self.headers = headers or {}


class InvalidJson(StamenError):
    status, code = 400, "invalid_json"


class InputValidation(StamenError):
    status, code = 400, "input_validation_error"

    @classmethod
    def field(cls, field: str, message: str) -> InputValidation:
        return cls(f"{field}: {message}", fields=[FieldError(field, message)])

    @classmethod
    def many(cls, errors: list[FieldError]) -> InputValidation:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        return cls(summary, fields=errors)


class Unauthorized(StamenError):
    status, code = 401, "unauthorized"


class InvalidApiKey(StamenError):
    status, code = 401, "invalid_api_key"


class InsufficientCredits(StamenError):
    status, code = 402, "insufficient_credits"


class Forbidden(StamenError):
    status, code = 403, "forbidden"


class NotFound(StamenError):
    status, code = 404, "not_found"


class IdempotencyDuplicate(StamenError):
    status, code = 409, "idempotency_duplicate"


class Conflict(StamenError):
    status, code = 409, "conflict"


class RateLimited(StamenError):
    status, code = 429, "rate_limited"


class ServiceUnavailable(StamenError):
    status, code = 503, "service_unavailable"


class RunFailure(Exception):
    """Raised by a handler to fail its run with a run-level `error_code` (not an HTTP error).

    Codes: input_invalid, input_unreachable, media_too_large, provider_error, model_timeout,
    safety_blocked, internal_error, ffmpeg_failed, ...
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
