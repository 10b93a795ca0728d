"""A real `studio serve` for the Python and browser tests: started on 127.0.0.1 (a free port),
stopped by its own pid.

The binary is $STUDIO_BIN, else the first of .build/release/studio and .build/debug/studio under
the repository. The test models (smollm2:135m, qwen2.5-coder:0.5b) come from $STUDIO_HOME
(default ~/.cache/studio); a missing one fails the tests with the command that installs it. A
server may get a private STUDIO_HOME (`private_home`) whose models/ links the real files, so its
keys, audit log and prompts start empty and never reach another test's server.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
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
    def __init__(self, process: subprocess.Popen, port: int, log: Path, home: Path | None = None):
        self.process = process
        self.port = port
        self.log = log
        self.home = home
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

    def status(self, path: str) -> int:
        return self.get(path, timeout=2)[0]


def require_models(models: dict[str, str] = MODELS) -> None:
    for alias, file in models.items():
        if not (HOME / "models" / f"{file}.gguf").exists():
            pytest.fail(f"{HOME}/models/{file}.gguf is missing: run `studio pull {alias}` first.")


def private_home(tmp: Path, models: dict[str, str] = MODELS) -> Path:
    """A fresh STUDIO_HOME whose models/ links the installed test models and their manifests."""
    require_models(models)
    home = tmp / "studio-home"
    (home / "models").mkdir(parents=True)
    for file in models.values():
        for suffix in (".gguf", ".manifest.json"):
            source = HOME / "models" / f"{file}{suffix}"
            (home / "models" / source.name).symlink_to(source)
    return home


def start_server(tmp: Path, *args: str, home: Path | None = None) -> Server:
    """`studio serve ARGS` on a free port, once it answers /health (60 s at most). With `home`,
    the server uses that STUDIO_HOME instead of the shared one."""
    require_models()
    port = free_port()
    log = tmp / f"serve-{port}.log"
    command = [str(studio_binary()), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    env = {**os.environ}
    env.pop("STUDIO_API_KEY", None)
    if home is not None:
        env["STUDIO_HOME"] = str(home)
    process = subprocess.Popen(command, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=env)
    server = Server(process, port, log, home)
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
