"""Bytes per chunk on disk (SQLite docstore with FTS5, FAISS snapshot) and in memory (RSS of a fresh process
that opens the collection and serves a dense and a keyword search), at 10k and 100k chunks.

Chunks are synthetic but shaped like the sample corpus's (bench/_common.py): 3-6 real seed sentences each,
real jieba terms, 384-dim e5-derived embeddings.

    .venv/bin/python bench/memory_per_chunk.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import QUESTIONS, REPO, Report, build_collection, table

# Runs in a fresh interpreter so the RSS figures hold only what opening a collection costs.
_PROBE = r"""
import json, sys
from pathlib import Path
import numpy as np
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
from qa.config import Settings
from qa.index import Collection
from qa.segment import index_terms
settings = Settings(index_dir=Path(sys.argv[1]))
index_terms("预热")  # load jieba's dictionary before the baseline
before = rss()
coll = Collection(settings.collection, settings.collection_dir(settings.collection),
                  model_name=settings.embedding_model, dim=lambda: 384)
opened = rss()
q = np.random.default_rng(0).normal(size=384).astype(np.float32)
q /= np.linalg.norm(q)
coll.dense_search(q, 30)
coll.keyword_search(index_terms("经济 发展 企业"), 30)
searched = rss()
# where a query's retrieval time goes at this size: FAISS vs FTS5 BM25 (questions from the sample set)
import time
questions = [json.loads(l)["question"] for l in open(sys.argv[2], encoding="utf-8") if l.strip()][:40]
def p50(xs):
    return sorted(xs)[len(xs) // 2] * 1000
dense, bm25 = [], []
vecs = np.random.default_rng(1).normal(size=(len(questions), 384)).astype(np.float32)
for q, v in zip(questions, vecs):
    t = time.perf_counter(); coll.dense_search(v / np.linalg.norm(v), 30); dense.append(time.perf_counter() - t)
    qt = index_terms(q)
    t = time.perf_counter(); coll.keyword_search(qt, 30); bm25.append(time.perf_counter() - t)
print(json.dumps({"before": before, "opened": opened, "searched": searched, "plan": coll._vectors.plan.kind,
                  "chunks": coll.stats()["chunks"], "dense_p50": p50(dense), "bm25_p50": p50(bm25)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()
    report = Report("Memory per chunk")
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="qa-bench-mem-") as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            index_dir = Path(tmp) / str(size)
            timings = build_collection(index_dir, size, with_seeds=False)
            coll_dir = index_dir / "default"
            files = {p.name: p.stat().st_size for p in coll_dir.iterdir() if p.is_file()}
            sqlite_bytes = sum(v for k, v in files.items() if k.startswith("docstore.sqlite3"))
            faiss_bytes = files.get("vectors.faiss", 0)
            probe = subprocess.run(
                [sys.executable, "-c", _PROBE, str(index_dir), str(QUESTIONS)],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            m = json.loads(probe.stdout.strip().splitlines()[-1])
            n = int(m["chunks"])
            rows.append(
                [
                    f"{n:,}",
                    m["plan"],
                    round(sqlite_bytes / n),
                    round(faiss_bytes / n),
                    round((sqlite_bytes + faiss_bytes) / n),
                    round((m["opened"] - m["before"]) / n),
                    round((m["searched"] - m["before"]) / n),
                    round(m["searched"] / 2**20),
                    round(m["dense_p50"], 2),
                    round(m["bm25_p50"], 2),
                    round(timings["synthetic_build_s"], 1),
                ]
            )
            print(rows[-1], files, flush=True)
    report.add(
        "Disk: the collection folder after a checkpoint (SQLite main file + WAL; the FAISS snapshot). "
        "RSS: a fresh process after importing qa/faiss/jieba (baseline), then opening the collection "
        "and running one dense + one keyword search. Raw embedding: 1,536 bytes (384 float32). "
        "Search p50: 40 sample questions, k=30, in that process (dense with random unit vectors)."
    )
    report.add(
        table(
            [
                "chunks",
                "vector index",
                "SQLite B/chunk",
                "FAISS B/chunk",
                "disk B/chunk",
                "RSS open B/chunk",
                "RSS open+search B/chunk",
                "process RSS MiB",
                "dense search p50 ms",
                "BM25 search p50 ms",
                "build s",
            ],
            rows,
        )
    )
    report.finish(write=not args.no_write)


if __name__ == "__main__":
    main()
