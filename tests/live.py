"""A real uvicorn process on a real port, for tests and benchmarks that need real connections."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.url = url
        self.process = process
        self.log_path = log_path


def start_live_server(
    database_url: str,
    log_path: Path,
    *,
    workers: int = 1,
    extra_args: Sequence[str] = (),
    scheme: str = "http",
    verify: ssl.SSLContext | bool = True,
    port: int | None = None,
    module: str = "medbook",
    **env: str,
) -> LiveServer:
    """Start `medbook serve` and wait for /readyz.

    `extra_args` go to `medbook serve` (e.g. --tls-cert/--tls-key, with scheme="https" and a
    `verify` context that trusts the test CA for the readiness probe). `module` is what
    `python -m` runs: medbook itself, or a test's wrapper around its command line.
    """
    port = port or free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDBOOK_LOG_LEVEL": "warning",
        **env,
    }
    command = [
        sys.executable,
        "-m",
        module,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *extra_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"{scheme}://127.0.0.1:{port}"
    # Worker processes each import the app afresh: on a busy 2-core machine (and without
    # cached bytecode) two of them took over 30 s to answer.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1, verify=verify).status_code == 200:
                return LiveServer(url, process, log_path)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    # Not kill(): the parent must take its workers down with it, or they outlive the test.
    stop_live_server(LiveServer(url, process, log_path))
    raise RuntimeError(f"server did not become ready:\n{log_path.read_text()}")


def stop_live_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, seconds: float = 60) -> None:
        """Wait until the worker's log says `text` (it logs at info level)."""
        deadline = time.monotonic() + seconds
        while text not in self.log:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker never said {text!r}:\n{self.log[-5000:]}")
            time.sleep(0.05)


def start_worker(
    database_url: str,
    log_path: Path,
    *,
    module: str = "medbook",
    extra_args: Sequence[str] = (),
    **env: str,
) -> WorkerProcess:
    """Start `medbook worker` (or a test's wrapper of the command, `module`) and wait until it
    runs jobs. `env` adds to or overrides its settings."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDBOOK_LOG_LEVEL": "info",
        **env,
    }
    command = [sys.executable, "-m", module, "worker", *extra_args]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    worker = WorkerProcess(process, log_path)
    try:
        worker.wait_for("Starting worker on")
    except RuntimeError:
        stop_worker(worker)
        raise
    return worker


def stop_worker(worker: WorkerProcess) -> None:
    worker.process.terminate()
    try:
        worker.process.wait(30)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait(10)
