"""``cairn drift ...``: which deployments drifted, and what differs on each instance."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from cairn import errors
from cairn.cli import client, options, output, views

app = typer.Typer(
    name="drift",
    help="See drift: differences between what deployments declare and what their sites have.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def policy_text(found: Mapping[str, Any]) -> str:
    if found.get("mode", "off") == "off":
        return "off"
    return f"{found['mode']} every {found.get('interval'):g}s"


def differences_text(differences: dict[str, Any]) -> str:
    parts = []
    for name, value in differences.items():
        if isinstance(value, dict) and {"expected", "actual"} <= set(value):
            parts.append(f"{name}: expected {value['expected']!r}, actual {value['actual']!r}")
        else:
            parts.append(f"{name}: {json.dumps(value)}")
    return "; ".join(parts)


def status_text(status: Any) -> str:
    if not isinstance(status, dict):
        return ""
    return "ok" if status.get("ok") else f"failed: {status.get('result')}"


_LIST_COLUMNS: list[views.Column] = [
    ("deployment", "deployment_id"),
    ("site", "site"),
    ("drifted", lambda d: "yes" if d["drifted"] else "no"),
    ("checked", lambda d: d.get("checked_at") or "never"),
    ("drifted instances", lambda d: ", ".join(d.get("drifted_instances") or [])),
    ("status failed", lambda d: ", ".join(d.get("status_failed") or [])),
    ("policy", policy_text),
    ("next check", lambda d: d.get("next_at") or ""),
]
_INSTANCE_COLUMNS: list[views.Column] = [
    ("instance", "id"),
    ("node", "node_id"),
    ("drifted", lambda i: "yes" if i["drifted"] else "no"),
    ("checked", lambda i: i.get("checked_at") or "never"),
    ("differences", lambda i: differences_text(i.get("differences") or {})),
    ("status", lambda i: status_text(i.get("status"))),
]


@app.command(
    "list",
    epilog="Example:\n\n  cairn drift list\n\n  cairn drift list -o json",
)
def list_(output_format: options.OutputOpt = output.Format.table) -> None:
    """List deployments, drifted or not, with their last check and drift policy."""
    found = client.connect().get("/drift")
    views.show(found, output_format, lambda rows: [views.records("Drift", rows, _LIST_COLUMNS)])


@app.command(epilog="Example:\n\n  cairn drift show web1\n\n  cairn drift show web1 -o json")
def show(
    deployment_id: Annotated[str, typer.Argument(metavar="DEP", help="The deployment's id.")],
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Show a deployment's drift per node instance: what differs, the last status check."""
    found = client.connect().get(f"/deployments/{deployment_id}/drift")

    def render(data: dict[str, Any]) -> list[Any]:
        return [
            views.fields(f"Drift of {deployment_id}", data, _LIST_COLUMNS[1:]),
            views.records("Node instances", data["instances"], _INSTANCE_COLUMNS),
        ]

    views.show(found, output_format, render)


_CHECK_COLUMNS: list[tuple[str, Any]] = [
    ("deployment", lambda e: e.get("deployment_id")),
    ("execution", lambda e: e.get("id")),
    ("status", lambda e: e.get("status")),
]


@app.command(
    epilog="Examples:\n\n  cairn drift check web1 web2\n\n  cairn drift check -g edge\n\n"
    "  cairn drift check --all -o json\n\nThen: cairn drift list",
)
def check(
    deployment_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[DEP]...", help="Deployments to check.")
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", "-g", help="Check this group's members.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Check every deployment.")] = False,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Check drift now (a sweep): start check_drift on the deployments named, a group's
    members, or all, together; a busy deployment's check waits for its running execution."""
    if not deployment_ids and group is None and not every:
        raise errors.UsageError("name deployments, --group GROUP or --all")
    body = {"deployment_ids": deployment_ids or [], "group_id": group, "all": every}
    found = client.connect().post("/drift/checks", body=body)

    def render(data: dict[str, Any]) -> list[Any]:
        shown = [views.records("check_drift started", data["started"], _CHECK_COLUMNS)]
        if data["refused"]:
            columns = [("deployment", lambda r: r["deployment_id"]), ("why", lambda r: r["error"])]
            shown.append(views.records("Not checked", data["refused"], columns))
        return shown

    views.show(found, output_format, render)
