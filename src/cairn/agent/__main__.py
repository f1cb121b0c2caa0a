"""``python -m cairn.agent``: what ``cairn agent`` runs (the CLI execs this process).

python -m cairn.agent run --manager URL --site NAME --token-file FILE [--data-dir DIR]
python -m cairn.agent journal [--data-dir DIR | --site NAME] [-o json|table]
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import ssl
import sys
import time
from pathlib import Path
from types import FrameType

import cairn
from cairn.agent import client as client_mod
from cairn.agent import journal as journal_mod
from cairn.agent import runner
from cairn.services import auth, profiles


def default_data_dir(site: str) -> Path:
    """``<the user's data dir>/agents/<site>``: several sites' agents may share a machine."""
    return profiles.data_dir() / "agents" / site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cairn agent", description="A Cairn site agent.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the agent of a site")
    run.add_argument("--manager", required=True, help="the manager's URL (http or https)")
    run.add_argument("--site", required=True)
    run.add_argument("--token-file", required=True, type=Path)
    run.add_argument("--data-dir", type=Path)
    run.add_argument("--ca-file", type=Path, help="CA bundle to check the manager's certificate")
    run.add_argument("--insecure", action="store_true", help="do not check the certificate")
    run.add_argument("--poll-wait", type=float, default=20.0)
    run.add_argument("--backoff-max", type=float, default=30.0)
    run.add_argument("--capacity", type=int, default=32)
    run.add_argument("--log-level", default="info")
    show = commands.add_parser("journal", help="show what the agent's journal holds")
    show.add_argument("--site")
    show.add_argument("--data-dir", type=Path)
    show.add_argument("-o", "--output", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    if args.command == "journal":
        return _journal(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise
    token = auth.read_token_file(args.token_file)
    if token is None:
        print(f"cairn agent: no token in {args.token_file}", file=sys.stderr)
        return 2
    verify: bool | ssl.SSLContext = True
    if args.insecure:
        verify = False
    elif args.ca_file is not None:
        verify = ssl.create_default_context(cafile=str(args.ca_file))
    data_dir = args.data_dir or default_data_dir(args.site)
    client = client_mod.ManagerClient(
        manager_url=args.manager, site=args.site, token=token, verify=verify
    )
    agent = runner.Agent(
        client=client,
        data_dir=data_dir,
        poll_wait=args.poll_wait,
        backoff_cap=args.backoff_max,
        capacity=args.capacity,
    )
    stopping: list[int] = []

    def on_signal(number: int, _frame: FrameType | None) -> None:
        stopping.append(number)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logging.getLogger("cairn.agent").info(
        "agent %s of site %s, manager %s, data in %s",
        cairn.__version__,
        args.site,
        args.manager,
        data_dir,
    )
    agent.start()
    try:
        while not stopping:
            time.sleep(0.2)
    finally:
        agent.stop()  # running scripts go on; a restarted agent adopts them
    return 0


def _journal(args: argparse.Namespace) -> int:
    if args.data_dir is None and args.site is None:
        print("cairn agent journal: give --data-dir or --site", file=sys.stderr)
        return 2
    data_dir = args.data_dir or default_data_dir(args.site)
    if not (data_dir / journal_mod.FILE).exists():
        print(f"cairn agent journal: no journal in {data_dir}", file=sys.stderr)
        return 1
    journal = journal_mod.Journal(data_dir)
    try:
        entries = [e.to_json() for e in journal.entries()]
    finally:
        journal.close()
    if args.output == "json":
        print(json.dumps(entries, indent=2))
        return 0
    print(f"{'KEY':<40} {'STATE':<9} {'DELIV':>5} {'OUTCOME':<16} {'VERDICT':<8} OPERATION")
    for e in entries:
        print(
            f"{e['key']:<40} {e['state']:<9} {e['deliveries']:>5} {e['outcome'] or '-':<16} "
            f"{e['verdict'] or '-':<8} {e['operation'] or '-'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
