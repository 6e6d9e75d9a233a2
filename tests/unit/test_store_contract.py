"""The store contract, run against both implementations: the embedded store (SQLite + FAISS) and Milvus (real
Milvus Lite, in-process). Whatever the service relies on must hold on each."""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa.errors import InvalidInput
from qa.index import CollectionStore, DocumentChange, EmbeddedBackend, StoreBackend
from qa.index.docstore import NewChunks
from qa.index.keyword import index_text, terms
from qa.index.milvus import MAX_VARCHAR_BYTES, MilvusBackend, connect, milvus_names, qa_name, split_text
from qa.types import Chunk, Document

DIM = 8
MODEL = "test-model"
_names = itertools.count()


def _vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _change(
    doc_id: str, sentences: list[str], seed: int, *, source: str | None = None, replaces: str | None = None
) -> DocumentChange:
    text = "".join(sentences)
    chunks, pos = [], 0
    for i, s in enumerate(sentences):
        chunks.append(Chunk(doc_id, i, pos, pos + len(s), s))
        pos += len(s)
    doc = Document(
        doc_id, source or f"corpus/{doc_id}.txt", f"标题{doc_id}", text, hashlib.sha256(text.encode()).hexdigest()
    )
    vectors = np.stack([_vector(seed * 100 + i) for i in range(len(chunks))])
    return DocumentChange(doc, NewChunks(chunks, [index_text(c.text) for c in chunks], vectors), replaces)


@pytest.fixture(scope="module")
def lite_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    # one Milvus Lite folder for the module: Lite keeps an in-process server per folder until the process ends
    return str(tmp_path_factory.mktemp("milvus") / "milvus.db")


@pytest.fixture(params=["embedded", "milvus"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, lite_uri: str) -> Iterator[StoreBackend]:
    if request.param == "embedded":
        made: StoreBackend = EmbeddedBackend(tmp_path, model_name=MODEL, dim=lambda: DIM)
    else:
        made = MilvusBackend(connect(lite_uri), uri=lite_uri, model_name=MODEL, dim=lambda: DIM, index_type="FLAT")
    yield made
    made.close()


@pytest.fixture
def store(backend: StoreBackend) -> Iterator[CollectionStore]:
    coll = backend.open(f"c{next(_names)}")
    yield coll
    coll.close()


def _doc_of(store: CollectionStore, chunk_id: int) -> str:
    return store.chunks([chunk_id])[chunk_id].doc_id


def test_write_search_hydrate_and_read_back(store: CollectionStore) -> None:
    a = _change("a", ["东岭村种植蓝莓320亩。", "村里修路5公里。"], 1)
    b = _change("b", ["西山镇建成学校2所。"], 2)
    store.apply([a, b])
    assert store.stats()["documents"] == 2 and store.stats()["chunks"] == 3

    hits = store.keyword_search(terms("东岭村的蓝莓"), 5)
    assert hits and _doc_of(store, hits[0][0]) == "a" and hits[0][1] > 0
    assert store.keyword_search(terms("火星"), 5) == []
    assert store.keyword_search([], 5) == []
    dense = store.dense_search(_vector(200), 3)
    assert _doc_of(store, dense[0][0]) == "b" and dense[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in dense] == sorted((s for _, s in dense), reverse=True)

    stored = store.chunks([cid for cid, _ in dense])
    doc_a = store.document("a")
    assert doc_a is not None and doc_a.text == "东岭村种植蓝莓320亩。村里修路5公里。"
    for chunk in stored.values():
        doc = store.document(chunk.doc_id)
        assert doc is not None and doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.source == f"corpus/{chunk.doc_id}.txt" and chunk.title == f"标题{chunk.doc_id}"

    row = store.document_row("a")
    assert row is not None and (row.source, row.n_chunks, row.content_hash) == (
        "corpus/a.txt",
        2,
        a.document.content_hash,
    )
    assert store.document_by_source("corpus/b.txt") is not None
    assert store.document_by_source("corpus/zzz.txt") is None and store.document_row("zzz") is None
    assert [d.doc_id for d in store.documents()] == ["a", "b"]
    assert store.document("zzz") is None


def test_pinyin_names_are_the_stored_words_that_read_so(store: CollectionStore) -> None:
    store.apply([_change("a", ["东岭村种植蓝莓320亩。"], 1), _change("b", ["西山镇建成学校2所。"], 2)])
    found = store.name_terms(["dongling"])
    assert found and all(_doc_of(store, store.keyword_search([w], 1)[0][0]) == "a" for w in found)
    assert store.name_terms(["huoxing"]) == [] and store.name_terms([]) == []
    # a document written later is read too, and a replaced one in its new version
    store.apply([_change("c", ["南岭村修路5公里。"], 3), _change("b", ["谭坊镇建成学校2所。"], 4, replaces="b")])
    assert store.name_terms(["nanling"]) and store.name_terms(["tanfang"]) == ["谭坊"]


def test_update_replaces_every_index(store: CollectionStore) -> None:
    store.apply([_change("a", ["往年油菜320亩。"], 1)])
    store.apply([_change("a", ["今年蓝莓450亩。", "新修水渠3条。"], 3, replaces="a")])
    assert store.keyword_search(terms("油菜"), 5) == []
    ids = [cid for cid, _ in store.dense_search(_vector(100), 10)]
    assert set(store.chunks(ids)) == set(ids) and len(ids) == 2  # the old chunk left the dense index too
    doc = store.document("a")
    assert doc is not None and doc.text == "今年蓝莓450亩。新修水渠3条。"
    assert [d.n_chunks for d in store.documents()] == [2]


def test_delete_is_carried_through_every_index(store: CollectionStore) -> None:
    store.apply([_change("a", ["东岭村种植蓝莓320亩。"], 1), _change("b", ["西山镇建成学校2所。"], 2)])
    before = [cid for cid, _ in store.keyword_search(terms("蓝莓"), 5)]
    assert store.delete("a") is True
    assert store.delete("a") is False
    assert store.keyword_search(terms("蓝莓"), 5) == []
    assert store.chunks(before) == {}  # a search that raced the delete still never cites it
    assert all(store.chunks([cid]) for cid, _ in store.dense_search(_vector(100), 5))
    assert store.document("a") is None and store.document_row("a") is None
    assert [d.doc_id for d in store.documents()] == ["b"]
    store.apply([], ["b"])
    assert store.documents() == [] and store.dense_search(_vector(200), 5) == []


def test_long_text_and_awkward_ids_round_trip(store: CollectionStore) -> None:
    """Stored text longer than one Milvus VARCHAR, and ids/sources with quotes, backslashes and newlines."""
    sentence = "第一段说明：道路、绿化和管网同步建设。"
    long_sentences = [sentence] * (3 * MAX_VARCHAR_BYTES // len(sentence.encode()) // 1 + 5)
    weird = "x\"y\\z\n'中文 id"
    store.apply([_change(weird, long_sentences, 5, source='dir "a"\\b.txt')])
    doc = store.document(weird)
    assert doc is not None and doc.text == "".join(long_sentences) and len(doc.text.encode()) > 3 * MAX_VARCHAR_BYTES
    assert store.document_by_source('dir "a"\\b.txt') is not None
    hits = store.keyword_search(terms("管网"), 3)
    assert hits and all(c.doc_id == weird for c in store.chunks([h[0] for h in hits]).values())
    assert store.delete(weird) and store.documents() == []


def test_full_width_text_matches_ascii_query(store: CollectionStore) -> None:
    store.apply([_change("a", ["全年ＧＤＰ增长２０２３亿元。"], 1), _change("b", ["其他内容。"], 2)])
    hits = store.keyword_search(terms("GDP 2023"), 5)
    assert hits and _doc_of(store, hits[0][0]) == "a"


def test_export_returns_everything_needed_to_copy(store: CollectionStore) -> None:
    a = _change("a", ["甲。", "乙。"], 1)
    store.apply([a, _change("b", ["丙。"], 2)])
    exported = list(store.export())
    assert [e.document.doc_id for e in exported] == ["a", "b"]
    first = exported[0]
    assert first.document == a.document and [c.text for c in first.chunks] == ["甲。", "乙。"]
    assert np.allclose(first.vectors, a.new.embeddings, atol=1e-6)
    assert set(store.chunks(first.chunk_ids)) == set(first.chunk_ids)


def test_copied_stamps_are_kept(store: CollectionStore) -> None:
    change = _change("a", ["甲。"], 1)
    store.apply([DocumentChange(change.document, change.new, added_at=1_700_000_000.0, updated_at=1_700_000_100.0)])
    row = store.document_row("a")
    assert row is not None and (row.added_at, row.updated_at) == (1_700_000_000.0, 1_700_000_100.0)


def test_reopen_keeps_data_and_refuses_another_model(backend: StoreBackend) -> None:
    name = f"c{next(_names)}"
    coll = backend.open(name)
    coll.apply([_change("a", ["甲。", "乙。"], 1)])
    coll.checkpoint()
    coll.close()
    assert backend.exists(name) and name in backend.names()
    again = backend.open(name)
    assert again.dim == DIM and [d.doc_id for d in again.documents()] == ["a"]
    assert len(again.dense_search(_vector(100), 5)) == 2
    if isinstance(backend, MilvusBackend):
        other = MilvusBackend(backend._client, uri=backend.uri, model_name="other-model", dim=lambda: DIM)
    else:
        other = EmbeddedBackend(backend.index_dir, model_name="other-model", dim=lambda: DIM)
    with pytest.raises(InvalidInput, match="embedding model"):
        other.open(name)


def test_collections_record_how_their_passages_are_embedded(backend: StoreBackend) -> None:
    name = f"c{next(_names)}"
    coll = backend.open(name)
    assert coll.embeds_simplified  # every new collection embeds Chinese in simplified script
    coll.set_embeds_simplified(False)  # an empty one may take another way: a migration's target does
    coll.apply([_change("a", ["甲。"], 1)])
    with pytest.raises(InvalidInput, match="embedded as written"):
        coll.set_embeds_simplified(True)
    coll.set_embeds_simplified(False)  # no change: allowed
    coll.close()
    assert backend.open(name).embeds_simplified is False


def test_a_collection_from_before_the_stamp_embeds_as_written(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path, model_name=MODEL, dim=lambda: DIM)
    coll = backend.open("old")
    coll.apply([_change("a", ["甲。"], 1)])
    coll.close()
    with sqlite3.connect(tmp_path / "old" / "docstore.sqlite3") as conn:  # as the versions before it left it
        conn.execute("DELETE FROM meta WHERE key = 'embedding_script'")
    again = backend.open("old")
    assert again.embeds_simplified is False and [d.doc_id for d in again.documents()] == ["a"]
    backend.close()


def test_another_opener_of_the_collection_sees_how_it_is_embedded(tmp_path: Path) -> None:
    server = EmbeddedBackend(tmp_path, model_name=MODEL, dim=lambda: DIM).open("target")
    migration = EmbeddedBackend(tmp_path, model_name=MODEL, dim=lambda: DIM).open("target")
    migration.set_embeds_simplified(False)  # as `qa migrate` does to a new target, in its own process
    assert server.embeds_simplified is False


def test_collection_names_map_one_to_one_to_milvus() -> None:
    names = ["default", "docs-2026", "a.b", "a_b", "a__b", "a_", "x-y.z_1"]
    mapped = [milvus_names(n) for n in names]
    assert len({m for pair in mapped for m in pair}) == 2 * len(names)
    assert [qa_name(docs) for _, docs in mapped] == names
    assert qa_name("other_collection") is None and qa_name("qa_bad_x_docs") is None


def test_split_text_respects_bytes_and_characters() -> None:
    text = "a" * 5 + "中" * 10 + "😀" * 3
    parts = split_text(text, limit=8)
    assert "".join(parts) == text and all(len(p.encode()) <= 8 for p in parts)
    assert split_text("") == [""]


def test_milvus_database_keeps_its_collections_apart(lite_uri: str) -> None:
    team = MilvusBackend(connect(lite_uri, db="team_a"), uri=lite_uri, model_name=MODEL, dim=lambda: DIM)
    team.open("shared-name").apply([_change("a", ["甲。"], 1)])
    default = MilvusBackend(connect(lite_uri), uri=lite_uri, model_name=MODEL, dim=lambda: DIM)
    assert "shared-name" in team.names() and "shared-name" not in default.names()
    assert [d.doc_id for d in team.open("shared-name").documents()] == ["a"]
    default.close()
    team.close()
