"""``cairn agent``: run a site's agent, or show its journal.

The agent is its own program (:mod:`cairn.agent`, which the CLI may not import: entry points
are independent); this command checks its options and replaces itself with
``python -m cairn.agent``, so signals reach the agent directly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cairn import errors

app = typer.Typer(
    name="agent",
    help=(
        "Run the agent of a site: it pulls the site's operations from the manager (HTTP or "
        "HTTPS, long-poll; works behind NAT), runs them here, journals every attempt and its "
        "result, and reports back, buffering while the manager is unreachable."
    ),
    epilog=(
        "Examples:\n\n"
        "  cairn sites token edge-1 --output-file /etc/cairn/edge-1.token\n\n"
        "  cairn agent --manager https://cairn.example.com:8700 --site edge-1 "
        "--token-file /etc/cairn/edge-1.token --ca-file /etc/cairn/ca.pem\n\n"
        "  cairn agent journal --site edge-1"
    ),
    invoke_without_command=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

SiteOpt = Annotated[str | None, typer.Option("--site", metavar="NAME", help="The agent's site.")]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Where the agent keeps its journal and work (default: <user data dir>/agents/SITE).",
    ),
]


def _exec(arguments: list[str]) -> None:
    command = [sys.executable, "-m", "cairn.agent", *arguments]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


@app.callback()
def run(
    ctx: typer.Context,
    *,
    manager: Annotated[
        str | None,
        typer.Option("--manager", metavar="URL", help="The manager's URL, http:// or https://."),
    ] = None,
    site: SiteOpt = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            metavar="FILE",
            help="A file holding the site's agent token (cairn sites token SITE --output-file).",
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", metavar="FILE", help="CA bundle for the manager's certificate."),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not check the manager's TLS certificate.")
    ] = False,
    poll_wait: Annotated[
        float, typer.Option("--poll-wait", min=0, max=30, help="Longest long-poll, seconds.")
    ] = 20.0,
    backoff_max: Annotated[
        float,
        typer.Option("--backoff-max", min=0.1, help="Longest wait between reconnects, seconds."),
    ] = 30.0,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    missing = [
        name
        for name, value in (("--manager", manager), ("--site", site), ("--token-file", token_file))
        if value is None
    ]
    if missing:
        raise errors.UsageError(f"cairn agent needs {', '.join(missing)}")
    assert manager is not None and site is not None and token_file is not None
    if not manager.startswith(("http://", "https://")):
        raise errors.UsageError(f"--manager must be an http:// or https:// URL, not {manager!r}")
    if not token_file.is_file():
        raise errors.UsageError(f"--token-file {token_file}: no such file")
    arguments = ["run", "--manager", manager, "--site", site, "--token-file", str(token_file)]
    arguments += ["--poll-wait", str(poll_wait), "--backoff-max", str(backoff_max)]
    if data_dir is not None:
        arguments += ["--data-dir", str(data_dir)]
    if ca_file is not None:
        arguments += ["--ca-file", str(ca_file)]
    if insecure:
        arguments.append("--insecure")
    _exec(arguments)


@app.command("journal")
def journal(
    site: SiteOpt = None,
    data_dir: DataDirOpt = None,
    output: Annotated[
        str, typer.Option("-o", "--output", help="table or json.", metavar="FORMAT")
    ] = "table",
) -> None:
    """Show the attempts an agent received and what became of each (state, deliveries,
    outcome, and how the manager took the report)."""
    if site is None and data_dir is None:
        raise errors.UsageError("give --site or --data-dir")
    if output not in ("table", "json"):
        raise errors.UsageError(f"-o must be table or json, not {output!r}")
    arguments = ["journal", "-o", output]
    if site is not None:
        arguments += ["--site", site]
    if data_dir is not None:
        arguments += ["--data-dir", str(data_dir)]
    _exec(arguments)
