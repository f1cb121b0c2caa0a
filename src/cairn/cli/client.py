"""The CLI's side of the REST API: one HTTP client, errors turned back into Cairn errors.

The manager answers errors as ``{"error": {"code", "message", "field", "problems"}}``; each
code becomes the :mod:`cairn.errors` class the API made it from, so
:func:`cairn.cli.output.report` prints it and picks the exit code the same way as for
errors found locally (a blueprint's problems one per line, inputs problems joined, ...).
"""

from __future__ import annotations

import atexit
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cairn import errors
from cairn.services import profiles

if TYPE_CHECKING:  # httpx is imported when a request is made: --help stays fast
    import httpx

API_PREFIX = "/api/v1"
TIMEOUT_SECONDS = 60.0


class ManagerUnreachable(errors.CairnError):
    """The manager does not answer."""


class Unauthenticated(errors.PermissionDenied):
    """The manager refused the token."""


class Client:
    """Requests to one manager with one token; every method answers decoded JSON."""

    def __init__(self, connection: profiles.Connection) -> None:
        import httpx

        self.connection = connection
        headers = {"Accept": "application/json"}
        if connection.token:
            headers["Authorization"] = f"Bearer {connection.token}"
        self._http = httpx.Client(
            base_url=connection.manager + API_PREFIX, headers=headers, timeout=TIMEOUT_SECONDS
        )

    def close(self) -> None:
        self._http.close()

    def get(
        self, path: str, *, params: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        return self.request("GET", path, params=params, timeout=timeout)

    def post(self, path: str, *, body: Any = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {})

    def put(self, path: str, *, body: Any = None, **options: Any) -> Any:
        if body is not None:
            options["json"] = body
        return self.request("PUT", path, **options)

    def patch(self, path: str, *, body: Any = None) -> Any:
        return self.request("PATCH", path, json=body if body is not None else {})

    def delete(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("DELETE", path, params=params)

    def request(
        self, method: str, path: str, *, timeout: float | None = None, **options: Any
    ) -> Any:
        if timeout is not None:
            options["timeout"] = timeout
        import httpx

        if options.get("params"):
            options["params"] = {k: v for k, v in options["params"].items() if v is not None}
        try:
            response = self._http.request(method, path, **options)
        except httpx.TransportError as exc:
            raise ManagerUnreachable(
                f"cannot reach the manager at {self.connection.manager}: {_reason(exc)} "
                "(start one with 'cairn up', or pass --manager URL)"
            ) from exc
        if response.status_code >= 400:
            raise self._error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _error(self, response: httpx.Response) -> errors.CairnError:
        try:
            detail = response.json()["error"]
            code, message = str(detail["code"]), str(detail["message"])
        except (ValueError, KeyError, TypeError):
            return errors.CairnError(
                f"the manager at {self.connection.manager} answered {response.status_code}: "
                f"{response.text[:200] or response.reason_phrase}"
            )
        if code == "unauthenticated":
            return Unauthenticated(f"{message} (token from {self.connection.token_source})")
        return from_error(code, message, detail.get("problems") or [])


def from_error(code: str, message: str, problems: list[Mapping[str, Any]]) -> errors.CairnError:
    """The Cairn error an API error body stands for."""
    if code == "invalid_blueprint":
        return errors.BlueprintError(
            [
                errors.Problem(
                    file=str(p.get("file") or "?"),
                    line=int(p.get("line") or 0),
                    col=int(p.get("col") or 0),
                    code=str(p.get("code") or "problem"),
                    message=str(p.get("message")),
                )
                for p in problems
            ]
        )
    if code == "invalid_inputs":
        return errors.InputError([str(p.get("message")) for p in problems] or [message])
    if code in ("invalid_value", "bad_request", "invalid_request"):
        return errors.UsageError(message)
    kinds: dict[str, type[errors.CairnError]] = {
        "not_found": errors.NotFoundError,
        "conflict": errors.ConflictError,
        "forbidden": errors.PermissionDenied,
    }
    return kinds.get(code, errors.CairnError)(message)


def _reason(exc: httpx.TransportError) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectError):
        return "connection refused" if "refused" in str(exc).lower() else str(exc) or "no answer"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    return str(exc) or type(exc).__name__


_settings: dict[str, str | None] = {"manager": None, "token": None}


def configure(*, manager: str | None, token: str | None) -> None:
    """Remember the root command's ``--manager`` and ``--token`` (or their environment
    variables) for :func:`connect`; the root command calls it before any subcommand runs."""
    _settings.update(manager=manager, token=token)


def connect() -> Client:
    """A client for the manager the command line names (see :mod:`cairn.services.profiles`)."""
    connection = profiles.resolve(manager=_settings["manager"], token=_settings["token"])
    client = Client(connection)
    atexit.register(client.close)
    return client
