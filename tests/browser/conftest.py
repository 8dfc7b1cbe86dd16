"""A real Shulian server (demo library, own temp data dir) and a headless Debian Chromium.

Self-contained: nothing here depends on the suite's top-level fixtures (the server is started
with the helpers every test of a server shares, ``tests/servers.py``). The browser is Debian's
``chromium`` (``bash scripts/ensure-chromium.sh``); Playwright never downloads one. Without it the
tests skip, except under CI (``CI=true``), where a missing browser fails the run.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.servers import free_port, http_ready, running, server_env, shulian_command

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class LiveServer:
    url: str
    data_dir: Path


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``shulian demo`` then ``shulian serve`` on a free port, in a fresh temp directory."""
    data_dir = tmp_path_factory.mktemp("shulian-live")
    env = server_env(
        {"SHULIAN_DATA_DIR": str(data_dir), "SHULIAN_SECRET_KEY": secrets.token_urlsafe(32)}
    )
    demo = subprocess.run(
        shulian_command("demo"), cwd=data_dir, env=env, capture_output=True, text=True, timeout=120
    )
    if demo.returncode != 0:
        pytest.fail(f"`shulian demo` failed ({demo.returncode}):\n{demo.stdout}\n{demo.stderr}")
    url = f"http://127.0.0.1:{(port := free_port())}"
    with running(
        shulian_command("serve", "--port", str(port)),
        ready=lambda _: http_ready(url),
        log=data_dir / "server.log",
        env=env,
        cwd=data_dir,
        timeout=STARTUP_TIMEOUT,
        what=f"the server on {url}",
    ):
        yield LiveServer(url=url, data_dir=data_dir)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = (
            "Debian's chromium is not installed, so the browser tests cannot run "
            "(install it with `bash scripts/ensure-chromium.sh` or `apt-get install chromium`)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI never skips them")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright, chromium_path: str) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(
        executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


OpenPage = Callable[[dict[str, int]], Page]

# Reports every Content-Security-Policy violation of a page (an inline script or style, a
# handler, eval, a resource from elsewhere) to the test; installed before any page script runs.
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__shulianCsp(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} ` +
    `at ${e.sourceFile || document.location.pathname}:${e.lineNumber}`);
});
"""


def watch_csp(context: BrowserContext, violations: list[str]) -> None:
    """Collect the CSP violations of every page of ``context`` into ``violations``."""
    context.expose_function("__shulianCsp", lambda report: violations.append(report))
    context.add_init_script(REPORT_CSP)


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer) -> Iterator[OpenPage]:
    """A fresh browser context (no cookies: default language, logged out) at a given viewport;
    narrower than 720 px it behaves as a phone (touch, the page's meta viewport honoured).
    Every test using it also checks that no page broke the Content-Security-Policy."""
    contexts = []
    violations: list[str] = []

    def make(viewport: dict[str, int]) -> Page:
        phone = viewport["width"] < 720
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, is_mobile=phone, has_touch=phone
        )
        context.set_default_timeout(10_000)
        watch_csp(context, violations)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert violations == [], f"Content-Security-Policy violations: {violations}"
