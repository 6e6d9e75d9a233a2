"""The collection store on small real data: SQLite + FAISS + the BM25 index, incremental writes, cross-instance sync."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from qa.errors import CollectionNotFound, InvalidInput
from qa.index import Collection, Collections, DocumentChange, EmbeddedBackend, validate_collection_name
from qa.index.collection import VECTORS_FILE
from qa.index.docstore import NewChunks
from qa.index.keyword import index_text, terms
from qa.types import Chunk, Document

DIM = 8


def _vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _change(doc_id: str, sentences: list[str], seed: int, replaces: str | None = None) -> DocumentChange:
    text = "".join(sentences)
    chunks, pos = [], 0
    for i, s in enumerate(sentences):
        chunks.append(Chunk(doc_id, i, pos, pos + len(s), s))
        pos += len(s)
    doc = Document(doc_id, f"/corpus/{doc_id}.txt", doc_id, text, hashlib.sha256(text.encode()).hexdigest())
    vectors = np.stack([_vector(seed * 100 + i) for i in range(len(chunks))])
    return DocumentChange(doc, NewChunks(chunks, [index_text(c.text) for c in chunks], vectors), replaces)


def _open(path: Path) -> Collection:
    return Collection("c", path, model_name="test-model", dim=lambda: DIM)


def test_apply_search_and_delete(tmp_path: Path) -> None:
    coll = _open(tmp_path / "c")
    coll.apply(
        [_change("a", ["东岭村种植蓝莓320亩。", "村里修路5公里。"], 1), _change("b", ["西山镇建成学校2所。"], 2)]
    )
    assert coll.stats() == {"documents": 2, "chunks": 3, "vectors": 3, "version": 1}
    hits = coll.keyword_search(terms("东岭村 蓝莓"), 5)
    assert hits and coll.chunks([hits[0][0]])[hits[0][0]].doc_id == "a"
    target = _vector(200)
    dense = coll.dense_search(target, 1)
    assert coll.chunks([dense[0][0]])[dense[0][0]].doc_id == "b"
    assert dense[0][1] == pytest.approx(1.0, abs=1e-5)

    assert coll.delete("a") is True
    assert coll.delete("a") is False
    assert coll.stats()["vectors"] == 1
    assert coll.keyword_search(terms("蓝莓"), 5) == []
    assert all(coll.chunks([cid]) for cid, _ in coll.dense_search(target, 5))


def test_update_replaces_chunks_everywhere(tmp_path: Path) -> None:
    coll = _open(tmp_path / "c")
    coll.apply([_change("a", ["往年油菜320亩。"], 1)])
    coll.apply([_change("a", ["今年蓝莓450亩。"], 3, replaces="a")])
    assert coll.stats()["chunks"] == coll.stats()["vectors"] == 1
    assert coll.keyword_search(terms("油菜"), 5) == []
    assert coll.document("a") is not None and "450" in coll.document("a").text  # type: ignore[union-attr]


def test_a_second_instance_catches_up_through_the_log(tmp_path: Path) -> None:
    writer = _open(tmp_path / "c")
    writer.apply([_change("a", ["甲。"], 1)])
    reader = _open(tmp_path / "c")
    writer.apply([_change("b", ["乙。"], 2)])
    writer.delete("a")
    assert reader.stats()["vectors"] == 1  # stats reads before sync; search syncs
    hit_ids = [cid for cid, _ in reader.dense_search(_vector(200), 5)]
    assert [reader.chunks(hit_ids)[i].doc_id for i in hit_ids] == ["b"]
    assert reader.stats()["vectors"] == 1


def test_reader_reloads_snapshot_after_log_is_pruned(tmp_path: Path) -> None:
    writer = _open(tmp_path / "c")
    writer.apply([_change("a", ["甲。"], 1)])
    reader = _open(tmp_path / "c")
    writer.apply([_change("b", ["乙。"], 2)])
    writer.checkpoint()  # prunes the log the reader would need
    assert len(reader.dense_search(_vector(100), 5)) == 2


def test_missing_or_corrupt_snapshot_is_rebuilt_from_the_docstore(tmp_path: Path) -> None:
    coll = _open(tmp_path / "c")
    coll.apply([_change("a", ["甲。", "乙。"], 1)])
    coll.checkpoint()
    coll.close()
    (tmp_path / "c" / VECTORS_FILE).write_bytes(b"garbage")
    again = _open(tmp_path / "c")
    assert again.stats()["vectors"] == 2
    (tmp_path / "c" / VECTORS_FILE).unlink()
    assert _open(tmp_path / "c").stats()["vectors"] == 2


def test_model_mismatch_is_refused(tmp_path: Path) -> None:
    _open(tmp_path / "c").apply([_change("a", ["甲。"], 1)])
    with pytest.raises(InvalidInput, match="test-model"):
        Collection("c", tmp_path / "c", model_name="other-model", dim=lambda: DIM)


def test_failed_transaction_keeps_what_was_stored(tmp_path: Path) -> None:
    coll = _open(tmp_path / "c")
    coll.apply([_change("a", ["甲。"], 1)])
    bad = _change("b", ["乙。"], 2)
    broken = DocumentChange(bad.document, NewChunks(bad.new.chunks, [], bad.new.embeddings))  # terms missing
    with pytest.raises(ValueError):
        coll.apply([_change("c", ["丙。"], 3), broken])
    assert [d.doc_id for d in coll.documents()] == ["a"]
    assert coll.stats()["vectors"] == 1


def test_registry_names_and_validation(tmp_path: Path) -> None:
    reg = Collections(EmbeddedBackend(tmp_path, model_name="test-model", dim=lambda: DIM))
    with pytest.raises(CollectionNotFound):
        reg.get("nope")
    reg.get("docs-2026", create=True)
    assert reg.names() == ["docs-2026"]
    for bad in ("../x", "a/b", "", ".hidden", "x" * 65, "a b", "a\n", "a\r\n"):
        with pytest.raises(InvalidInput):
            validate_collection_name(bad)
