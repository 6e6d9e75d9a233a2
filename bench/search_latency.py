"""Search latency (dense, BM25, fused) in process over an ingested collection.

    .venv/bin/python bench/search_latency.py --index-dir index [--collection default] [--rounds 5]

Questions come from evals/sample_qa.jsonl; each is searched `rounds` times per variant after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.service import QAService

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index-dir", type=Path, default=REPO / "index")
    parser.add_argument("--collection", default="default")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    # the process set-up `qa` does at start (thread pools, offline switches), so figures match the service
    from qa.runtime import configure_process

    configure_process(torch_model=True)
    settings = Settings(index_dir=args.index_dir, collection=args.collection)
    service = QAService(settings)
    service.warm_up()
    questions = [json.loads(line)["question"] for line in (REPO / "evals" / "sample_qa.jsonl").read_text().splitlines()]
    stats = service.collections.get(args.collection).stats()
    print(f"collection {args.collection}: {stats['documents']} documents, {stats['chunks']} chunks")
    print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}")
    for fusion in ("bm25", "dense", "rrf"):
        samples = []
        for _ in range(args.rounds):
            for q in questions:
                started = time.perf_counter()
                service.search(q, args.collection, args.k, fusion=fusion)
                samples.append((time.perf_counter() - started) * 1000)
        p50, p95 = np.percentile(samples, [50, 95])
        mean = statistics.mean(samples)
        print(f"{fusion:6s} n={len(samples):4d}  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  mean {mean:7.2f} ms")
    print("reproduce: " + " ".join([".venv/bin/python", "bench/search_latency.py", *sys.argv[1:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
