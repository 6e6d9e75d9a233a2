"""Ingest throughput of the sample corpus through the real service, against bare `model.encode` of the same
chunk texts in the same process (same torch threads), plus the set-up cost (imports, model load).

The ratio shows how much of ingest is the model: everything else (loading, cleaning, chunking, jieba terms,
SQLite, FAISS, fsync) is overhead on top of it.

    .venv/bin/python bench/ingest_throughput.py [--repeat 2]
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
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()
    # the process set-up `qa` does at start (thread pools, offline switches), so figures match the service
    from qa.runtime import configure_process

    configure_process(embedding=True)
    report = Report("Ingest throughput (sample corpus)")

    t = Timer()
    import sentence_transformers
    import torch

    import_s = t.s
    from qa.config import Settings
    from qa.embed.offline_e5 import resolve_model
    from qa.ingest import iter_files, load_file
    from qa.service import QAService

    with tempfile.TemporaryDirectory(prefix="qa-bench-ingest-") as tmp:
        base = Settings(index_dir=Path(tmp) / "warm")
        warm = QAService(base)
        t = Timer()
        embedder = warm.embedder
        service_load_s = t.s
        t = Timer()
        bare_model = sentence_transformers.SentenceTransformer(
            str(resolve_model(base.embedding_model, base.cache_dir)), device="cpu", local_files_only=True
        )
        bare_load_s = t.s

        # the exact strings ingest embeds: the same chunks, titles in front, the model's passage prompt
        documents = [load_file(p) for p in iter_files([SEEDS])]
        chunked = [(d, warm.chunker.run(d)) for d in documents]
        texts = [c.text for _, cs in chunked for c in cs]
        titles = [d.title for d, cs in chunked for _ in cs]
        inputs = embedder.passage_inputs(texts, titles)
        prompt = embedder.prompts.get("passage")
        chars = sum(len(x) for x in inputs)

        def bare_encode() -> float:
            t = Timer()
            with torch.inference_mode():
                bare_model.encode(
                    inputs,
                    prompt=prompt,
                    batch_size=base.embed_batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            return t.s

        embedder.embed_passages(texts[:8], titles[:8])  # first-call warm-up (allocations, kernels)
        bare_encode_first = bare_encode()
        ingest_runs: list[float] = []
        bare_runs: list[float] = []
        stored = 0
        for i in range(args.repeat):
            service = QAService(Settings(index_dir=Path(tmp) / f"run{i}"))
            service.__dict__["embedder"] = embedder  # share the loaded model: the figure is ingest, not loading
            t = Timer()
            result = service.ingest_paths([SEEDS], "default")
            ingest_runs.append(t.s)
            stored = result.chunks
            service.close()
            bare_runs.append(bare_encode())
        warm.close()

    ingest_s = statistics.median(ingest_runs)
    bare_s = statistics.median(bare_runs)
    assert stored == len(texts), f"ingest stored {stored} chunks, bare encode saw {len(texts)}"
    report.add(
        f"Corpus: {len(documents)} documents, {len(texts)} chunks, {chars:,} characters embedded "
        f"(mean {chars / len(texts):.0f} a chunk); torch threads {torch.get_num_threads()}, "
        f"batch size {base.embed_batch_size}; medians of {args.repeat} interleaved runs."
    )
    report.add(
        table(
            ["measure", "seconds", "chunks/s"],
            [
                [
                    "full ingest (load, chunk, embed, BM25 terms, SQLite, FAISS, checkpoint)",
                    ingest_s,
                    len(texts) / ingest_s,
                ],
                ["bare model.encode of the same inputs", bare_s, len(texts) / bare_s],
                ["bare model.encode, first call after load", bare_encode_first, len(texts) / bare_encode_first],
                ["ratio ingest / bare (throughput)", "", round(bare_s / ingest_s, 3)],
            ],
        )
    )
    report.add(
        table(
            ["set-up cost", "seconds"],
            [
                ["import torch + sentence_transformers", import_s],
                ["service embedder load (model from the offline folder)", service_load_s],
                ["bare SentenceTransformer load (warm file cache)", bare_load_s],
            ],
        )
        + f"\n\nAll runs (s): ingest {[round(x, 2) for x in ingest_runs]}, bare {[round(x, 2) for x in bare_runs]}"
    )
    report.finish(write=not args.no_write)


if __name__ == "__main__":
    main()
