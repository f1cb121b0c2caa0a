"""Following an execution: print its events as they come until it ends.

Long polls ``GET /events?wait=...``: each answer brings new events at once, or waits on the
manager until there are some or the execution ended. The loop ends when the manager says
the execution ended and every event was sent (``complete``).
"""

from __future__ import annotations

from typing import Any

from cairn import errors
from cairn.cli import client as client_mod
from cairn.cli import output, views

WAIT_SECONDS = 10.0


class Interrupted(errors.CairnError):
    """Stopped following; the execution goes on."""


def events(
    client: client_mod.Client, execution_id: str, *, after_id: int = 0, quiet: bool = False
) -> dict[str, Any]:
    """Print the execution's events from ``after_id`` on until it ends; its final state."""
    out = views.console()
    try:
        while True:
            page = client.get(
                "/events",
                params={"execution_id": execution_id, "after_id": after_id, "wait": WAIT_SECONDS},
                timeout=WAIT_SECONDS + client_mod.TIMEOUT_SECONDS,
            )
            if not quiet:
                views.print_events(page["events"], out)
            after_id = page["last_id"]
            if page["complete"]:
                break
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped following; execution {execution_id} goes on "
            f"(cairn executions follow {execution_id})"
        ) from None
    found: dict[str, Any] = client.get(f"/executions/{execution_id}")
    return found


def summary(execution: dict[str, Any]) -> str:
    status = execution["status"]
    text = (
        f"execution {execution['id']} ({execution['workflow_id']} on "
        f"{execution['deployment_id']}) {status}"
    )
    if execution.get("error"):
        text += f": {' '.join(str(execution['error']).split())}"
    return text


def exit_code(execution: dict[str, Any]) -> int:
    return output.EXIT_OK if execution["status"] == "succeeded" else output.EXIT_FAILED
