"""``cairn events list -e EXECUTION [--follow]``: an execution's events and logs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cairn.cli import client, follow, options, output, views

app = typer.Typer(
    name="events",
    help="Show an execution's events and logs (operation output included).",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

PAGE = 1000


@app.command("list")
def list_(
    execution_id: Annotated[
        str, typer.Option("-e", "--execution-id", metavar="EXECUTION", help="The execution.")
    ],
    follow_: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep printing new events until the execution ends."),
    ] = False,
    after_id: Annotated[
        int, typer.Option("--after-id", metavar="N", help="Only events after event N.")
    ] = 0,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Print an execution's events: time, node instance, operation, message.

    With -o json, a JSON list of events (with --follow: one JSON object per line).
    """
    remote = client.connect()
    if follow_ and output_format is output.Format.table:
        ended = follow.events(remote, execution_id, after_id=after_id)
        output.line(follow.summary(ended))
        return
    found: list[dict[str, object]] = []
    while True:
        page = remote.get(
            "/events",
            params={
                "execution_id": execution_id,
                "after_id": after_id,
                "limit": PAGE,
                "wait": follow.WAIT_SECONDS if follow_ else 0,
            },
            timeout=follow.WAIT_SECONDS + client.TIMEOUT_SECONDS,
        )
        if follow_:
            for event in page["events"]:
                output.line(json.dumps(event, ensure_ascii=False))
        else:
            found.extend(page["events"])
        after_id = page["last_id"]
        if page["complete"] or (not follow_ and len(page["events"]) < PAGE):
            break
    if follow_:
        return
    if output_format is output.Format.table:
        views.print_events(found)
    else:
        views.dump(found, output_format)
