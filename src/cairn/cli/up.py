"""``cairn up`` and ``cairn down``: run the embedded manager, in the foreground or detached.

``cairn up`` binds the address first (so a busy port is one clear error), then runs uvicorn
on the API's application factory in this process: the factory opens the manager (SQLite in
the data directory unless ``$CAIRN_DATABASE_URL`` names another database), which starts the
engine, and makes sure an admin token exists. The CLI never imports the API package: it
hands uvicorn the factory's import string and the data directory through the environment.

``--detach`` starts ``cairn up`` again as a new session in the background, logging to
``<data dir>/manager.log``, waits until ``/api/v1/health`` answers, prints the URL and
returns. Every manager writes its pid to ``<data dir>/manager.pid``; ``cairn down`` sends
that process SIGTERM, on which uvicorn stops serving and the manager closes cleanly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from typing import Annotated

import typer

from cairn import errors
from cairn.cli import output
from cairn.services import auth, profiles

FACTORY = "cairn.api.server:app_from_environment"
PID_FILE = "manager.pid"
LOG_FILE = "manager.log"
START_SECONDS = 60.0
STOP_SECONDS = 30.0
# connections waiting to be accepted: thousands of agents reconnect at once after a restart
# (uvicorn's 2,048 overflowed at 10,000 agents); the kernel caps it at net.core.somaxconn
LISTEN_BACKLOG = 16384

DataDirOpt = Annotated[
    pathlib.Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Where the manager keeps its state (default: $CAIRN_DATA_DIR, else the user's "
        "data directory).",
        show_default=False,
    ),
]


def up(
    *,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDR", help="Address to listen on.")
    ] = profiles.DEFAULT_HOST,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")
    ] = profiles.DEFAULT_PORT,
    data_dir: DataDirOpt = None,
    detach: Annotated[
        bool, typer.Option("--detach", help="Run in the background; stop with 'cairn down'.")
    ] = False,
    tls_cert: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--tls-cert",
            metavar="FILE",
            help="Serve HTTPS with this certificate (PEM, chain included); needs --tls-key.",
        ),
    ] = None,
    tls_key: Annotated[
        pathlib.Path | None,
        typer.Option("--tls-key", metavar="FILE", help="The certificate's private key (PEM)."),
    ] = None,
) -> None:
    """Start the manager: the REST API, the engine and the local site, in one process.

    In the foreground it runs until Ctrl-C or SIGTERM. The first start creates an admin
    token in DIR/admin.token (mode 0600), where the CLI on this machine finds it. With
    --tls-cert and --tls-key it serves HTTPS, for agents at sites to reach it directly.
    """
    tls = _tls(tls_cert, tls_key)
    directory = _directory(data_dir)
    running = running_pid(directory)
    if running is not None:
        raise errors.ConflictError(
            f"a manager already runs for {directory} (pid {running}); stop it with 'cairn down'"
        )
    listener = _bind(host, port)
    if detach:
        listener.close()
        _detach(host, port, directory, tls)
        return
    _serve(listener, host, directory, tls)


def _tls(cert: pathlib.Path | None, key: pathlib.Path | None) -> tuple[str, str] | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise errors.UsageError("--tls-cert and --tls-key go together")
    for given in (cert, key):
        if not given.is_file():
            raise errors.UsageError(f"{given}: no such file")
    return str(cert.resolve()), str(key.resolve())


def down(data_dir: DataDirOpt = None) -> None:
    """Stop the manager running for a data directory (it finishes cleanly)."""
    directory = _directory(data_dir)
    pid = running_pid(directory)
    if pid is None:
        output.line(f"no manager is running for {directory}")
        return
    os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, STOP_SECONDS):
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0)
        output.error(f"the manager (pid {pid}) did not stop in {STOP_SECONDS:.0f} s; killed it")
    with contextlib.suppress(FileNotFoundError):
        (directory / PID_FILE).unlink()
    output.line(f"manager stopped (pid {pid})")


def _directory(given: pathlib.Path | None) -> pathlib.Path:
    return (given or profiles.data_dir()).expanduser().resolve()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise errors.CairnError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return listener


def url_of(host: str, port: int, *, tls: bool = False) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    scheme = "https" if tls else "http"
    return f"{scheme}://[{shown}]:{port}" if ":" in shown else f"{scheme}://{shown}:{port}"


def _serve(
    listener: socket.socket, host: str, directory: pathlib.Path, tls: tuple[str, str] | None
) -> None:
    import uvicorn

    port = listener.getsockname()[1]
    os.environ["CAIRN_DATA_DIR"] = str(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pid_path = directory / PID_FILE
    pid_path.write_text(f"{os.getpid()}\n", encoding="utf-8")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    output.line(
        f"cairn: manager at {url_of(host, port, tls=tls is not None)}; data in {directory}; admin token in "
        f"{auth.admin_token_path(directory)}",
        stream=sys.stderr,
    )
    # uvicorn turns SIGTERM and SIGINT into a graceful shutdown, then raises the signal
    # again for the handler that was there before it: make that one return, so the
    # shutdown ends here (pid file removed, exit 0) instead of in the default handler.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: None)
    try:
        # agents' long-polls are cut after this many seconds on shutdown; they reconnect
        config = uvicorn.Config(
            FACTORY,
            factory=True,
            log_level="info",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=3,
            backlog=LISTEN_BACKLOG,
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
        )
        server = uvicorn.Server(config)
        server.run(sockets=[listener])
        if not server.started:
            raise errors.CairnError("the manager did not start (see the messages above)")
    finally:
        listener.close()
        if _read_pid(pid_path) == os.getpid():
            pid_path.unlink(missing_ok=True)


def _detach(host: str, port: int, directory: pathlib.Path, tls: tuple[str, str] | None) -> None:
    import httpx

    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / LOG_FILE
    command = [sys.executable, "-m", "cairn", "up", "--host", host, "--port", str(port)]
    command += ["--data-dir", str(directory)]
    if tls:
        command += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = url_of(host, port, tls=tls is not None)
    deadline = time.monotonic() + START_SECONDS
    while child.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            # only "is it up?": the certificate may name another host than this address
            health = httpx.get(f"{url}/api/v1/health", timeout=1.0, verify=False)
            if health.status_code == 200:
                output.line(url)
                output.line(
                    f"cairn: manager running (pid {child.pid}); log in {log_path}; "
                    "stop it with 'cairn down'",
                    stream=sys.stderr,
                )
                child.returncode = 0  # it lives on by itself; nothing here will wait for it
                return
        if time.monotonic() > deadline:
            child.terminate()
            raise errors.CairnError(
                f"the manager did not answer within {START_SECONDS:.0f} s; see {log_path}"
            )
        time.sleep(0.1)
    raise errors.CairnError(
        f"the manager stopped while starting (exit {child.returncode}): {_last_line(log_path)} "
        f"(log: {log_path})"
    )


def _last_line(path: pathlib.Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no log"


def _read_pid(path: pathlib.Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def running_pid(directory: pathlib.Path) -> int | None:
    """The pid of the manager running for ``directory``, None if none runs.

    A pid file whose process is gone (or is no longer a Cairn process) is stale: removed.
    """
    path = directory / PID_FILE
    pid = _read_pid(path)
    if pid is None:
        return None
    if _alive(pid) and _is_cairn(pid):
        return pid
    path.unlink(missing_ok=True)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is gone for our purposes
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _is_cairn(pid: int) -> bool:
    try:
        command = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc here: trust the pid file
    return b"cairn" in command


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
