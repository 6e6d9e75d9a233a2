"""Schemathesis over the app's own OpenAPI schema: no generated request may produce a 5xx."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import copy_index, running_server

pytestmark = [pytest.mark.service, pytest.mark.slow]


@pytest.fixture(scope="module")
def fuzz_server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    index_dir = copy_index(seed_index, tmp_path_factory.mktemp("fuzz") / "index")
    # a generous rate limit: the fuzzer is one client sending many requests
    with running_server(index_dir, {"QA_RATE_LIMIT_PER_MINUTE": "100000"}) as base:
        yield base


def test_no_server_errors_under_schemathesis(fuzz_server: str, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "run",
            f"{fuzz_server}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--max-time",
            "50",
            "--workers",
            "1",
            "--seed",
            "20261123",
            "--request-timeout",
            "120",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
