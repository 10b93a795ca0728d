"""Fixtures of the server tests: one shared `studio serve` with smollm2:135m and
qwen2.5-coder:0.5b, and an openai client for it. Starting and stopping servers is in
../studio_server.py (shared with the browser tests); its names are re-exported here for the test
modules (`from conftest import start_server, ...`).
"""

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from studio_server import (  # noqa: E402,F401
    HOME, MODELS, REPO, Server, free_port, private_home, rss_kib, start_server, stop_server, studio_binary,
)


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
