"""``cairn.nodes.Command``: a user command whose output is the observed state.

``command`` observes: its standard output (trailing blank space ignored) is the state. It is
as declared when it exits 0 and prints ``expected_output``, or, when that property is
empty, prints what it printed at start (kept in the runtime properties as ``output`` and
``output_sha256``). ``apply`` (optional) makes the state so: it runs at create and update;
``undo`` (optional) runs at delete. start observes and records; with ``expected_output``
set, start fails when the output differs, so an install never ends with a state that is
already drifted.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from cairn.model.plan import JSON
from cairn.plugins.resources import calls

SHELL = "/bin/sh"
KEPT_OUTPUT = 64 * 1024  # characters of output kept in the runtime properties
QUOTED = 2000  # characters of output quoted in errors


@dataclass(frozen=True, kw_only=True)
class Ran:
    code: int
    output: str  # stdout, trailing blank space removed
    errors: str


class _Settings:
    def __init__(self, call: calls.Call) -> None:
        self.command = call.text("command", required=True)
        self.expected = call.text("expected_output").rstrip()
        self.apply = call.text("apply")
        self.undo = call.text("undo")
        self.env = call.mapping("env")
        self.timeout = call.number("timeout", default=60, low=1)
        self.cwd = call.text("cwd").strip() or call.data_dir
        if not os.path.isabs(self.cwd):
            raise calls.ResourceError(
                f"{call.type_name}: property 'cwd' must be an absolute path (got {self.cwd!r})"
            )


def run(call: calls.Call, settings: _Settings, command: str, what: str) -> Ran:
    timeout = call.remaining(settings.timeout)
    try:
        done = subprocess.run(
            [SHELL, "-c", command],
            cwd=settings.cwd,
            env={**os.environ, **settings.env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=max(timeout, 0.1),
            start_new_session=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise calls.ResourceError(
            f"{call.type_name} {call.instance_id}: {what} command did not end "
            f"within {float(timeout):.1f}s",
            recoverable=True,
        ) from None
    except OSError as exc:
        raise calls.ResourceError(
            f"{call.type_name} {call.instance_id}: cannot run the {what} command: {exc}"
        ) from None
    return Ran(
        code=done.returncode,
        output=done.stdout.decode("utf-8", "replace").rstrip(),
        errors=done.stderr.decode("utf-8", "replace").strip(),
    )


def _must_succeed(call: calls.Call, ran: Ran, what: str) -> None:
    if ran.code != 0:
        said = (ran.errors or ran.output)[-QUOTED:]
        raise calls.ResourceError(
            f"{call.type_name} {call.instance_id}: {what} command exited {ran.code}"
            + (f": {said}" if said else "")
        )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _expected(call: calls.Call, settings: _Settings) -> str | None:
    if settings.expected:
        return settings.expected
    recorded = call.runtime.get("output")
    return recorded if isinstance(recorded, str) else None


def differences(call: calls.Call, settings: _Settings, ran: Ran) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    if ran.code != 0:
        out["exit_code"] = calls.differ(0, ran.code)
    expected = _expected(call, settings)
    if expected is not None and ran.output != expected:
        out["output"] = calls.differ(expected, ran.output)
    return out


def observe(call: calls.Call) -> calls.Done:
    """Run the command and record its output as what later checks expect."""
    settings = _Settings(call)
    ran = run(call, settings, settings.command, "observe")
    _must_succeed(call, ran, "observe")
    if settings.expected and ran.output != settings.expected:
        raise calls.ResourceError(
            f"{call.type_name} {call.instance_id}: the command printed "
            f"{ran.output[:QUOTED]!r}, not the expected {settings.expected[:QUOTED]!r}"
        )
    call.log(f"observed output sha256 {_sha256(ran.output)[:12]}")
    return calls.Done(
        runtime={"output": ran.output[:KEPT_OUTPUT], "output_sha256": _sha256(ran.output)}
    )


def _run_step(call: calls.Call, name: str) -> None:
    settings = _Settings(call)
    command = settings.apply if name == "apply" else settings.undo
    if command:
        ran = run(call, settings, command, name)
        _must_succeed(call, ran, name)
        call.log(f"{name} command done" + (f": {ran.output[-QUOTED:]}" if ran.output else ""))


def create(call: calls.Call) -> calls.Done:
    _run_step(call, "apply")
    return calls.Done()


def update(call: calls.Call) -> calls.Done:
    _run_step(call, "apply")
    return observe(call)


def delete(call: calls.Call) -> calls.Done:
    _run_step(call, "undo")
    return calls.Done(runtime={"output": None, "output_sha256": None})


def configure(call: calls.Call) -> calls.Done:
    _Settings(call)
    return calls.Done()


def check_drift(call: calls.Call) -> calls.Done:
    settings = _Settings(call)
    return calls.drift(
        differences(call, settings, run(call, settings, settings.command, "observe"))
    )


def check_status(call: calls.Call) -> calls.Done:
    settings = _Settings(call)
    ran = run(call, settings, settings.command, "observe")
    if ran.code != 0:
        raise calls.unhealthy(call, {"exit_code": calls.differ(0, ran.code)})
    return calls.Done(result={"exit_code": 0, "output_sha256": _sha256(ran.output)})


OPERATIONS: Mapping[str, calls.Operation] = {
    "create": create,
    "configure": configure,
    "start": observe,
    "stop": calls.nothing,
    "delete": delete,
    "update": update,
    "check_drift": check_drift,
    "check_status": check_status,
}
