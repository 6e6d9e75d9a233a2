"""Answer-stage latency: the extractive answerer alone, on the evidence the service gives it.

Retrieval (query embedding, BM25, fusion, widening) runs first and is timed separately; the answer stage is
what `ExtractiveAnswerer.answer` costs on that evidence: candidate sentences, their features, the three
fitted models, the short answer and the composition. Questions come from a dataset over an index that holds
its documents (default: the golden and sample sets over the sample corpus, ingested into a temporary index).

    .venv/bin/python bench/answer_latency.py
    .venv/bin/python bench/answer_latency.py --index-dir /tmp/cmrc \
        --dataset ../shared/datasets/cmrc2018-trial/questions.jsonl
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import QUESTIONS, REPO, SEEDS, Report, percentiles, table

from qa.config import Settings
from qa.eval.dataset import load_dataset
from qa.query import analyze
from qa.runtime import configure_process
from qa.service import QAService


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=None, help="an index holding the dataset's documents")
    parser.add_argument("--dataset", type=Path, action="append", default=None)
    parser.add_argument("--repeat", type=int, default=3, help="times each question is answered")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()
    report = Report("Answer stage latency (extractive, in process)")
    configure_process(torch_model=True)
    datasets = args.dataset or [REPO / "evals" / "golden.jsonl", QUESTIONS]
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index_dir
        if index_dir is None:
            index_dir = Path(tmp) / "index"
            subprocess.run(
                [sys.executable, "-m", "qa.cli", "ingest", str(SEEDS), "--index-dir", str(index_dir)],
                check=True,
                capture_output=True,
            )
        service = QAService(Settings(index_dir=index_dir))
        service.warm_up()
        answerer = service.answerer
        questions = [item.question for path in datasets for item in load_dataset(path)]
        evidence = []
        retrieve_s = []
        for q in questions:
            t0 = time.perf_counter()
            query = analyze(q)
            evidence.append((query, service.evidence(query, "default")))
            retrieve_s.append(time.perf_counter() - t0)
        answer_s = []
        for _ in range(args.repeat):
            for query, passages in evidence:
                t0 = time.perf_counter()
                answerer.answer(query, passages)  # type: ignore[attr-defined]
                answer_s.append(time.perf_counter() - t0)
        service.close()
    rows = [
        ["retrieve + widen", len(retrieve_s), *(f"{v:.1f}" for v in percentiles(retrieve_s))],
        ["answer stage", len(answer_s), *(f"{v:.1f}" for v in percentiles(answer_s))],
    ]
    report.add(f"Questions: {len(questions)} from {', '.join(p.name for p in datasets)}; answered {args.repeat}x each.")
    report.add(table(["stage", "n", "p50 ms", "p95 ms", "p99 ms"], rows))
    report.finish(write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
