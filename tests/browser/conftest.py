"""Browser fixtures: a live server for the test instance and a Playwright page in the
system Chromium. Without a browser the tests are skipped loudly, unless
HUB_TEST_REQUIRE_BROWSER=1 makes that a failure (CI sets it)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("HUB_TEST_REQUIRE_BROWSER") == "1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]

_missing: list[str] = []


def _browser_problem() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    problem = _browser_problem()
    if problem:
        if REQUIRE:
            pytest.fail(f"HUB_TEST_REQUIRE_BROWSER=1 but {problem}")
        _missing.append(problem)
        pytest.skip(f"BROWSER TESTS SKIPPED: {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                               args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15000)
    p = context.new_page()
    yield p
    context.close()


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The test instance's app served over HTTP on loopback (threaded WSGI server)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


from browser_helpers import login, logout  # noqa: E402,F401  (re-exported for tests)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _missing:
        terminalreporter.write_sep("!", "BROWSER TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"  reason: {_missing[0]}")
        terminalreporter.write_line("  install Chromium (apt-get install chromium) or set HUB_TEST_REQUIRE_BROWSER=1 "
                                    "to make this a failure")
