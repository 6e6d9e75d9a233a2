"""`qa ingest` / `qa search` as a user runs them: real processes, a real model, real indexes on disk."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support import GOLDEN, REPO, SEEDS, copy_index, qa_env, run_qa

if TYPE_CHECKING:
    from qa.service import QAService


def _docs(index_dir: Path) -> dict[str, dict[str, object]]:
    result = run_qa("documents", "--json", index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    return {d["doc_id"]: d for d in json.loads(result.stdout)}


def _search(index_dir: Path, query: str, k: int = 5) -> list[dict[str, object]]:
    result = run_qa("search", query, "--k", str(k), "--json", index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout)["passages"])


def test_reingest_unchanged_is_a_noop(seed_index: Path, tmp_path: Path) -> None:
    index_dir = copy_index(seed_index, tmp_path / "index")
    before = (index_dir / "default" / "docstore.sqlite3").stat().st_mtime_ns
    result = run_qa("ingest", str(SEEDS), index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    assert "added 0, updated 0, unchanged 5, skipped 0; 0 chunks written" in result.stdout
    assert len(_docs(index_dir)) == 5
    assert (index_dir / "default" / "docstore.sqlite3").stat().st_mtime_ns >= before


def test_changed_file_replaces_its_chunks_and_unreadable_files_are_reported(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    doc = corpus / "notice.txt"
    doc.write_text("东岭村简讯\n东岭村今年种植蓝莓320亩。\n", encoding="utf-8")
    (corpus / "broken.pdf").write_bytes(b"this is not a pdf at all")
    index_dir = tmp_path / "index"
    first = run_qa("ingest", str(corpus), index_dir=index_dir)
    assert first.returncode != 0
    assert "broken.pdf" in first.stderr
    assert "added 1" in first.stdout and "skipped 1" in first.stdout
    assert any("320" in p["text"] for p in _search(index_dir, "东岭村种了多少亩蓝莓"))  # type: ignore[operator]

    doc.write_text("东岭村简讯\n东岭村今年种植蓝莓450亩。\n", encoding="utf-8")
    second = run_qa("ingest", str(doc), index_dir=index_dir)
    assert second.returncode == 0, second.stderr
    assert "updated 1" in second.stdout
    passages = _search(index_dir, "东岭村种了多少亩蓝莓", k=10)
    texts = " ".join(str(p["text"]) for p in passages)
    assert "450" in texts and "320" not in texts
    assert len(_docs(index_dir)) == 1


def test_same_file_name_in_two_folders_gets_two_documents(tmp_path: Path) -> None:
    for folder, text in (("north", "北区今年修路3公里。"), ("south", "南区今年建桥2座。")):
        (tmp_path / "corpus" / folder).mkdir(parents=True)
        (tmp_path / "corpus" / folder / "report.txt").write_text(text, encoding="utf-8")
    result = run_qa("ingest", str(tmp_path / "corpus"), index_dir=tmp_path / "index")
    assert result.returncode == 0, result.stderr
    assert "added 2" in result.stdout
    docs = _docs(tmp_path / "index")
    assert len(docs) == 2 and "report" in docs
    assert {str(d["source"]).split("/")[-2] for d in docs.values()} == {"north", "south"}


def _notice_ingested_from_its_folder(tmp_path: Path, text: str) -> Path:
    """corpus/notices/notice.txt holding `text`, ingested from its own folder (cited as "notice.txt"): the index."""
    folder = tmp_path / "corpus" / "notices"
    folder.mkdir(parents=True)
    (folder / "notice.txt").write_text(text, encoding="utf-8")
    index_dir = tmp_path / "index"
    assert run_qa("ingest", str(folder), index_dir=index_dir).returncode == 0
    return index_dir


def test_the_same_file_reached_from_a_parent_folder_is_stored_once_under_its_new_source(tmp_path: Path) -> None:
    index_dir = _notice_ingested_from_its_folder(tmp_path, "东岭村简讯\n东岭村今年种植蓝莓320亩。\n")
    assert [d["source"] for d in _docs(index_dir).values()] == ["notice.txt"]
    result = run_qa("ingest", str(tmp_path / "corpus"), index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    assert "added 0, updated 1" in result.stdout
    assert [(i, d["source"]) for i, d in _docs(index_dir).items()] == [("notice", "notices/notice.txt")]
    assert len(_search(index_dir, "东岭村种了多少亩蓝莓", k=10)) == 1
    # a file of the same name with other text is another document, as before
    (tmp_path / "corpus" / "notice.txt").write_text("西岭村今年种植茶叶80亩。", encoding="utf-8")
    again = run_qa("ingest", str(tmp_path / "corpus"), index_dir=index_dir)
    assert again.returncode == 0, again.stderr
    assert "added 1, updated 0, unchanged 1" in again.stdout
    assert sorted(str(d["source"]) for d in _docs(index_dir).values()) == ["notice.txt", "notices/notice.txt"]


def test_a_moved_file_does_not_take_the_place_of_a_file_in_the_same_run(tmp_path: Path) -> None:
    # "notice.txt" is stored from corpus/notices; a run over corpus holds a new corpus/notice.txt, cited alike, and
    # the first file again as notices/notice.txt: each is a document of its own, neither replaces the other
    index_dir = _notice_ingested_from_its_folder(tmp_path, "东岭村今年种植蓝莓320亩。")
    (tmp_path / "corpus" / "notice.txt").write_text("西岭村今年种植茶叶80亩。", encoding="utf-8")
    result = run_qa("ingest", str(tmp_path / "corpus"), index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    assert "added 1, updated 1" in result.stdout
    assert sorted(str(d["source"]) for d in _docs(index_dir).values()) == ["notice.txt", "notices/notice.txt"]
    passages = " ".join(str(p["text"]) for p in _search(index_dir, "今年种植了多少亩", k=10))
    assert "320" in passages and "80" in passages


def test_two_folders_whose_files_share_a_source_name_are_refused_before_anything_changes(tmp_path: Path) -> None:
    # each folder's report.txt would be cited as "report.txt": the second would silently replace the first
    corpus = tmp_path / "corpus"
    for folder, text in (("north", "北区今年修路3公里。"), ("south", "南区今年建桥2座。")):
        (corpus / folder).mkdir(parents=True)
        (corpus / folder / "report.txt").write_text(text, encoding="utf-8")
    index_dir = tmp_path / "index"
    assert run_qa("ingest", str(corpus), index_dir=index_dir).returncode == 0
    before = _docs(index_dir)
    result = run_qa("ingest", str(corpus / "north"), str(corpus / "south"), index_dir=index_dir)
    assert result.returncode != 0
    assert "'report.txt'" in result.stderr and "common parent folder" in result.stderr
    assert (
        str(corpus / "north" / "report.txt") in result.stderr and str(corpus / "south" / "report.txt") in result.stderr
    )
    assert _docs(index_dir) == before


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = run_qa("ingest", str(tmp_path / "nope"), index_dir=tmp_path / "index")
    assert result.returncode != 0
    assert "nope" in result.stderr


def test_unknown_collection_search_is_a_clear_error(seed_index: Path) -> None:
    result = run_qa("search", "x", "--collection", "missing", index_dir=seed_index)
    assert result.returncode != 0 and "missing" in result.stderr


def test_golden_questions_retrieve_a_passage_with_the_answer(seed_service: QAService) -> None:
    """Over the index `qa ingest` built, searched in this process: a `qa search` per question would spend its
    time loading the model again."""
    misses = []
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("unanswerable"):
            continue
        passages = [p.as_dict() for p in seed_service.search(item["question"], "default", 5)]
        ok = any(
            p["doc_id"] in item["docs"] and all(s in str(p["text"]) for s in item["expect_all"]) for p in passages
        ) or all(any(s in str(p["text"]) for p in passages if p["doc_id"] in item["docs"]) for s in item["expect_all"])
        if not ok:
            misses.append(item["id"])
    assert misses == []


def _assert_indexes_agree(index_dir: Path) -> None:
    """FAISS holds exactly the chunks the docstore holds, once the collection is reopened."""
    from qa.index.collection import Collection
    from qa.index.docstore import DocStore

    meta = DocStore(index_dir / "default" / "docstore.sqlite3")
    model, dim = meta.get_meta("embedding_model"), int(meta.get_meta("dim") or 0)
    meta.close()
    coll = Collection("default", index_dir / "default", model_name=str(model), dim=lambda: dim)
    try:
        stats = coll.stats()
        assert stats["vectors"] == stats["chunks"] > 0, stats
    finally:
        coll.close()


def _ingest_process(corpus: Path, index_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "ingest", str(corpus)],
        cwd=REPO,
        env=qa_env(index_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_kill_9_during_ingest_leaves_collection_consistent(seed_index: Path, tmp_path: Path) -> None:
    """SIGKILL an ingest at points spread over its run; the collection must be as before or as after."""
    corpus = tmp_path / "more"
    corpus.mkdir()
    for i in range(6):
        head = f"第{i}号文件:测试园区{i}今年新建厂房{i * 7 + 3}座,投资{i + 1}.5亿元。"
        body = [f"园区{i}第{j}段说明:道路、绿化和管网同步建设,第{j}标段年底完成验收。" for j in range(24)]
        (corpus / f"park_{i}.txt").write_text("\n".join([head, *body]), encoding="utf-8")
    before_ids = set(_docs(seed_index))
    after_ids = before_ids | {f"park_{i}" for i in range(6)}

    # time one full ingest, then kill others at fractions of that time
    timing_dir = copy_index(seed_index, tmp_path / "timing")
    started = time.monotonic()
    assert _ingest_process(corpus, timing_dir).wait() == 0
    full = time.monotonic() - started
    shutil.rmtree(timing_dir)

    outcomes = []
    # the first fraction falls in start-up and reading, the others in embedding and writing
    for fraction in (0.4, 0.85, 0.97):
        index_dir = copy_index(seed_index, tmp_path / f"index-{fraction}")
        proc = _ingest_process(corpus, index_dir)
        time.sleep(full * fraction)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        ids = set(_docs(index_dir))
        assert ids in (before_ids, after_ids), (
            f"half-written after a kill at {fraction:.0%}: {sorted(ids ^ before_ids)}"
        )
        _assert_indexes_agree(index_dir)
        assert _search(index_dir, "房寺镇下放了多少项权力?")
        outcomes.append((fraction, killed, ids == after_ids))
        again = run_qa("ingest", str(corpus), index_dir=index_dir)  # the next ingest completes it
        assert again.returncode == 0, again.stderr
        assert set(_docs(index_dir)) == after_ids
        _assert_indexes_agree(index_dir)
        assert any(p["doc_id"] == "park_3" for p in _search(index_dir, "测试园区3今年新建厂房多少座"))
        shutil.rmtree(index_dir)
    assert any(killed for _, killed, _ in outcomes), outcomes


def test_an_ingest_that_stores_nothing_makes_no_collection(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"this is not a pdf at all")
    index_dir = tmp_path / "index"
    result = run_qa("ingest", str(tmp_path / "broken.pdf"), "--collection", "fresh", index_dir=index_dir)
    assert result.returncode != 0 and "broken.pdf" in result.stderr
    listed = run_qa("documents", "--collection", "fresh", index_dir=index_dir)
    assert listed.returncode != 0 and "does not exist" in listed.stderr, listed.stderr
