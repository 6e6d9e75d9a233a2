"""Browser tier: the real CLI ingests the sample corpus, the real server runs on 127.0.0.1, Debian's Chromium drives it.

Playwright's own browser download is never used (it fails offline); Debian's `chromium` package is.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "data" / "seeds"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("QA_TEST_CHROMIUM", "/usr/bin/chromium")
_CLI = [sys.executable, "-m", "qa.cli"]
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(index_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The widget's own behaviour is under test: no keys, no LLM, no hub.
    for name in ("QA_API_KEYS", "QA_PUBLIC_KEYS", "QA_LLM_BASE_URL", "QA_CORS_ORIGINS"):
        env.pop(name, None)
    env.update(
        {
            "QA_INDEX_DIR": str(index_dir),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "QA_RATE_LIMIT_PER_MINUTE": "0",
        }
    )
    return env


@pytest.fixture(scope="session")
def seeded_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus, ingested with the real CLI."""
    index_dir = tmp_path_factory.mktemp("browser-index")
    ingest = subprocess.run(
        [*_CLI, "ingest", str(SEEDS), "--index-dir", str(index_dir)],
        cwd=ROOT,
        env=_env(index_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ingest.returncode == 0, f"ingest failed:\n{ingest.stdout}\n{ingest.stderr}"
    return index_dir


@contextmanager
def _serve(index_dir: Path, port: int, extra_env: dict[str, str], log_path: Path) -> Iterator[str]:
    """The real `qa serve` on 127.0.0.1:port, healthy before it is handed out, stopped afterwards."""
    env = _env(index_dir) | extra_env
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*_CLI, "serve", "--index-dir", str(index_dir), "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not become healthy:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def server_url(seeded_index: Path) -> Iterator[str]:
    """The open service (no keys), as `make serve` runs it."""
    with _serve(seeded_index, _free_port(), {}, seeded_index / "server.log") as url:
        yield url


PUBLIC_KEY = "pk-widget-test-public"
FULL_KEY = "sk-widget-test-full"


@pytest.fixture(scope="session")
def service_keys() -> dict[str, str]:
    return {"public": PUBLIC_KEY, "full": FULL_KEY}


@pytest.fixture(scope="session")
def keyed_server_url(seeded_index: Path) -> Iterator[str]:
    """The service with keys required: a public key (the widget's) may ask from its own origin, nothing more."""
    port = _free_port()
    keys = {
        "QA_API_KEYS": FULL_KEY,
        "QA_PUBLIC_KEYS": PUBLIC_KEY,
        "QA_CORS_ORIGINS": f"http://127.0.0.1:{port}",
    }
    with _serve(seeded_index, port, keys, seeded_index / "keyed-server.log") as url:
        yield url


@pytest.fixture(scope="session")
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
