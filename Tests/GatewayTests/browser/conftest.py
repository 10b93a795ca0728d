"""Browser tests of the web workbench: a real `studio serve` and headless Chromium via Selenium.

The server is $STUDIO_BIN (else .build/release/studio, then .build/debug/studio) with a fresh
temporary STUDIO_HOME whose models/ links the test models (smollm2:135m, qwen2.5-coder:0.5b)
from $STUDIO_HOME (default ~/.cache/studio), so each server starts with an empty store. The
browser is Debian's `chromium` with `chromium-driver` (override with $CHROMIUM_BIN and
$CHROMEDRIVER_BIN). The page is the one embedded in the binary, unless $STUDIO_WEB_DIR names a
folder to serve it from (UI development without a rebuild). When a test fails, a screenshot of every page is saved under
test-output/browser/<test name>/ at the repository root.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HOME = Path(os.environ.get("STUDIO_HOME", Path.home() / ".cache" / "studio"))
MODELS = {"smollm2:135m": "smollm2-135m", "qwen2.5-coder:0.5b": "qwen2.5-coder-0.5b"}
PAGES = ["playground", "compare", "prompts", "logs", "keys", "models"]
SCREENSHOTS = REPO / "test-output" / "browser"


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


class Server:
    def __init__(self, process: subprocess.Popen, port: int, log: Path, home: Path):
        self.process = process
        self.port = port
        self.log = log
        self.home = home
        self.base = f"http://127.0.0.1:{port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.base + path, timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code


def studio_home(tmp: Path) -> Path:
    """A fresh STUDIO_HOME whose models/ links the installed test models and their manifests."""
    home = tmp / "studio-home"
    (home / "models").mkdir(parents=True)
    for alias, name in MODELS.items():
        for suffix in (".gguf", ".manifest.json"):
            source = HOME / "models" / f"{name}{suffix}"
            if not source.exists():
                pytest.fail(f"{source} is missing: run `studio pull {alias}` first.")
            (home / "models" / source.name).symlink_to(source)
    return home


def start_server(tmp: Path) -> Server:
    home = studio_home(tmp)
    port = free_port()
    log = tmp / f"serve-{port}.log"
    command = [str(studio_binary()), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--model", "smollm2:135m", "--model", "qwen2.5-coder:0.5b",
               "--parallel", "4", "--ctx", "1024", "--threads", "2"]
    env = {**os.environ, "STUDIO_HOME": str(home)}
    env.pop("STUDIO_API_KEY", None)
    process = subprocess.Popen(command, stdout=open(log, "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    server = Server(process, port, log, home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not server.alive():
            pytest.fail(f"studio serve exited early:\n{log.read_text()}")
        try:
            if server.status("/health") == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(server)
    pytest.fail(f"studio serve did not answer /health within 60 s:\n{log.read_text()}")


def stop_server(server: Server) -> None:
    if server.alive():
        os.kill(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server for the tests that never create a key."""
    s = start_server(tmp_path_factory.mktemp("serve"))
    yield s
    stop_server(s)
    assert s.process.returncode in (0, -signal.SIGTERM), s.log.read_text()


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own, for a test that switches authentication on."""
    s = start_server(tmp_path)
    yield s
    stop_server(s)


def chromium_paths() -> tuple[str, str]:
    browser = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("CHROMEDRIVER_BIN") or shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail("Headless Chromium is missing: apt-get install chromium chromium-driver "
                    "(or set CHROMIUM_BIN and CHROMEDRIVER_BIN).")
    return browser, driver


@pytest.fixture
def browser(request, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        save_screenshots(driver, request.node.name)
    driver.quit()


def save_screenshots(driver, test_name: str) -> None:
    """A screenshot of the page as the test left it, then of every page, plus the browser console."""
    folder = SCREENSHOTS / test_name
    folder.mkdir(parents=True, exist_ok=True)
    try:
        driver.save_screenshot(str(folder / "at-failure.png"))
        (folder / "console.txt").write_text("\n".join(str(e) for e in driver.get_log("browser")))
        base = driver.current_url.split("#")[0]
        for page in PAGES:
            driver.get(f"{base}#/{page}")
            time.sleep(1.5)
            driver.save_screenshot(str(folder / f"{page}.png"))
    except Exception as error:  # the test's own failure is the one to report
        (folder / "screenshot-error.txt").write_text(repr(error))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.report_call = report
