"""The in-memory BM25 index: FTS5's ranking over the same terms, deletes, snapshots, and the collection's
re-tokenizing of collections made by another tokenizer (one vocabulary for both Chinese scripts)."""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from qa.errors import IndexCorrupted
from qa.index import Collection, DocumentChange
from qa.index.collection import KEYWORD_FILE
from qa.index.docstore import NewChunks
from qa.index.keyword import KeywordIndex, index_text, terms
from qa.segment import TOKENIZER_VERSION
from qa.types import Chunk, Document

PASSAGES = [
    "东岭村种植蓝莓320亩，亩产蓝莓800斤。",
    "西山镇建成学校2所，新建道路5公里。",
    "房寺镇承接市直18个部门64项行政权力事项。",
    "蓝莓采摘节吸引游客两万人次，带动村民增收。",
    "谭坊镇花卉种植面积1000亩，花卉产业成为支柱。",
    "The town of Fangsi took over 64 administrative powers in 2019.",
    "西山镇的学校有教师120名，学生2000名。",
]
QUERIES = ["东岭村蓝莓", "西山镇 学校 教师", "花卉 亩", "administrative powers town", "蓝莓 游客", "火星"]


def _fts5_ranking(passages: list[str], query: str, k: int) -> list[int]:
    """The ranking SQLite FTS5's bm25() gives over the same stored terms: the index this one replaced."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')")
    conn.executemany("INSERT INTO t(rowid, terms) VALUES (?, ?)", [(i, index_text(p)) for i, p in enumerate(passages)])
    unique = list(dict.fromkeys(terms(query)))
    if not unique:
        return []
    expr = " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)
    rows = conn.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT ?", (expr, k)).fetchall()
    return [int(r[0]) for r in rows]


def _index(passages: list[str]) -> KeywordIndex:
    index = KeywordIndex()
    for i, p in enumerate(passages):
        index.add(i, terms(p))
    return index


@pytest.mark.parametrize("query", QUERIES)
def test_ranking_matches_fts5_bm25(query: str) -> None:
    index = _index(PASSAGES)
    assert [cid for cid, _ in index.search(terms(query), 5)] == _fts5_ranking(PASSAGES, query, 5)


def test_scores_are_positive_best_first_and_unknown_terms_match_nothing() -> None:
    hits = _index(PASSAGES).search(terms("蓝莓 东岭村"), 10)
    assert hits[0][0] == 0 and all(a[1] >= b[1] > 0 for a, b in itertools.pairwise(hits))
    assert _index(PASSAGES).search(["火星"], 5) == []
    assert _index(PASSAGES).search([], 5) == []
    assert KeywordIndex().search(["蓝莓"], 5) == []


def test_the_k_best_are_cut_from_ties_by_chunk_id() -> None:
    # a hundred copies of one passage score alike: the k kept after the better ones are the lowest chunk ids, in order,
    # the same on every run and in every process
    copies = ["西山镇建成学校2所。"] * 100
    index = _index([*copies, "西山镇学校学校建成。", *copies])
    hits = index.search(terms("西山镇 学校"), 6)
    assert [cid for cid, _ in hits] == [100, 0, 1, 2, 3, 4]
    assert len({score for _, score in hits[1:]}) == 1 and hits[0][1] > hits[1][1]
    assert [cid for cid, _ in index.search(terms("西山镇 学校"), 500)] == [100, *range(100), *range(101, 201)]


def test_removed_chunks_are_never_found_and_statistics_follow() -> None:
    index = _index(PASSAGES)
    index.remove([0, 3])
    assert len(index) == len(PASSAGES) - 2
    assert all(cid not in (0, 3) for cid, _ in index.search(terms("蓝莓 东岭村"), 10))
    rest = [p for i, p in enumerate(PASSAGES) if i not in (0, 3)]
    # the same statistics as an index that never held them: the same scores for the same passages
    fresh = {rest[cid]: score for cid, score in _index(rest).search(terms("西山镇 学校"), 10)}
    got = {PASSAGES[cid]: score for cid, score in index.search(terms("西山镇 学校"), 10)}
    assert got.keys() == fresh.keys() and got
    assert [got[p] for p in got] == pytest.approx([fresh[p] for p in got])


def test_adding_a_present_chunk_again_changes_nothing() -> None:
    index = _index(PASSAGES)
    before = index.search(terms("蓝莓"), 5)
    index.add(0, terms(PASSAGES[0]))
    assert index.search(terms("蓝莓"), 5) == before


def test_snapshot_round_trip_and_compaction_keep_results(tmp_path: Path) -> None:
    index = _index(PASSAGES)
    index.remove([1])
    index.version = 7
    queries = [terms(q) for q in QUERIES]
    before = [index.search(q, 5) for q in queries]
    index.save(tmp_path / "k.npz")
    loaded = KeywordIndex.load(tmp_path / "k.npz")
    assert loaded.version == 7 and loaded.tokenizer == TOKENIZER_VERSION and len(loaded) == len(index)
    for q, expected in zip(queries, before, strict=True):
        got = loaded.search(q, 5)
        assert [c for c, _ in got] == [c for c, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected])
    loaded.add(100, terms("新的蓝莓基地"))
    assert 100 in [c for c, _ in loaded.search(terms("蓝莓"), 10)]


def test_an_unreadable_snapshot_is_reported(tmp_path: Path) -> None:
    (tmp_path / "k.npz").write_bytes(b"not an index")
    with pytest.raises(IndexCorrupted):
        KeywordIndex.load(tmp_path / "k.npz")


def test_both_scripts_share_one_vocabulary() -> None:
    """A traditional-script question finds simplified text and the other way round."""
    index = _index(["房寺镇承接市直部门的行政权力事项。", "西山镇建成学校两所。"])
    assert index.search(terms("房寺鎮承接了哪些行政權力？"), 1)[0][0] == 0
    index = _index(["房寺鎮承接市直部門的行政權力事項。", "西山鎮建成學校兩所。"])
    assert index.search(terms("西山镇建成了几所学校"), 1)[0][0] == 1
    assert terms("ＧＤＰ增長") == terms("gdp增长")


def test_pinyin_names_find_the_words_of_the_collection_that_read_so() -> None:
    """An English question names Chinese places in pinyin; the index finds its own words that spell them."""
    index = _index(PASSAGES)
    assert index.terms_read_as(["fangsi"]) == ["房寺"]
    assert index.search(index.terms_read_as(["tanfang"]), 1)[0][0] == 4
    assert index.terms_read_as(["huoxing"]) == [] and index.terms_read_as([]) == []
    # words added later are read too, a word with its kind of place ("Lanxi County") by its name alone, and a
    # common word is no name
    index.add(10, terms("岚溪县乘船旅游人数增长。"))
    assert index.terms_read_as(["lanxi"]) == ["岚溪县"]
    assert index.terms_read_as(["chengchuan"]) == []


def _change(doc_id: str, text: str) -> DocumentChange:
    doc = Document(doc_id, f"{doc_id}.txt", doc_id, text, hashlib.sha256(text.encode()).hexdigest())
    vectors = np.eye(1, 4, dtype=np.float32)
    return DocumentChange(doc, NewChunks([Chunk(doc_id, 0, 0, len(text), text)], [index_text(text)], vectors))


def _open(path: Path) -> Collection:
    return Collection("c", path, model_name="m", dim=lambda: 4)


def test_a_collection_made_by_another_tokenizer_is_retokenized_on_open(tmp_path: Path) -> None:
    coll = _open(tmp_path / "c")
    coll.apply([_change("a", "房寺鎮承接行政權力事項。"), _change("b", "西山镇建成学校两所。")])
    coll.checkpoint()
    coll.close()
    # what an older version left: unfolded terms in an FTS5 table, another stamp, no keyword snapshot
    conn = sqlite3.connect(tmp_path / "c" / "docstore.sqlite3")
    conn.execute("UPDATE chunk_terms SET terms = 'stale'")
    conn.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(terms)")
    conn.execute("UPDATE meta SET value = 'jieba-0.42.1' WHERE key = 'tokenizer'")
    conn.commit()
    conn.close()
    (tmp_path / "c" / KEYWORD_FILE).unlink()

    coll = _open(tmp_path / "c")
    hits = coll.keyword_search(terms("房寺镇 行政权力"), 5)
    assert hits and coll.chunks([hits[0][0]])[hits[0][0]].doc_id == "a"
    assert coll.keyword_search(["stale"], 5) == []
    assert coll.store.get_meta("tokenizer") == TOKENIZER_VERSION
    tables = {r[0] for r in coll.store._conn.execute("SELECT name FROM sqlite_master")}
    assert "chunks_fts" not in tables


def test_a_second_instance_and_a_lost_snapshot_catch_up(tmp_path: Path) -> None:
    writer = _open(tmp_path / "c")
    reader = _open(tmp_path / "c")
    writer.apply([_change("a", "东岭村种植蓝莓320亩。")])
    assert reader.keyword_search(terms("蓝莓"), 5)
    writer.delete("a")
    assert reader.keyword_search(terms("蓝莓"), 5) == []
    writer.apply([_change("b", "谭坊镇花卉1000亩。")])
    writer.checkpoint()
    (tmp_path / "c" / KEYWORD_FILE).write_bytes(b"broken")
    fresh = _open(tmp_path / "c")
    assert fresh.keyword_search(terms("花卉"), 5) and fresh.keyword_search(terms("蓝莓"), 5) == []
