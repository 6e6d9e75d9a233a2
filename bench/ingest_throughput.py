"""Ingest throughput of the sample corpus through the real service, against a bare encode of the same passage
strings in the same process (the embedding model alone, same threads), for each embedding backend.

The ratio shows how much of ingest is the model: everything else (reading, cleaning, chunking, BM25 terms,
the worker process hand-over, SQLite, FAISS and keyword snapshots, fsync) is overhead on top of it. The ingest
worker process is started and its model loaded before the timed runs (a warm-up ingest), so the figure is
ingest, not start-up. The worker runs at a lower priority (nice 10): on a busy machine that alone lowers the
ratio, on a quiet one it costs nothing.

    .venv/bin/python bench/ingest_throughput.py [--repeat 2] [--backends onnx-int8,torch]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _common import SEEDS, Report, Timer, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (interleaved); medians are reported")
    parser.add_argument("--backends", default="onnx-int8,torch", help="QA_EMBED_BACKEND values to measure")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()
    # the process set-up `qa` does at start (thread pools, offline switches), so figures match the service
    from qa.runtime import configure_process, embedding_threads

    configure_process(torch_model=True)
    report = Report("Ingest throughput (sample corpus)")
    from qa.config import Settings
    from qa.embed.load import load_embedder
    from qa.ingest import find_files, load_file
    from qa.service import QAService

    rows: list[list[object]] = []
    runs: list[str] = []
    corpus = ""
    with tempfile.TemporaryDirectory(prefix="qa-bench-ingest-") as tmp:
        for backend in args.backends.split(","):
            settings = Settings(index_dir=Path(tmp) / backend, embed_backend=backend, query_batch_window_ms=-1)
            t = Timer()
            embedder = load_embedder(settings)
            load_s = t.s
            service = QAService(settings)
            # the exact strings ingest embeds: the same chunks, titles in front, the model's passage prompt
            documents = [load_file(p) for p in find_files([SEEDS])]
            chunked = [(d, service.chunker.run(d)) for d in documents]
            texts = [c.text for _, cs in chunked for c in cs]
            titles = [d.title for d, cs in chunked for _ in cs]
            prompt = embedder.prompts.get("passage", "")  # type: ignore[attr-defined]
            inputs = [prompt + x for x in embedder.passage_inputs(texts, titles)]  # type: ignore[attr-defined]
            chars = sum(len(x) for x in inputs)
            corpus = (
                f"{len(documents)} documents, {len(texts)} chunks, {chars:,} characters embedded "
                f"(mean {chars / len(texts):.0f} a chunk)"
            )

            def bare(embedder: object = embedder, inputs: list[str] = inputs) -> float:
                t = Timer()
                embedder.encode(inputs)  # type: ignore[attr-defined]
                return t.s

            embedder.encode(inputs[:8])  # type: ignore[attr-defined]  # first-call warm-up
            t = Timer()
            service.ingest_paths([SEEDS], "warm-up")  # starts the worker process and loads its model
            warm_s = t.s
            ingest_runs: list[float] = []
            bare_runs: list[float] = []
            for i in range(args.repeat):
                t = Timer()
                stored = service.ingest_paths([SEEDS], f"run{i}").chunks
                ingest_runs.append(t.s)
                assert stored == len(texts), f"ingest stored {stored} chunks, bare encode saw {len(texts)}"
                bare_runs.append(bare())
            service.close()
            embedder.close()
            ingest_s, bare_s = statistics.median(ingest_runs), statistics.median(bare_runs)
            rows.append(
                [
                    backend,
                    ingest_s,
                    len(texts) / ingest_s,
                    bare_s,
                    len(texts) / bare_s,
                    round(bare_s / ingest_s, 3),
                    load_s,
                    warm_s,
                ]
            )
            runs.append(
                f"{backend}: ingest {[round(x, 2) for x in ingest_runs]}, bare {[round(x, 2) for x in bare_runs]}"
            )
            print(rows[-1], flush=True)
    report.add(
        f"Corpus: {corpus}; embedding threads {embedding_threads()}, batch size {Settings().embed_batch_size}; "
        f"medians of {args.repeat} interleaved runs."
    )
    report.add(
        table(
            [
                "backend",
                "full ingest s",
                "ingest chunks/s",
                "bare encode s",
                "bare chunks/s",
                "ratio ingest / bare",
                "model load s",
                "first ingest (worker start + model load) s",
            ],
            rows,
        )
        + "\n\nAll runs (s): "
        + "; ".join(runs)
    )
    report.finish(write=not args.no_write)


if __name__ == "__main__":
    main()
