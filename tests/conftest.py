"""Session fixtures shared by every tier: the sample corpus ingested once with the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import SEEDS, run_qa


def pytest_configure(config: pytest.Config) -> None:
    # what `qa` does when it starts, so components run in-process get the same thread pools and offline switches
    from qa.runtime import configure_process

    configure_process(embedding=True)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index dir holding the sample corpus in collection `default`. Read-only: copy it to mutate."""
    index_dir = tmp_path_factory.mktemp("seed-index")
    result = run_qa("ingest", str(SEEDS), index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    return index_dir
