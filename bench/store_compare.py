"""The embedded store (SQLite + FAISS) against Milvus Lite on the same collection: writes, copy, reopen, search
in process and `POST /v1/ask` over a real socket, at 10k chunks by default.

Both collections hold the same documents: the sample corpus ingested through the service (real embeddings)
into the embedded store and copied to Milvus with `copy_collection` (what `qa migrate` runs, timed), then the
same synthetic chunks (bench/_common.py) written to each store in the same batches, so the write figures are
the stores' own (embedding costs the same whatever the store; see the ingest throughput section of RESULTS.md).

    .venv/bin/python bench/store_compare.py                      # 10k chunks; ~5 min on 2 busy cores
    .venv/bin/python bench/store_compare.py --chunks 2000 --requests 16 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np
from _common import (
    QUESTIONS,
    REPO,
    SEEDS,
    Report,
    Timer,
    percentiles,
    seed_sentences,
    synthetic_documents,
    table,
)
from ask_latency import load_level, serve

if TYPE_CHECKING:
    from qa.index.docstore import NewChunks
    from qa.index.store import CollectionStore
    from qa.types import Document


def _write(store: CollectionStore, documents: list[tuple[Document, NewChunks]], batch_chunks: int) -> float:
    """Seconds to write the documents in batches of about `batch_chunks` chunks, plus the final checkpoint."""
    from qa.index import DocumentChange

    t = Timer()
    batch: list[DocumentChange] = []
    pending = 0
    for document, new in documents:
        batch.append(DocumentChange(document, new))
        pending += len(new.chunks)
        if pending >= batch_chunks:
            store.apply(batch)
            batch, pending = [], 0
    store.apply(batch)
    store.checkpoint()
    return t.s


def _search_figures(store: object, queries: list[tuple[np.ndarray, list[str]]]) -> list[float]:
    """p50/p95 ms of dense search, BM25 search and hydrating 30 ids, over the query set."""
    dense, bm25, hydrate = [], [], []
    for vector, terms in queries:
        t = Timer()
        hits = store.dense_search(vector, 30)  # type: ignore[attr-defined]
        dense.append(t.s)
        t = Timer()
        store.keyword_search(terms, 30)  # type: ignore[attr-defined]
        bm25.append(t.s)
        t = Timer()
        store.chunks([cid for cid, _ in hits])  # type: ignore[attr-defined]
        hydrate.append(t.s)
    out: list[float] = []
    for values in (dense, bm25, hydrate):
        out += percentiles(values, (50, 95))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10_000, help="total chunks per collection")
    parser.add_argument("--batch-chunks", type=int, default=1000, help="chunks per write call")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--requests", type=int, default=64, help="asks per concurrency level")
    parser.add_argument("--queries", type=int, default=200, help="in-process search queries")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()

    from milvus_lite.server_manager import server_manager_instance

    from qa.config import Settings
    from qa.index import EmbeddedBackend
    from qa.index.keyword import terms as query_terms
    from qa.index.migrate import copy_collection
    from qa.index.milvus import MilvusBackend, connect
    from qa.service import QAService

    report = Report(f"Stores: embedded vs Milvus Lite ({args.chunks:,} chunks)")
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    with tempfile.TemporaryDirectory(prefix="qa-bench-stores-") as tmp:
        index_dir = Path(tmp) / "index"
        settings = Settings(index_dir=index_dir)
        lite = settings.milvus_target

        ingest_s: dict[str, float] = {}
        for store in ("embedded", "milvus"):
            # the full ingest path (load, chunk, embed, write) with the model already loaded
            service = QAService(settings.model_copy(update={"store": store}))
            service.embedder.embed_query("warm up")
            t = Timer()
            seeded = service.ingest_paths([SEEDS], "default" if store == "embedded" else "seeds").chunks
            ingest_s[store] = t.s
            service.close()

        seeds = seed_sentences()
        dim = int(seeds.vectors.shape[1])
        documents = list(synthetic_documents(seeds, args.chunks - seeded, np.random.default_rng(0)))
        synthetic = sum(len(new.chunks) for _, new in documents)

        embedded = EmbeddedBackend(index_dir, model_name=settings.embedding_model, dim=lambda: dim).open("default")
        milvus_backend = MilvusBackend(
            connect(lite), uri=lite, model_name=settings.embedding_model, dim=lambda: dim, index_type="FLAT"
        )
        milvus = milvus_backend.open("default")
        t = Timer()
        copy_collection(embedded, milvus)
        copy_s = t.s
        write_embedded_s = _write(embedded, documents, args.batch_chunks)
        write_milvus_s = _write(milvus, documents, args.batch_chunks)
        held = (embedded.stats()["chunks"], milvus.stats()["chunks"])

        rng = np.random.default_rng(1)
        picks = rng.integers(0, len(seeds.sentences), size=args.queries)
        queries = [(seeds.vectors[i], query_terms(seeds.sentences[i][:20])) for i in picks]
        search_rows = [
            ["embedded", *_search_figures(embedded, queries)],
            ["Milvus Lite", *_search_figures(milvus, queries)],
        ]
        embedded.close()
        milvus_backend.close()
        server_manager_instance.release_server(lite)  # the Lite folder is free for `qa serve` below

        t = Timer()
        EmbeddedBackend(index_dir, model_name=settings.embedding_model, dim=lambda: dim).open("default").close()
        reopen_embedded_s = t.s
        t = Timer()
        again = MilvusBackend(connect(lite), uri=lite, model_name=settings.embedding_model, dim=lambda: dim)
        again.open("default").close()
        again.close()
        server_manager_instance.release_server(lite)
        reopen_milvus_s = t.s

        report.add(
            f"Collection: {held[0]:,} chunks in the embedded store, {held[1]:,} rows in Milvus Lite "
            f"({seeded} real seed chunks ingested through the service, "
            f"{synthetic:,} synthetic chunks); Milvus dense index FLAT (exact, like the embedded store's flat "
            "FAISS below 50k vectors), BM25 through Milvus's function with the jieba analyzer."
        )
        report.add(
            table(
                ["step", "embedded s", "Milvus Lite s", "Milvus / embedded"],
                [
                    [
                        f"`qa ingest` path for the sample corpus ({seeded} chunks: load, chunk, embed, write)",
                        ingest_s["embedded"],
                        ingest_s["milvus"],
                        ingest_s["milvus"] / ingest_s["embedded"],
                    ],
                    [
                        f"write {synthetic:,} chunks ({args.batch_chunks} a call) + checkpoint",
                        write_embedded_s,
                        write_milvus_s,
                        write_milvus_s / write_embedded_s,
                    ],
                    ["chunks/s of that write", synthetic / write_embedded_s, synthetic / write_milvus_s, ""],
                    ["copy the seeds embedded → Milvus (`qa migrate`)", "", copy_s, ""],
                    ["reopen the collection in a new client", reopen_embedded_s, reopen_milvus_s, ""],
                ],
            )
        )
        report.add(
            f"In-process search over {args.queries} queries (a seed sentence's real vector; its first 20 "
            "characters' terms), 30 candidates, ms:\n\n"
            + table(
                ["store", "dense p50", "dense p95", "BM25 p50", "BM25 p95", "hydrate 30 p50", "hydrate 30 p95"],
                search_rows,
            )
        )

        rows: list[list[object]] = []
        for name, env in (("embedded", {}), ("Milvus Lite", {"QA_STORE": "milvus"})):
            with serve(index_dir, Path(tmp) / f"server-{len(rows)}.log", env) as (base, _pid):
                for q in questions[:3]:  # warm-up: model and collection load on first use
                    resp = httpx.post(f"{base}/v1/ask", json={"question": q}, timeout=300)
                    resp.raise_for_status()
                for clients in [int(c) for c in args.concurrency.split(",")]:
                    r = asyncio.run(load_level(base, questions, clients, args.requests))
                    rows.append(
                        [name, clients, args.requests, r["p50"], r["p95"], r["rps"], r["errors"], r["retrieve"]]
                    )
                    print(rows[-1], flush=True)
        report.add(
            f"`POST /v1/ask` over 127.0.0.1 (`qa serve` subprocess, extractive), questions from "
            f"{QUESTIONS.relative_to(REPO)} cycled:\n\n"
            + table(
                ["store", "clients", "requests", "p50 ms", "p95 ms", "req/s", "errors", "server retrieve p50 ms"],
                rows,
            )
        )
    report.finish(write=not args.no_write)


if __name__ == "__main__":
    main()
