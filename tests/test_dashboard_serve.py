"""``kpi serve``: the project's Streamlit config wherever it is started from, and SIGTERM stops it all.

The process test starts the real server (``python -m kpi_cli serve``) from a temporary folder, on a
free 127.0.0.1 port, in its own session; what the browser then shows (theme, no tracebacks) is
tests/browser/test_hardening.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from kpi_cli.serve import serve_command

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def _flags(cmd: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for flag, value in zip(cmd, cmd[1:]):
        if flag.startswith("--"):
            out.setdefault(flag[2:], []).append(value)
    return out


def test_the_project_config_never_shows_error_details():
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert CONFIG["client"]["toolbarMode"] == "viewer"


def test_serve_passes_every_project_config_option_as_a_flag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder without .streamlit/: Streamlit alone would read no config
    for name in [k for k in os.environ if k.startswith("STREAMLIT_")]:
        monkeypatch.delenv(name)
    cmd = serve_command(8599)
    assert cmd[1:5] == ["-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py")]
    flags = _flags(cmd)
    for section, values in CONFIG.items():
        for key, value in values.items():
            want = str(value).lower() if isinstance(value, bool) else str(value)
            assert flags.get(f"{section}.{key}") == [want], (section, key, flags.get(f"{section}.{key}"))
    assert flags["server.port"] == ["8599"]
    assert flags["client.showErrorDetails"] == ["none"]
    # sign-in secrets: the project's file, then the current folder's (later files win)
    assert flags["secrets.files"][-2:] == [str(ROOT / ".streamlit" / "secrets.toml"),
                                           str(tmp_path.resolve() / ".streamlit" / "secrets.toml")]


def test_an_option_set_in_the_environment_is_left_to_it(monkeypatch):
    monkeypatch.setenv("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", "50")
    monkeypatch.setenv("STREAMLIT_SECRETS_FILES", "/run/secrets/kpi.toml")
    flags = _flags(serve_command(8599))
    assert "server.maxUploadSize" not in flags and "secrets.files" not in flags
    assert flags["client.showErrorDetails"] == ["none"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _group_alive(pgid: int) -> list[str]:
    """The processes still in the process group (zombies excluded)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return out


@pytest.fixture
def serve_from_tmp(tmp_path, demo_copy_of):
    """``kpi serve`` started from a temporary folder on a copy of the demo store (local sign-in)."""
    db = demo_copy_of(tmp_path / "kpi.sqlite")
    port = _free_port()
    env = {**os.environ, "KPI_DB_PATH": str(db), "KPI_AUTH_MODE": "local", "KPI_DEMO_MODE": "true",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "STREAMLIT_SERVER_ADDRESS": "127.0.0.1", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kpi_cli", "serve", "--port", str(port)], cwd=tmp_path,
                                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port):
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "kpi serve was not healthy within 60 s"
            time.sleep(0.25)
        yield proc, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_sigterm_to_kpi_serve_stops_the_whole_server(serve_from_tmp):
    proc, port = serve_from_tmp
    os.kill(proc.pid, signal.SIGTERM)  # to `kpi serve` itself, not its process group
    assert proc.wait(timeout=20) is not None
    deadline = time.monotonic() + 10
    while (left := _group_alive(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"still running after SIGTERM to kpi serve: {left}"
    assert not _healthy(port), "the dashboard still answers after SIGTERM to kpi serve"
