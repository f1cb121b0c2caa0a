"""``cairn rollouts ...``: one workflow across a group, in waves, with a per-member ledger."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from cairn import errors
from cairn.cli import client, options, output, views

app = typer.Typer(
    name="rollouts",
    help="Run one workflow across a group of deployments, in waves, with a failure threshold "
    "and a ledger per member. Rollouts run on the manager: they go on when this command exits.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

IdArg = Annotated[str, typer.Argument(metavar="ROLLOUT", help="The rollout's id.")]
ENDED = {"succeeded", "failed", "stopped", "cancelled", "rolled_back"}
# member statuses that a rollout that has ended may still be following (a rollback of members)
MOVING = {"starting", "running", "retrying", "rolling_back"}
DONE = {"succeeded", "failed", "cancelled", "rolled_back", "rollback_failed"}
POLL_SECONDS = 1.0


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items())) or "-"


def _revisions(row: Mapping[str, Any]) -> str:
    if row.get("from_revision") is None:
        return "-"
    return f"{row['from_revision']} -> {row.get('to_revision')}"


_COLUMNS: list[views.Column] = [
    ("id", "id"),
    ("workflow", "workflow_id"),
    ("group", "group_id"),
    ("status", "status"),
    ("wave", lambda row: f"{row['wave'] + 1}/{row['waves']}"),
    ("members", lambda row: str(row.get("members", 0))),
    ("counts", lambda row: _counts(row.get("counts") or {})),
    ("created", lambda row: views.when(row.get("created_at"))),
]
_MEMBER_COLUMNS: list[views.Column] = [
    ("deployment", "deployment_id"),
    ("site", "site"),
    ("wave", lambda row: str(row["wave"] + 1)),
    ("status", "status"),
    ("attempts", lambda row: str(row["attempts"])),
    ("execution", "execution_id"),
    ("revision", _revisions),
    ("started", lambda row: views.when(row.get("started_at"))),
    ("ended", lambda row: views.when(row.get("ended_at"))),
    ("error", "error"),
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn rollouts start update -g prod -p blueprint_id=crm-v2 --waves 1,25%,100% "
        "--max-failures 10% --on-failure rollback\n\n"
        "  cairn rollouts start install -g edge --concurrency 50 --soak 5m --follow\n\n"
        "  cairn rollouts start heal -g eu --offline wait\n\n"
        "Waves are cumulative marks (a count or a percentage of the members); the first is the "
        "canary. At --max-failures failed members (N or P%, default 1) the rollout pauses "
        "(default), stops, or rolls back what it changed. Offline sites are skipped and "
        "converge when they are back (--offline skip), or their wave waits (wait), or they "
        "fail (fail)."
    )
)
def start(
    workflow: Annotated[
        str, typer.Argument(metavar="WORKFLOW", help="The workflow, e.g. update, install, heal.")
    ],
    *,
    group: Annotated[
        str, typer.Option("-g", "--group", metavar="GROUP", help="The group to roll out to.")
    ],
    parameters: options.ParamsOpt = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", metavar="N", help="Members running at once (default 20).", min=1
        ),
    ] = None,
    waves: Annotated[
        str | None,
        typer.Option(
            "--waves",
            metavar="MARKS",
            help="Cumulative wave marks, e.g. 1,10%,50%,100% (default: one wave).",
        ),
    ] = None,
    soak: Annotated[
        str | None,
        typer.Option(
            "--soak", metavar="DURATION", help="Wait between waves, e.g. 30s, 5m (default 0)."
        ),
    ] = None,
    max_failures: Annotated[
        str | None,
        typer.Option(
            "--max-failures",
            metavar="N|P%",
            help="Act when this many members have failed (default 1).",
        ),
    ] = None,
    on_failure: Annotated[
        str | None,
        typer.Option(
            "--on-failure", metavar="pause|stop|rollback", help="What to do then (default pause)."
        ),
    ] = None,
    offline: Annotated[
        str | None,
        typer.Option(
            "--offline",
            metavar="skip|wait|fail",
            help="Members whose site is offline (default skip).",
        ),
    ] = None,
    follow_: Annotated[
        bool, typer.Option("--follow", "-f", help="Show its progress until it ends.")
    ] = False,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Start a rollout of WORKFLOW across a group's deployments."""
    body = {
        "workflow_id": workflow,
        "group_id": group,
        "parameters": options.parameters(parameters),
        "concurrency": concurrency,
        "waves": None if waves is None else [w.strip() for w in waves.split(",")],
        "soak": soak,
        "max_failures": max_failures,
        "on_failure": on_failure,
        "offline": offline,
    }
    remote = client.connect()
    started = remote.post("/rollouts", body=body)
    if output_format is not output.Format.table:
        views.dump(started, output_format)
        return
    output.line(
        f"rollout {started['id']} started: {workflow} on {started['members']} member(s) of "
        f"{group} in {started['waves']} wave(s)"
    )
    if follow_:
        raise typer.Exit(_follow(remote, started["id"]))
    output.line(f"follow it with: cairn rollouts follow {started['id']}")


@app.command("list")
def list_(output_format: options.OutputOpt = output.Format.table) -> None:
    """List rollouts: status, wave, members by status."""
    found = client.connect().get("/rollouts")
    views.show(found, output_format, lambda rows: [views.records("Rollouts", rows, _COLUMNS)])


@app.command()
def get(rollout_id: IdArg, output_format: options.OutputOpt = output.Format.table) -> None:
    """Show a rollout: settings, waves, and the failed members with their first error line."""
    found = client.connect().get(f"/rollouts/{rollout_id}")
    views.show(found, output_format, lambda row: [_summary(row), *_details(row)])


@app.command()
def members(
    rollout_id: IdArg,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", metavar="STATUS", help="Only members in this status. Repeatable."),
    ] = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Show a rollout's ledger: each member's status, execution, attempts, first error line."""
    found = client.connect().get(f"/rollouts/{rollout_id}/members", params={"status": status})
    views.show(
        found,
        output_format,
        lambda rows: [views.records(f"Rollout {rollout_id}", rows, _MEMBER_COLUMNS)],
    )


@app.command()
def follow(rollout_id: IdArg) -> None:
    """Show a rollout's progress live (a bar per wave, counts, failing members) until it ends;
    exit 0 if it succeeded, 1 otherwise. Ctrl-C stops following; the rollout goes on."""
    raise typer.Exit(_follow(client.connect(), rollout_id))


@app.command()
def pause(rollout_id: IdArg) -> None:
    """Pause a rollout: no member starts until 'resume'; running members finish."""
    _act(rollout_id, "pause")


@app.command()
def resume(rollout_id: IdArg) -> None:
    """Resume a paused, stopped or failed rollout; the failure threshold counts afresh."""
    _act(rollout_id, "resume")


@app.command()
def cancel(rollout_id: IdArg) -> None:
    """Cancel a rollout: no member starts; running members' executions are cancelled."""
    _act(rollout_id, "cancel")


@app.command("retry-failed")
def retry_failed(
    rollout_id: IdArg,
    follow_: Annotated[
        bool, typer.Option("--follow", "-f", help="Show its progress until it ends.")
    ] = False,
) -> None:
    """Rerun only the failed members, resuming their executions, and set the rollout going."""
    remote = _act(rollout_id, "retry-failed")
    if follow_:
        raise typer.Exit(_follow(remote, rollout_id))


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn rollouts rollback 20261129-101500-a1b2c3 --members crm-paris\n\n"
        "  cairn rollouts rollback 20261129-101500-a1b2c3 --members crm-paris crm-lyon\n\n"
        "An update rollout returns each member to the revision it was at before (a failed "
        "update is given up and undone); install is undone by uninstall."
    )
)
def rollback(
    rollout_id: IdArg,
    members_: Annotated[
        list[str],
        typer.Option(
            "--members",
            metavar="DEP",
            help="A member's deployment id. Repeatable, or several after one --members.",
        ),
    ],
    extra: Annotated[
        list[str] | None, typer.Argument(metavar="[DEP]...", help="More members.", hidden=True)
    ] = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Roll chosen members back to their state before the rollout."""
    names = split_members([*members_, *(extra or ())])
    started = client.connect().post(f"/rollouts/{rollout_id}/rollback", body={"members": names})
    if output_format is not output.Format.table:
        views.dump(started, output_format)
        return
    for member in started:
        state = member["status"]
        if state == "rolling_back":
            output.line(
                f"{member['deployment_id']}: rolling back (execution "
                f"{member['rollback_execution_id']})"
            )
        else:
            output.line(f"{member['deployment_id']}: {state}: {member.get('error') or ''}")


@app.command()
def delete(rollout_id: IdArg) -> None:
    """Delete an ended rollout and its ledger."""
    client.connect().delete(f"/rollouts/{rollout_id}")
    output.line(f"rollout {rollout_id} deleted")


def _act(rollout_id: str, action: str) -> client.Client:
    remote = client.connect()
    found = remote.post(f"/rollouts/{rollout_id}/{action}")
    output.line(f"rollout {rollout_id} {found['status']}: {_counts(found.get('counts') or {})}")
    return remote


# --- showing one --------------------------------------------------------------------------


def _summary(row: Mapping[str, Any]) -> Table:
    settings = row.get("settings") or {}
    keys: list[views.Column] = [
        ("workflow", "workflow_id"),
        ("group", "group_id"),
        ("status", "status"),
        ("reason", "reason"),
        ("wave", lambda r: f"{r['wave'] + 1} of {r['waves']}"),
        ("next wave at", lambda r: views.when(r.get("next_wave_at"))),
        ("members", lambda r: str(r.get("members"))),
        ("counts", lambda r: _counts(r.get("counts") or {})),
        ("settings", lambda _r: ", ".join(f"{k} {v}" for k, v in settings.items())),
        ("parameters", lambda r: views.text(r.get("parameters") or {})),
        ("created", lambda r: f"{views.when(r.get('created_at'))} by {r.get('created_by')}"),
        ("ended", lambda r: views.when(r.get("ended_at"))),
    ]
    return views.fields(f"Rollout {row['id']}", row, keys)


def _details(row: Mapping[str, Any]) -> list[Table]:
    shown = [_waves(row)]
    failing = row.get("failing") or []
    if failing:
        shown.append(views.records("Failed members", failing, _MEMBER_COLUMNS))
    return shown


def _waves(row: Mapping[str, Any]) -> Table:
    table = Table(title="Waves", title_justify="left", expand=False)
    for column in ("wave", "progress", "done", "counts"):
        table.add_column(column)
    for wave in row.get("by_wave") or []:
        total = int(wave["members"])
        counts = wave["counts"]
        done = sum(n for status, n in counts.items() if status in DONE)
        marker = " <" if wave["wave"] == row["wave"] and row["status"] not in ENDED else ""
        table.add_row(
            f"{wave['wave'] + 1}{marker}",
            ProgressBar(total=max(total, 1), completed=done, width=30),
            f"{done}/{total}",
            _counts(counts),
        )
    return table


def _follow(remote: client.Client, rollout_id: str) -> int:
    """Shows the rollout until it ends: live on a terminal, a line per change otherwise."""
    out = views.console()
    last = ""
    try:
        if out.is_terminal:
            with Live(console=out, auto_refresh=False) as live:
                while True:
                    row = remote.get(f"/rollouts/{rollout_id}")
                    live.update(Group(_headline(row), *_details(row)), refresh=True)
                    if _settled(row):
                        break
                    time.sleep(POLL_SECONDS)
        else:
            while True:
                row = remote.get(f"/rollouts/{rollout_id}")
                line = _headline(row).plain
                if line != last:
                    output.line(line)
                    last = line
                if _settled(row):
                    break
                time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        raise errors.CairnError(
            f"stopped following; rollout {rollout_id} goes on (cairn rollouts follow {rollout_id})"
        ) from None
    if not out.is_terminal:
        for member in row.get("failing") or []:
            output.line(f"  {member['deployment_id']} ({member['site']}): {member.get('error')}")
    if row.get("reason"):
        output.line(f"rollout {rollout_id} {row['status']}: {row['reason']}")
    return 0 if row["status"] == "succeeded" else 1


def _settled(row: Mapping[str, Any]) -> bool:
    """Ended, with no member moving any more."""
    return row["status"] in ENDED and not MOVING & set(row.get("counts") or {})


def _headline(row: Mapping[str, Any]) -> Text:
    return Text(
        f"rollout {row['id']} {row['status']} · wave {row['wave'] + 1}/{row['waves']} · "
        f"{_counts(row.get('counts') or {})}"
    )


def split_members(values: Sequence[str]) -> list[str]:
    return [v for value in values for v in value.split(",") if v]
