"""``cairn deployments update | history | revert``: move a deployment to a new revision, read
its revisions, return to an earlier one. The preview reads like ``terraform plan``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from cairn.cli import client, follow, options, output, views

DeploymentArg = Annotated[str, typer.Argument(metavar="DEP", help="The deployment's id.")]
PreviewOpt = Annotated[
    bool, typer.Option("--preview", help="Print the delta and the steps; run nothing.")
]
WaitOpt = Annotated[bool, typer.Option("--wait", "-w", help="Follow the update until it ends.")]
_SHOWN_STEPS = frozenset({"operation", "apply_revision"})
_SIGN = {"added": "+", "removed": "-", "modified": "~"}
_HISTORY: list[views.Column] = [
    ("revision", lambda r: f"{r['revision']}{' *' if r['current'] else ''}"),
    ("blueprint", "blueprint_id"),
    ("inputs", lambda r: views.text(r["inputs"])),
    ("created", "created_at"),
    ("by", "created_by"),
    ("result", "status"),
    ("execution", "execution_id"),
]


def update(
    deployment_id: DeploymentArg,
    *,
    blueprint_id: Annotated[
        str | None,
        typer.Option(
            "-b",
            "--blueprint-id",
            metavar="BLUEPRINT",
            help="The new revision's blueprint (uploaded); default: the current one.",
        ),
    ] = None,
    inputs: options.InputsOpt = None,
    preview: PreviewOpt = False,
    wait: WaitOpt = False,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Update a deployment to a new blueprint and/or inputs, running only what changed."""
    body = {"blueprint_id": blueprint_id, "inputs": options.inputs(inputs), "preview": preview}
    _run(f"/deployments/{deployment_id}/updates", body, wait=wait, output_format=output_format)


def revert(
    deployment_id: DeploymentArg,
    *,
    to: Annotated[
        int | None,
        typer.Option(
            "--to",
            metavar="REVISION",
            help="The revision to return to; default: the applied one before.",
        ),
    ] = None,
    preview: PreviewOpt = False,
    wait: WaitOpt = False,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Return a deployment to an earlier revision (an update to its blueprint and inputs)."""
    body = {"to": to, "preview": preview}
    _run(f"/deployments/{deployment_id}/revert", body, wait=wait, output_format=output_format)


def history(
    deployment_id: DeploymentArg, output_format: options.OutputOpt = output.Format.table
) -> None:
    """List a deployment's revisions: blueprint, inputs, when, by whom, result (* in force)."""
    found = client.connect().get(f"/deployments/{deployment_id}/revisions")
    views.show(found, output_format, lambda rows: [views.records("Revisions", rows, _HISTORY)])


def _run(path: str, body: dict[str, Any], *, wait: bool, output_format: output.Format) -> None:
    remote = client.connect()
    answer = remote.post(path, body=body)
    execution = answer.get("execution")
    if output_format is not output.Format.table:
        if execution is None or not wait:
            views.dump(answer, output_format)
            return
    else:
        for text in preview_lines(answer):
            output.line(text)
        if execution is None:
            return
        output.line(f"execution {execution['id']} started (update of {answer['deployment_id']})")
    if not wait:
        return
    ended = follow.events(remote, execution["id"], quiet=output_format is not output.Format.table)
    if output_format is output.Format.table:
        output.line(follow.summary(ended))
    else:
        views.dump({**answer, "execution": ended}, output_format)
    raise typer.Exit(follow.exit_code(ended))


def preview_lines(answer: Mapping[str, Any]) -> list[str]:
    """The delta and the steps, one line each (``+`` added, ``-`` removed, ``~`` modified)."""
    lines = [
        f"deployment {answer['deployment_id']}: revision {answer['from_revision']} -> "
        f"{answer['to_revision']} (blueprint {answer['blueprint_id']})"
    ]
    changes = answer.get("changes") or []
    lines.append(f"changes ({len(changes)}):" if changes else "changes: none")
    lines += [f"  {_change(c)}" for c in changes]
    found = answer.get("instances") or {}
    lines.append("node instances:")
    lines += [f"  + {i['id']} ({i['node']})" for i in found.get("added", [])]
    lines += [f"  - {i}" for i in found.get("removed", [])]
    how = {i: "reinstall" for i in found.get("reinstalled", [])}
    how.update({i: "update in place" for i in found.get("updated_in_place", [])})
    for item in found.get("modified", []):
        lines.append(
            f"  ~ {item['id']}: {how.get(item['id'], 'modified')} ({', '.join(item['reasons'])})"
        )
    for instance_id in found.get("reinstalled", []):
        if instance_id not in {m["id"] for m in found.get("modified", [])}:
            lines.append(f"  ~ {instance_id}: reinstall (contained in a reinstalled instance)")
    # the operations and the final move; state records and joins are in -o json
    steps = [s for s in answer.get("steps") or [] if s.get("kind") in _SHOWN_STEPS]
    lines.append(f"steps ({len(steps)}, in order):")
    lines += [f"  {n}. {s['description'] or s['key']}" for n, s in enumerate(steps, 1)]
    return lines


def _change(change: Mapping[str, Any]) -> str:
    sign = _SIGN.get(change["change"], "?")
    where = f"{change['node']}." if change.get("node") else ""
    text = f"{sign} {change['what']} {where}{change['name']}"
    if change["change"] == "modified" and "old" in change:
        text += f": {views.text(change['old'])} -> {views.text(change.get('new'))}"
    elif change["change"] == "added" and "new" in change:
        text += f" = {views.text(change['new'])}"
    return text
