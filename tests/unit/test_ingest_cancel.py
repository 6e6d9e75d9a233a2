"""An ingest cancelled before it stores anything leaves the installation as it was: in particular no
empty collection that did not exist before (real ingest worker and embedder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import Settings
from qa.errors import IngestCancelled
from qa.service import QAService
from qa.worker import IngestControl, Source

TEXT = "\n".join(f"第{i}条:示范区第{i}号道路全长{i * 3}公里,沿线新建公交站{i % 7 + 1}个。" for i in range(40))


def _cancelled_once_embedding_starts(sources: int) -> IngestControl:
    """A control cancelled when the chunks to embed are counted, i.e. after every source was parsed."""

    def progress(done: int, total: int) -> None:
        if total > sources:
            control.cancel()

    control = IngestControl(progress)
    return control


def test_a_cancelled_ingest_into_a_new_collection_makes_no_collection(tmp_path: Path) -> None:
    service = QAService(Settings(index_dir=tmp_path))
    try:
        sources = [Source(name="roads.txt", source="roads.txt", text=TEXT)]
        with pytest.raises(IngestCancelled):
            service.ingest_sources(sources, "fresh", _cancelled_once_embedding_starts(len(sources)))
        assert not service.collections.exists("fresh")
        assert service.collections.names() == []
        # the same ingest, not cancelled, makes it
        report = service.ingest_sources(sources, "fresh")
        assert report.added == ["roads.txt"] and service.collections.exists("fresh")
    finally:
        service.close()


def test_a_cancelled_ingest_into_a_collection_keeps_what_it_held(tmp_path: Path) -> None:
    service = QAService(Settings(index_dir=tmp_path))
    try:
        service.ingest_sources([Source(name="a.txt", source="a.txt", text="今年新建学校2所。")], "kept")
        more = [Source(name="roads.txt", source="roads.txt", text=TEXT)]
        with pytest.raises(IngestCancelled):
            service.ingest_sources(more, "kept", _cancelled_once_embedding_starts(len(more)))
        assert [d.source for d in service.list_documents("kept")] == ["a.txt"]
    finally:
        service.close()
