"""`copy_collection` between the embedded store and real Milvus Lite, both ways, with no re-embedding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa.errors import InvalidInput
from qa.index import CollectionStore, DocumentChange, EmbeddedBackend
from qa.index.keyword import terms
from qa.index.migrate import copy_collection
from qa.index.milvus import MilvusBackend, connect
from tests.unit.test_store_contract import DIM, MODEL, _change, _vector


@pytest.fixture
def milvus(tmp_path: Path) -> Iterator[MilvusBackend]:
    uri = str(tmp_path / "milvus.db")
    backend = MilvusBackend(connect(uri), uri=uri, model_name=MODEL, dim=lambda: DIM, index_type="FLAT")
    yield backend
    backend.close()


def _same_content(a: CollectionStore, b: CollectionStore) -> None:
    left, right = list(a.export()), list(b.export())
    assert [x.document for x in left] == [y.document for y in right]
    assert [x.chunks for x in left] == [y.chunks for y in right]
    assert [(x.info.added_at, x.info.updated_at) for x in left] == [(y.info.added_at, y.info.updated_at) for y in right]
    for x, y in zip(left, right, strict=True):
        assert np.allclose(x.vectors, y.vectors, atol=1e-6)


def _docs_ranked(store: CollectionStore, hits: list[tuple[int, float]]) -> list[str]:
    stored = store.chunks([cid for cid, _ in hits])
    return [stored[cid].doc_id for cid, _ in hits]


def test_copy_there_and_back_keeps_everything(tmp_path: Path, milvus: MilvusBackend) -> None:
    source = EmbeddedBackend(tmp_path / "a", model_name=MODEL, dim=lambda: DIM).open("default")
    changes = [
        _change(f"d{i}", [f"第{i}号园区新建厂房{i + 3}座。", f"投资{i + 1}.5亿元,道路{i}条。"], i) for i in range(10)
    ]
    source.apply(changes)
    target = milvus.open("default")
    report = copy_collection(source, target, batch_documents=3)
    assert len(report.copied) == 10 and report.chunks == 20 and report.unchanged == []
    _same_content(source, target)
    for query in ("园区 厂房", "投资 道路"):
        assert _docs_ranked(source, source.keyword_search(terms(query), 3))[0] in {c.document.doc_id for c in changes}
    query = _vector(301)
    assert _docs_ranked(source, source.dense_search(query, 5)) == _docs_ranked(target, target.dense_search(query, 5))
    assert len(target.keyword_search(terms("厂房"), 20)) == len(source.keyword_search(terms("厂房"), 20))

    back = EmbeddedBackend(tmp_path / "b", model_name=MODEL, dim=lambda: DIM).open("default")
    assert len(copy_collection(target, back).copied) == 10
    _same_content(source, back)

    again = copy_collection(source, target)
    assert again.copied == [] and len(again.unchanged) == 10


def test_copy_is_incremental_and_never_deletes_in_the_target(tmp_path: Path, milvus: MilvusBackend) -> None:
    source = EmbeddedBackend(tmp_path / "a", model_name=MODEL, dim=lambda: DIM).open("default")
    source.apply([_change("a", ["甲。"], 1), _change("b", ["乙。"], 2)])
    target = milvus.open("default")
    target.apply([_change("mine", ["只在目标库。"], 3)])
    copy_collection(source, target)
    source.apply([_change("a", ["甲改。"], 4, replaces="a")])
    report = copy_collection(source, target)
    assert report.copied == ["a"] and report.unchanged == ["b"] and report.target_only == ["mine"]
    doc = target.document("a")
    assert doc is not None and doc.text == "甲改。"
    assert [d.doc_id for d in target.documents()] == ["a", "b", "mine"]
    assert target.keyword_search(terms("甲改"), 5) and all(
        target.chunks([h[0]]) for h in target.keyword_search(terms("甲改"), 5)
    )


def test_stamps_survive_a_copy(tmp_path: Path, milvus: MilvusBackend) -> None:
    source = EmbeddedBackend(tmp_path / "a", model_name=MODEL, dim=lambda: DIM).open("default")
    change = _change("a", ["甲。"], 1)
    source.apply([DocumentChange(change.document, change.new, added_at=1.5e9, updated_at=1.6e9)])
    target = milvus.open("default")
    copy_collection(source, target)
    row = target.document_row("a")
    assert row is not None and (row.added_at, row.updated_at) == (1.5e9, 1.6e9)


def test_the_target_embeds_queries_as_its_source(tmp_path: Path, milvus: MilvusBackend) -> None:
    source = EmbeddedBackend(tmp_path / "a", model_name=MODEL, dim=lambda: DIM).open("default")
    source.set_embeds_simplified(False)  # a collection made before passages were embedded in simplified script
    source.apply([_change("a", ["甲。"], 1)])
    target = milvus.open("default")
    copy_collection(source, target)
    assert target.embeds_simplified is False
    back = EmbeddedBackend(tmp_path / "b", model_name=MODEL, dim=lambda: DIM).open("default")
    back.apply([_change("mine", ["乙。"], 2)])  # holds vectors embedded in simplified script
    with pytest.raises(InvalidInput, match="embedded in simplified script"):
        copy_collection(target, back)
    assert [d.doc_id for d in back.documents()] == ["mine"]
