"""Helpers for CLI tests against a real manager: ``cairn up`` in a subprocess, on a free
loopback port, with its own data directory; the CLI run as the installed console script."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def cairn_script() -> str:
    found = shutil.which("cairn", path=os.path.dirname(sys.executable))
    assert found, f"no `cairn` console script next to {sys.executable}; run `pip install -e .`"
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_env(tmp: Path) -> dict[str, str]:
    """The environment of a user with no saved profile and no Cairn variables set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update(
        COLUMNS="200",
        CAIRN_CONFIG_DIR=str(tmp / "config"),
        TMPDIR=str(tmp / "tmp"),
    )
    (tmp / "tmp").mkdir(parents=True, exist_ok=True)
    return env


@dataclass
class Manager:
    """A running ``cairn up``; :meth:`cli` runs a command against it."""

    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def cli(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        timeout: float = 90,
    ) -> subprocess.CompletedProcess[str]:
        merged = {**self.env, "CAIRN_MANAGER": self.url, "CAIRN_DATA_DIR": str(self.data_dir)}
        merged.update(env or {})
        return subprocess.run(
            [cairn_script(), *args],
            cwd=REPO,
            env=merged,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""


def wait_healthy(url: str, process: subprocess.Popen[bytes] | None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"cairn up exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"{url} did not become healthy in {seconds} s")


@contextlib.contextmanager
def running_manager(tmp: Path, *, extra_env: Mapping[str, str] | None = None) -> Iterator[Manager]:
    """``cairn up`` in the foreground, in a subprocess; stopped with SIGTERM afterwards."""
    port = free_port()
    data_dir = tmp / "data"
    env = base_env(tmp)
    env.update(extra_env or {})
    log = tmp / "up.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [cairn_script(), "up", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    manager = Manager(
        url=f"http://127.0.0.1:{port}", data_dir=data_dir, env=env, process=process, log=log
    )
    try:
        wait_healthy(manager.url, process)
        yield manager
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# A blueprint whose script operations record each run in $MARKS and can be told, through
# files in $CONTROL (both from the manager's environment), to fail or to take their time.
OPERATION = """\
#!/bin/sh
name=$(ctx node name)
op=$(ctx operation name | sed 's/.*\\.//')
echo "$name $op" >> "$MARKS"
if [ -f "$CONTROL/fail-$name-$op" ]; then
  echo "failing on purpose" >&2
  exit 1
fi
if [ -f "$CONTROL/sleep-$name-$op" ]; then
  sleep "$(cat "$CONTROL/sleep-$name-$op")"
fi
ctx instance runtime-properties "done_$op" true
"""

BLUEPRINT = """\
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - cloudify/types/types.yaml
inputs:
  greeting:
    type: string
    default: hello
    constraints:
      - valid_values: [hello, hi]
node_templates:
  db:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/op.sh
        start: scripts/op.sh
        delete: scripts/op.sh
  app:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/op.sh
          max_retries: 0
        start:
          implementation: scripts/op.sh
          max_retries: 0
        delete: scripts/op.sh
    relationships:
      - type: cloudify.relationships.connected_to
        target: db
outputs:
  greeting:
    value: { get_input: greeting }
  app_started:
    value: { get_attribute: [app, done_start] }
"""


def write_blueprint(folder: Path, body: str = BLUEPRINT, script: str = OPERATION) -> Path:
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    (folder / "scripts" / "op.sh").write_text(script)
    (folder / "scripts" / "op.sh").chmod(0o755)
    (folder / "blueprint.yaml").write_text(textwrap.dedent(body))
    return folder


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cairn: error: "), lines[0]
    return lines[0]
