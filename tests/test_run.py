"""`aftersales run` (what `make run` starts): web server and worker come up, serve, and stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 600) -> str:  # first start loads the demo
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "aftersales run exited early"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
                return response.read().decode()
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer")


def _start(data_dir: Path, port: int, *, flag: bool = False) -> subprocess.Popen:
    """Without the demo data: AFTERSALES_DEMO=0, or (``flag``) ``aftersales run --no-demo``."""
    env = {**os.environ, "AFTERSALES_DATA_DIR": str(data_dir), "PORT": str(port), "AFTERSALES_DEMO": "0"}
    if flag:
        env.pop("AFTERSALES_DEMO")
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "aftersales.cli", "run", *(["--no-demo"] if flag else [])], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    return out.decode()


@pytest.mark.real_clock  # the worker / server is another process on the real clock
def test_run_serves_ui_and_api_then_stops_and_keeps_data(tmp_path):
    port = _free_port()
    proc = _start(tmp_path, port)
    try:
        page = _wait_http(f"http://127.0.0.1:{port}/login/", proc)
        assert 'name="username"' in page
        assert "/static/aftersales/app.css" in page
        css = _wait_http(f"http://127.0.0.1:{port}/static/aftersales/app.css", proc)
        assert "--brand" in css
        schema = _wait_http(f"http://127.0.0.1:{port}/api/openapi.json", proc)
        assert "/api/customers/" in schema
        # the worker reports itself when ready (its beat then repeats the heartbeat through the on-disk queue)
        db = tmp_path / "aftersales.sqlite3"
        deadline = time.monotonic() + 300  # waits, not a timing target
        beats = 0
        while time.monotonic() < deadline and not beats:
            with sqlite3.connect(db) as conn:
                beats = conn.execute("select count(*) from common_workerheartbeat").fetchone()[0]
            time.sleep(1)
        assert beats == 1
    finally:
        output = _stop(proc)
    assert proc.returncode == 0, output
    assert f"http://localhost:{port}/" in output
    assert "aftersales setup" in output and "Demo logins" not in output  # no group yet: says how to make one
    # a second start keeps the data
    with sqlite3.connect(tmp_path / "aftersales.sqlite3") as conn:
        conn.execute("insert into stores_dealergroup (name) values ('kept')")
    proc = _start(tmp_path, port, flag=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/login/", proc)
    finally:
        output = _stop(proc)
    assert "No dealer group yet" not in output and "Demo logins" not in output
    with sqlite3.connect(tmp_path / "aftersales.sqlite3") as conn:
        assert conn.execute("select count(*) from stores_dealergroup where name='kept'").fetchone()[0] == 1
        assert conn.execute("select count(*) from stores_dealergroup").fetchone()[0] == 1  # --no-demo: no demo
