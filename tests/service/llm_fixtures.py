"""The real local LLM (llama.cpp via xllamacpp, Qwen2.5-Coder-1.5B) for tests, started once per session.

Import the fixture into a test module with `llm_server = llm_fixtures.llm_server`. Threads default to 2, or 1
when the machine is already busy (qa.llm_server.auto_threads); QA_TEST_LLM_THREADS overrides.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.config import Settings
from qa.errors import ModelUnavailable
from qa.llm_server import LocalLLMServer, ensure_weights


@pytest.fixture(scope="session")
def llm_weights() -> Path:
    try:
        return ensure_weights(Settings().cache_dir)
    except ModelUnavailable as exc:
        pytest.fail(f"the local LLM's weights could not be obtained: {exc.message}", pytrace=False)


@pytest.fixture(scope="session")
def llm_server(llm_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLLMServer]:
    """A running server on a free 127.0.0.1 port; `.base_url` is what QA_LLM_BASE_URL should be."""
    threads = int(os.environ["QA_TEST_LLM_THREADS"]) if os.environ.get("QA_TEST_LLM_THREADS") else None
    log_file = tmp_path_factory.mktemp("llm") / "server.log"
    server = LocalLLMServer(llm_weights, threads=threads, log_file=log_file)
    try:
        server.start()
    except ModelUnavailable as exc:
        tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
        pytest.fail(f"the local LLM server did not start: {exc.message}\n{tail}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
