"""``cairn.nodes.HttpCheck``: an HTTP(S) endpoint that must answer as declared.

One probe is a GET of ``url`` (proxies from the environment are ignored: the check is about
the site itself), giving the status and the body. It is as declared when the status equals
``status`` and, if ``body_pattern`` is set, the regular expression is found in the body.
start and update keep probing for up to ``wait`` seconds (a service started just before
may still be warming up) and fail recoverably if it never answers as declared; create and
configure only check the properties; stop and delete have nothing to undo.
"""

from __future__ import annotations

import re
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from cairn.model.plan import JSON
from cairn.plugins.resources import calls

BODY_LIMIT = 1 << 20  # bytes of the body read and matched
QUOTED = 200  # characters of the body quoted in a difference


@dataclass(frozen=True, kw_only=True)
class Probe:
    status: int | None  # None: no answer
    body: str = ""
    error: str = ""


class _Settings:
    def __init__(self, call: calls.Call) -> None:
        self.url = call.text("url", required=True).strip()
        if not re.match(r"^https?://[^/\s]+", self.url):
            raise calls.ResourceError(
                f"{call.type_name}: property 'url' must be an http:// or https:// URL "
                f"(got {self.url!r})"
            )
        self.status = call.number("status", default=200, low=100, high=599)
        pattern = call.text("body_pattern")
        try:
            self.pattern = re.compile(pattern) if pattern else None
        except re.error as exc:
            raise calls.ResourceError(
                f"{call.type_name}: property 'body_pattern' is not a regular expression: {exc}"
            ) from None
        self.timeout = call.number("timeout", default=5, low=1)
        self.wait = call.number("wait", default=30)


_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}),
    urllib.request.HTTPSHandler(context=ssl.create_default_context()),
)


def probe(url: str, *, timeout: float) -> Probe:
    request = urllib.request.Request(url, headers={"User-Agent": "cairn-http-check"})
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            return Probe(status=answer.status, body=_decode(answer.read(BODY_LIMIT)))
    except urllib.error.HTTPError as exc:
        with exc:
            return Probe(status=exc.code, body=_decode(exc.read(BODY_LIMIT)))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Probe(status=None, error=str(reason) or type(exc).__name__)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def differences(settings: _Settings, found: Probe) -> dict[str, JSON]:
    if found.status is None:
        return {"status": calls.differ(settings.status, f"unreachable: {found.error}")}
    out: dict[str, JSON] = {}
    if found.status != settings.status:
        out["status"] = calls.differ(settings.status, found.status)
    if settings.pattern is not None and not settings.pattern.search(found.body):
        out["body"] = calls.differ(
            f"matches {settings.pattern.pattern!r}", f"no match in {found.body[:QUOTED]!r}"
        )
    return out


def _check(call: calls.Call, settings: _Settings) -> dict[str, JSON]:
    return differences(settings, probe(settings.url, timeout=call.remaining(settings.timeout)))


def start(call: calls.Call) -> calls.Done:
    settings = _Settings(call)
    deadline = time.monotonic() + call.remaining(settings.wait)
    while True:
        found = _check(call, settings)
        if not found:
            call.log(f"{settings.url} answers {settings.status} as declared")
            return calls.Done(runtime={"url": settings.url, "status": settings.status})
        if time.monotonic() >= deadline:
            error = calls.unhealthy(call, found)
            raise calls.ResourceError(error.message, recoverable=True)
        time.sleep(0.2)


def create(call: calls.Call) -> calls.Done:
    _Settings(call)
    return calls.Done()


def check_drift(call: calls.Call) -> calls.Done:
    return calls.drift(_check(call, _Settings(call)))


def check_status(call: calls.Call) -> calls.Done:
    settings = _Settings(call)
    found = _check(call, settings)
    if found:
        raise calls.unhealthy(call, found)
    return calls.Done(result={"url": settings.url, "status": settings.status})


OPERATIONS: Mapping[str, calls.Operation] = {
    "create": create,
    "configure": create,
    "start": start,
    "stop": calls.nothing,
    "delete": calls.nothing,
    "update": start,
    "check_drift": check_drift,
    "check_status": check_status,
}
