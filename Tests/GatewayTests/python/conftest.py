"""Starts a real `studio serve` on 127.0.0.1 (a free port) for the tests, stops it by its pid.

The binary is $STUDIO_BIN, else the first of .build/release/studio and .build/debug/studio under
the repository. The models are smollm2:135m and qwen2.5-coder:0.5b from $STUDIO_HOME (default
~/.cache/studio); a missing one fails the tests with the command that installs it.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HOME = Path(os.environ.get("STUDIO_HOME", Path.home() / ".cache" / "studio"))
MODELS = {"smollm2:135m": "smollm2-135m", "qwen2.5-coder:0.5b": "qwen2.5-coder-0.5b"}


def studio_binary() -> Path:
    if os.environ.get("STUDIO_BIN"):
        return Path(os.environ["STUDIO_BIN"])
    for config in ("release", "debug"):
        candidate = REPO / ".build" / config / "studio"
        if candidate.exists():
            return candidate
    pytest.fail("No studio binary: build it with `swift build -c release` or set STUDIO_BIN.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Server:
    def __init__(self, process: subprocess.Popen, port: int, log: Path):
        self.process = process
        self.port = port
        self.log = log
        self.base = f"http://127.0.0.1:{port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def get(self, path: str, timeout: float = 10) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


def start_server(tmp: Path, *args: str) -> Server:
    for alias, file in MODELS.items():
        if not (HOME / "models" / f"{file}.gguf").exists():
            pytest.fail(f"{HOME}/models/{file}.gguf is missing: run `studio pull {alias}` first.")
    port = free_port()
    log = tmp / f"serve-{port}.log"
    command = [str(studio_binary()), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    process = subprocess.Popen(command, stdout=open(log, "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Server(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not server.alive():
            pytest.fail(f"studio serve exited early:\n{log.read_text()}")
        try:
            if server.get("/health", timeout=1)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(server)
    pytest.fail(f"studio serve did not answer /health within 60 s:\n{log.read_text()}")


def stop_server(server: Server) -> None:
    if server.alive():
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = start_server(
        tmp_path_factory.mktemp("serve"),
        "--model", "smollm2:135m", "--model", "qwen2.5-coder:0.5b",
        "--parallel", "4", "--ctx", "2048", "--threads", "2", "--queue", "16",
    )
    yield s
    stop_server(s)
    assert s.process.returncode in (0, -signal.SIGTERM), s.log.read_text()


@pytest.fixture(scope="session")
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.base + "/v1", api_key="unused", max_retries=0, timeout=120)
