"""Errors as JSON: ``{"error": {"code", "message", "field", "problems"}}``, never a traceback.

Every :class:`cairn.errors.CairnError` maps to one status code here, in one place:
not found 404, conflict 409, no valid token 401, a too-weak role 403, a token role that
cannot be asked for 400, bad blueprints,
inputs and request bodies 422 with every problem listed, a database too busy to answer in
time 503 with ``Retry-After``. Anything else is a 500 whose
details go to the manager's log only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cairn import errors
from cairn.api import schemas
from cairn.services import auth, ids

log = logging.getLogger("cairn.api")

_STATUS: tuple[tuple[type[errors.CairnError], int, str], ...] = (
    (auth.InvalidToken, 401, "unauthenticated"),
    (errors.PermissionDenied, 403, "forbidden"),
    (auth.AgentTokenRefused, 400, "bad_request"),
    (errors.NotFoundError, 404, "not_found"),
    (errors.ConflictError, 409, "conflict"),
    (errors.BlueprintError, 422, "invalid_blueprint"),
    (errors.InputError, 422, "invalid_inputs"),
    (ids.FieldError, 422, "invalid_value"),
    (errors.UsageError, 422, "bad_request"),
    (errors.Unavailable, 503, "unavailable"),
)
_HTTP_CODES = {
    401: "unauthenticated",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    problems: list[schemas.ProblemOut] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = schemas.ErrorOut(
        error=schemas.ErrorDetail(code=code, message=message, field=field, problems=problems or [])
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _problems(exc: errors.CairnError) -> list[schemas.ProblemOut]:
    if isinstance(exc, errors.BlueprintError):
        return [
            schemas.ProblemOut(message=p.message, file=p.file, line=p.line, col=p.col, code=p.code)
            for p in exc.problems
        ]
    if isinstance(exc, errors.InputError):
        return [schemas.ProblemOut(message=p, field="inputs") for p in exc.problems]
    return []


async def _cairn_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.CairnError)
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            if status == 503:
                headers = {"Retry-After": "1"}
            field = exc.field if isinstance(exc, ids.FieldError) else None
            if isinstance(exc, errors.InputError):
                field = "inputs"
            return response(
                status, code, exc.message, field=field, problems=_problems(exc), headers=headers
            )
    log.error("request failed: %s: %s", type(exc).__name__, exc.message)
    return response(500, "internal", exc.message)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_validation_problem(e) for e in exc.errors()]
    first = problems[0] if problems else schemas.ProblemOut(message="invalid request")
    message = f"{first.field}: {first.message}" if first.field else first.message
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return response(422, "invalid_request", message + more, field=first.field, problems=problems)


def _validation_problem(found: Any) -> schemas.ProblemOut:
    location = [str(part) for part in found.get("loc", ())]
    return schemas.ProblemOut(
        message=str(found.get("msg", "invalid")), field=".".join(location) or None
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error", exc_info=exc)
    return response(500, "internal", "internal error; the manager's log has the details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.CairnError, _cairn_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": schemas.ErrorOut, "description": "No valid bearer token."},
    403: {"model": schemas.ErrorOut, "description": "The token's role does not allow this."},
    404: {"model": schemas.ErrorOut, "description": "Not found."},
    409: {"model": schemas.ErrorOut, "description": "Conflicts with the current state."},
    422: {"model": schemas.ErrorOut, "description": "Invalid request; every problem listed."},
}
