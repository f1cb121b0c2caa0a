"""``cairn up`` (foreground and ``--detach``) and ``cairn down``, as real processes."""

from __future__ import annotations

import os
import signal
import ssl
import stat
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from cli_support import (
    base_env,
    cairn_script,
    free_port,
    one_line_error,
    running_manager,
    write_blueprint,
)

from http_serving import self_signed

pytestmark = pytest.mark.integration


def _cairn(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cairn_script(), *args], env=env, capture_output=True, text=True, timeout=90, check=False
    )


def _gone(pid: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_detach_then_down(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    data = tmp_path / "data"
    port = free_port()
    started = _cairn("up", "--detach", "--port", str(port), "--data-dir", str(data), env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    url = f"http://127.0.0.1:{port}"
    assert started.stdout.strip() == url
    pid = int((data / "manager.pid").read_text())
    try:
        assert httpx.get(f"{url}/api/v1/health", timeout=5).json() == {"status": "ok"}
        token = (data / "admin.token").read_text().strip()
        assert stat.S_IMODE((data / "admin.token").stat().st_mode) == 0o600
        status = httpx.get(
            f"{url}/api/v1/status", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert status.status_code == 200
        again = _cairn(
            "up", "--detach", "--port", str(free_port()), "--data-dir", str(data), env=env
        )
        assert again.returncode == 1
        assert f"(pid {pid})" in one_line_error(again)
        assert "Application startup complete" in (data / "manager.log").read_text()
    finally:
        stopped = _cairn("down", "--data-dir", str(data), env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"manager stopped (pid {pid})"
    assert _gone(pid)
    assert not (data / "manager.pid").exists()
    assert "Application shutdown complete" in (data / "manager.log").read_text()
    idle = _cairn("down", "--data-dir", str(data), env=env)
    assert idle.returncode == 0
    assert idle.stdout.startswith("no manager is running")


def test_sigterm_stops_the_foreground_manager_cleanly(tmp_path: Path) -> None:
    with running_manager(tmp_path) as manager:
        assert manager.process is not None
        pid_file = manager.data_dir / "manager.pid"
        assert int(pid_file.read_text()) == manager.process.pid
        manager.process.send_signal(signal.SIGTERM)
        assert manager.process.wait(timeout=30) == 0
        assert not pid_file.exists()
        log = manager.output()
        assert "Application shutdown complete" in log
        assert "Traceback" not in log


def test_a_busy_port_is_one_clear_error(tmp_path: Path) -> None:
    with running_manager(tmp_path / "first") as manager:
        port = manager.url.rsplit(":", 1)[1]
        env = base_env(tmp_path)
        busy = _cairn("up", "--port", port, "--data-dir", str(tmp_path / "other"), env=env)
        assert busy.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in one_line_error(busy)


def test_up_on_postgresql(tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    server = "host=127.0.0.1 port=5432 user=postgres"
    try:
        admin = psycopg.connect(f"{server} dbname=postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})")
    name = f"cairn_up_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
            with running_manager(tmp_path, extra_env={"CAIRN_DATABASE_URL": url}) as manager:
                folder = write_blueprint(tmp_path / "bp")
                assert manager.cli("blueprints", "upload", str(folder), "-b", "pg").returncode == 0
                created = manager.cli("deployments", "create", "pgd", "-b", "pg")
                assert created.returncode == 0, created.stderr
                assert not (manager.data_dir / "cairn.db").exists()
            with psycopg.connect(f"{server} dbname={name}") as conn:
                rows = conn.execute("SELECT count(*) FROM deployments").fetchone()
            assert rows == (1,)
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_up_serves_https_with_a_certificate(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    data = tmp_path / "data"
    cert, key = self_signed(tmp_path)
    port = free_port()
    started = _cairn(
        "up", "--detach", "--port", str(port), "--data-dir", str(data),
        "--tls-cert", cert, "--tls-key", key, env=env,
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        assert started.stdout.strip() == f"https://127.0.0.1:{port}"
        trusted = ssl.create_default_context(cafile=cert)
        answer = httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=trusted, timeout=5)
        assert answer.json() == {"status": "ok"}
    finally:
        assert _cairn("down", "--data-dir", str(data), env=env).returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ("--tls-cert", "x.crt"),
        ("--tls-key", "x.key"),
        ("--tls-cert", "missing.crt", "--tls-key", "missing.key"),
    ],
)
def test_tls_options_go_together_and_must_exist(tmp_path: Path, args: tuple[str, ...]) -> None:
    env = base_env(tmp_path)
    refused = _cairn("up", "--data-dir", str(tmp_path / "data"), *args, env=env)
    assert refused.returncode == 2, refused.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "needs --manager, --site, --token-file"),
        (("--manager", "ftp://x", "--site", "a", "--token-file", "t"), "must be an http"),
        (("--manager", "http://x", "--site", "a", "--token-file", "nope"), "no such file"),
    ],
)
def test_agent_bad_usage_exits_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    env = base_env(tmp_path)
    (tmp_path / "t").write_text("token\n")
    refused = subprocess.run(
        [cairn_script(), "agent", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert message in refused.stderr
