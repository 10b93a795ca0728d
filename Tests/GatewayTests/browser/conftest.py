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
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from studio_server import REPO, private_home, start_server, stop_server  # noqa: E402

PAGES = ["playground", "compare", "prompts", "logs", "keys", "models"]
SCREENSHOTS = REPO / "test-output" / "browser"


def start_workbench_server(tmp: Path):
    """A server with both test models and a private STUDIO_HOME (an empty store)."""
    return start_server(tmp, "--model", "smollm2:135m", "--model", "qwen2.5-coder:0.5b",
                        "--parallel", "4", "--ctx", "1024", "--threads", "2", home=private_home(tmp))


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server for the tests that never create a key."""
    s = start_workbench_server(tmp_path_factory.mktemp("serve"))
    yield s
    stop_server(s)
    assert s.process.returncode in (0, -signal.SIGTERM), s.log.read_text()


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own, for a test that switches authentication on."""
    s = start_workbench_server(tmp_path)
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
