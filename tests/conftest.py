"""Fixtures shared by every tier: the sample corpus ingested once with the real CLI, and a service over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support import SEEDS, run_qa

if TYPE_CHECKING:
    from qa.service import QAService


def pytest_configure(config: pytest.Config) -> None:
    # what `qa` does when it starts, so components run in-process get the same thread pools and offline switches
    from qa.runtime import configure_process

    configure_process(torch_model=True)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index dir holding the sample corpus in collection `default`. Read-only: copy it to mutate."""
    index_dir = tmp_path_factory.mktemp("seed-index")
    result = run_qa("ingest", str(SEEDS), index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    return index_dir


@pytest.fixture(scope="module")
def seed_service(seed_index: Path) -> Iterator[QAService]:
    """A service over the sample corpus, in this process (real embedder, FAISS and answer model); one a module."""
    from qa.config import Settings
    from qa.service import QAService

    service = QAService(Settings(index_dir=seed_index))
    yield service
    service.close()
