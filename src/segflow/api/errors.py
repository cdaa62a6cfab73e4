"""The one place segflow's errors become HTTP answers: ``{code, message, path}`` with a 4xx.

Domain code raises :class:`~segflow.errors.SegflowError` (never an HTTP error); the status
comes from the error's code, else its class. Request validation errors (FastAPI) get the same
body shape, code ``invalid_request``, with the field as ``path``. Anything else is a 500 with
code ``internal`` and no detail (the traceback goes to the server log).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from segflow.errors import (
    AccessError,
    BusyError,
    ConflictError,
    DefinitionError,
    IdentityError,
    RuleError,
    SegflowError,
    TrackingError,
)

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

__all__ = ["STATUS_BY_CODE", "install", "status_of"]

log = logging.getLogger("segflow.api")

#: Codes whose status is not their class's.
STATUS_BY_CODE: dict[str, int] = {
    "unauthorized": 401,
    "forbidden": 403,
    "rate_limited": 429,
    "message_too_large": 400,
    "batch_too_large": 413,
    "request_too_large": 413,
    "stale_version": 412,
    "precondition_required": 428,
    "exists": 409,
    "warehouse_busy": 503,
    "inbox_unavailable": 503,
    "unknown_api_key": 404,
    "unknown_profile": 404,
    "unknown_identifier": 404,
    "unknown_source": 404,
    "unknown_segment": 404,
    "unknown_tag": 404,
    "unknown_trait": 404,
    "unknown_journey": 404,
    "unknown_model": 404,
    "unknown_load": 404,
    "unknown_definition": 404,
    "unknown_example": 404,
    "not_found": 404,
}

_BY_CLASS: tuple[tuple[type[SegflowError], int], ...] = (
    (AccessError, 401),
    (BusyError, 503),
    (ConflictError, 409),
    (TrackingError, 400),
    (RuleError, 422),
    (DefinitionError, 422),
    (IdentityError, 400),
)


def status_of(exc: SegflowError) -> int:
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    for cls, status in _BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 400


def _body(code: str, message: str, path: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "path": path}


def install(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(SegflowError)
    async def segflow_error(_request: Request, exc: SegflowError) -> JSONResponse:
        headers = {}
        retry = getattr(exc, "retry_after", None)
        if retry:
            headers["Retry-After"] = str(max(1, round(retry)))
        status = status_of(exc)
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="segflow"'
        return JSONResponse(exc.to_dict(), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body",)) or None
        message = f"{loc}: {first.get('msg', 'invalid request')}" if loc else str(first.get("msg", "invalid request"))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return JSONResponse(_body("invalid_request", message + more, loc), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return JSONResponse(_body("internal", "internal error (see the server log)"), status_code=500)
