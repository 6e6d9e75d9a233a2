"""Browser tier: the real CLI ingests the sample corpus, the real server runs on 127.0.0.1, Debian's Chromium drives it.

Playwright's own browser download is never used (it fails offline); Debian's `chromium` package is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, copy_index, free_port, running_server

SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("QA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

try:
    from playwright.sync_api import Browser, Page, Route, sync_playwright
except ImportError:  # the test extra is not installed: skip this tier, not the whole run
    collect_ignore_glob = ["test_*.py"]


# The widget's own behaviour is under test: no LLM, and no rate limit on the tests' many requests.
_SERVER_ENV = {"QA_RATE_LIMIT_PER_MINUTE": "0"}


@pytest.fixture(scope="session")
def seeded_index(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the ingested sample corpus (the tests upload documents into it)."""
    return copy_index(seed_index, tmp_path_factory.mktemp("browser") / "index")


# Module scope: the servers stop when the browser tests end instead of idling through the rest of the run.
@pytest.fixture(scope="module")
def server_url(seeded_index: Path) -> Iterator[str]:
    """The open service (no keys), as `make serve` runs it."""
    with running_server(seeded_index, _SERVER_ENV) as url:
        yield url


PUBLIC_KEY = "pk-widget-test-public"
FULL_KEY = "sk-widget-test-full"


@pytest.fixture(scope="session")
def service_keys() -> dict[str, str]:
    return {"public": PUBLIC_KEY, "full": FULL_KEY}


@pytest.fixture(scope="module")
def keyed_server_url(seeded_index: Path) -> Iterator[str]:
    """The service with keys required: a public key (the widget's) may ask from its own origin, nothing more."""
    port = free_port()
    keys = {
        "QA_API_KEYS": FULL_KEY,
        "QA_PUBLIC_KEYS": PUBLIC_KEY,
        "QA_CORS_ORIGINS": f"http://127.0.0.1:{port}",
    }
    with running_server(seeded_index, _SERVER_ENV | keys, port=port) as url:
        yield url


# Module scope, not session: a live sync Playwright keeps an event loop running in the main thread, which
# breaks every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh context per test; only 127.0.0.1 is reachable, so a stray external request fails the page, not CI."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 820})
    context.route("**/*", _only_loopback)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _only_loopback(route: Route) -> None:
    url = route.request.url
    if url.startswith(("http://127.0.0.1", "about:", "data:")):
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
