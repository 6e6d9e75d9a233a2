"""Two `qa serve` replicas sharing one Milvus (Milvus Lite in server mode on 127.0.0.1) and nothing else:
what one replica writes, the other answers from; what one deletes, the other never cites; an ingest killed in the
middle of its writes leaves no half document visible to either."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import REPO, free_port, qa_env, running_server

pytestmark = pytest.mark.service

FACT = "青石镇今年新修建桥梁37座,全部在汛期前通车。青石镇还新建了图书馆2座。"
QUESTION = "青石镇今年新修建了多少座桥梁?"


@contextmanager
def _milvus_server(data_dir: Path, port: int) -> Iterator[str]:
    """`milvus-lite server` on `port`: one Milvus that several processes share, reached like a cluster."""
    log_path = data_dir.parent / f"milvus-{port}.log"
    where = ["--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir / "data"), *where],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    uri = f"http://127.0.0.1:{port}"
    try:
        from pymilvus import MilvusClient

        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited:\n{log_path.read_text()[-4000:]}")
            try:
                MilvusClient(uri=uri, timeout=2).close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield uri
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _milvus_server(tmp_path_factory.mktemp("milvus-server"), free_port()) as uri:
        yield uri


def _env(milvus_uri: str) -> dict[str, str]:
    return {"QA_STORE": "milvus", "QA_MILVUS_URI": milvus_uri, "QA_RATE_LIMIT_PER_MINUTE": "100000"}


@pytest.fixture(scope="module")
def replicas(milvus_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    # separate index dirs: the replicas share Milvus and nothing on disk
    dir_a, dir_b = tmp_path_factory.mktemp("replica-a") / "index", tmp_path_factory.mktemp("replica-b") / "index"
    with (
        running_server(dir_a, _env(milvus_uri), startup_timeout=600) as base_a,
        running_server(dir_b, _env(milvus_uri), startup_timeout=600) as base_b,
        httpx.Client(base_url=base_a, timeout=120) as a,
        httpx.Client(base_url=base_b, timeout=120) as b,
    ):
        yield a, b


def _upload(client: httpx.Client, text: str, doc_id: str) -> None:
    resp = client.post("/v1/collections/default/documents", json={"text": text, "id": doc_id, "title": doc_id})
    assert resp.status_code == 201, resp.text


def _ask(client: httpx.Client, question: str) -> dict[str, Any]:
    resp = client.post("/v1/ask", json={"question": question})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _search_docs(client: httpx.Client, query: str) -> list[str]:
    resp = client.post("/v1/search", json={"query": query, "top_k": 20})
    assert resp.status_code == 200, resp.text
    return [p["doc_id"] for p in resp.json()["passages"]]


def test_upload_on_one_replica_is_cited_by_the_other(replicas: tuple[httpx.Client, httpx.Client]) -> None:
    a, b = replicas
    _upload(a, FACT, "bridges")
    body = _ask(b, QUESTION)
    assert body["found"] is True and "37" in body["answer"], body
    assert body["citations"] and all(c["doc_id"] == "bridges" for c in body["citations"])
    stored = b.get("/v1/collections/default/documents/bridges").json()["text"]
    for c in body["citations"]:
        assert stored[c["start"] : c["end"]] == c["text"]
    assert [d["doc_id"] for d in b.get("/v1/collections/default/documents").json()["documents"]] == ["bridges"]
    assert "default" in [m["id"] for m in b.get("/v1/models").json()["data"]]


def test_delete_on_one_replica_is_never_cited_by_the_other(replicas: tuple[httpx.Client, httpx.Client]) -> None:
    a, b = replicas
    _upload(a, "白沙村今年种植茶叶812亩,新建茶厂1座。", "tea")
    assert _ask(a, "白沙村今年种植茶叶多少亩?")["found"] is True
    assert b.delete("/v1/collections/default/documents/tea").status_code == 200
    body = _ask(a, "白沙村今年种植茶叶多少亩?")
    assert all(c["doc_id"] != "tea" for c in body["citations"]) and "812" not in body["answer"]
    assert "tea" not in _search_docs(a, "白沙村 茶叶")
    assert a.get("/v1/collections/default/documents/tea").status_code == 404
    assert "tea" not in [d["doc_id"] for d in a.get("/v1/collections/default/documents").json()["documents"]]
    # an update on B replaces what A cites
    _upload(b, "青石镇今年新修建桥梁41座。", "bridges")
    body = _ask(a, QUESTION)
    assert "41" in body["answer"] and "37" not in body["answer"], body


def _rows(client: Any, collection: str, where: str) -> list[dict[str, Any]]:
    return list(client.query(collection, filter=where, output_fields=["doc_id", "generation", "kind", "n_chunks"]))


def _state(milvus: Any) -> tuple[dict[str, dict[str, Any]], dict[str, int], int]:
    """Heads by doc id, committed chunk rows per doc id, and rows belonging to no head (an interrupted write)."""
    heads = {r["doc_id"]: r for r in _rows(milvus, "qa_default_docs", 'kind == "head"')}
    chunk_rows = milvus.query("qa_default_chunks", filter="chunk_id >= 0", output_fields=["doc_id", "generation"])
    committed: dict[str, int] = {}
    orphans = 0
    for r in chunk_rows:
        head = heads.get(r["doc_id"])
        if head is not None and head["generation"] == r["generation"]:
            committed[r["doc_id"]] = committed.get(r["doc_id"], 0) + 1
        else:
            orphans += 1
    texts = _rows(milvus, "qa_default_docs", 'kind == "text"')
    orphans += sum(1 for t in texts if t["doc_id"] not in heads or heads[t["doc_id"]]["generation"] != t["generation"])
    return heads, committed, orphans


def _assert_whole(client: httpx.Client, milvus: Any, files: dict[str, str]) -> set[str]:
    """Every document a replica shows is whole (all its chunks, all its text); returns the visible new ids."""
    heads, committed, _ = _state(milvus)
    listed = {d["doc_id"] for d in client.get("/v1/collections/default/documents").json()["documents"]}
    visible = listed & set(files)
    for doc_id in visible:
        assert committed.get(doc_id, 0) == heads[doc_id]["n_chunks"] > 0, doc_id
        text = client.get(f"/v1/collections/default/documents/{doc_id}").json()["text"]
        assert text.startswith(files[doc_id][:20]) and text.endswith(files[doc_id][-20:]), doc_id
    for doc_id, body in files.items():
        if doc_id not in visible:
            assert doc_id not in _search_docs(client, body[:12]), doc_id
    return visible


def test_ingest_killed_midway_leaves_no_half_document(
    replicas: tuple[httpx.Client, httpx.Client], milvus_uri: str, tmp_path: Path
) -> None:
    from pymilvus import MilvusClient

    a, _ = replicas
    _upload(a, "东山村今年修路5公里。", "roads")  # the collection exists before the ingest, as in production
    corpus = tmp_path / "parks"
    corpus.mkdir()
    files: dict[str, str] = {}
    for i in range(8):
        body = "".join(
            f"园区{i}第{j}段:道路、绿化和管网同步建设,第{j}标段年底完成验收,投资{i + j}.5亿元。" for j in range(60)
        )
        text = f"测试园区{i}号今年新建厂房{i * 7 + 3}座。" + body
        (corpus / f"park_{i}.txt").write_text(text, encoding="utf-8")
        files[f"park_{i}"] = text

    milvus = MilvusClient(uri=milvus_uri)
    midway = 0
    try:
        for _attempt in range(4):
            base_texts = len(_rows(milvus, "qa_default_docs", 'kind == "text"'))
            proc = subprocess.Popen(
                [sys.executable, "-m", "qa.cli", "ingest", str(corpus)],
                cwd=REPO,
                env=qa_env(tmp_path / "cli-index", _env(milvus_uri)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # the first rows of this write appear (text rows come before chunk rows and heads): stop it right there
            while proc.poll() is None and len(_rows(milvus, "qa_default_docs", 'kind == "text"')) <= base_texts:
                time.sleep(0.005)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGSTOP)
            _assert_whole(a, milvus, files)  # what a reader sees while the writer is frozen mid-write
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            heads, _, orphans = _state(milvus)
            if orphans and not set(files) & set(heads):
                midway += 1
            visible = _assert_whole(a, milvus, files)
            if midway:
                break
            for doc_id in visible:  # the ingest finished before the stop: start again from nothing
                assert a.delete(f"/v1/collections/default/documents/{doc_id}").status_code == 200
        assert midway, "no kill landed between an ingest's first rows and its commit"

        done = subprocess.run(
            [sys.executable, "-m", "qa.cli", "ingest", str(corpus)],
            cwd=REPO,
            env=qa_env(tmp_path / "cli-index", _env(milvus_uri)),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr
        assert _assert_whole(a, milvus, files) == set(files)
        heads, committed, orphans = _state(milvus)
        assert orphans == 0  # the completed ingest swept what the killed one left
        assert all(committed[d] == heads[d]["n_chunks"] for d in files)
    finally:
        milvus.close()


def test_a_restarted_milvus_is_answered_from_again(tmp_path: Path) -> None:
    """Milvus restarted under a running service holds its collections released: the service loads them again
    instead of failing every request until it is restarted itself."""
    data_dir, port = tmp_path / "milvus", free_port()
    data_dir.mkdir()
    with ExitStack() as first:
        uri = first.enter_context(_milvus_server(data_dir, port))
        with running_server(tmp_path / "index", _env(uri), startup_timeout=600) as base:
            with httpx.Client(base_url=base, timeout=120) as client:
                _upload(client, FACT, "bridges")
                assert "37" in _ask(client, QUESTION)["answer"]
            first.close()  # Milvus stops under the running service
            with httpx.Client(base_url=base, timeout=120) as client:
                assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 503
                with _milvus_server(data_dir, port):
                    # the client reconnects on its own (gRPC backs off for a few seconds); then it is answered again
                    deadline = time.monotonic() + 90
                    while True:
                        reply = client.post("/v1/ask", json={"question": QUESTION})
                        if reply.status_code != 503 or time.monotonic() > deadline:
                            break
                        time.sleep(1)
            assert reply.status_code == 200 and "37" in reply.json()["answer"], reply.text
