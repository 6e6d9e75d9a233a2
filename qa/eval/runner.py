"""`qa eval`: send every dataset question through the same path as /v1/ask, score it, report.

With `--compare` each retrieval variant (fused, dense alone, BM25 alone, and fused/dense with passages
embedded without their title in front) is scored on the same questions in one run, so the effect of a
retrieval change is one command away.

A multi-turn item is asked with its `history`, as /v1/ask would be, and retrieval is scored on the standalone
question the service searched for; an item with a `standalone` form is asked that way too, without history, so
the report can set follow-up accuracy beside standalone accuracy. `ignore_history` asks every item alone (what
a service without conversations would do).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa.config import Settings
from qa.eval.dataset import EvalItem, load_dataset
from qa.eval.metrics import doc_matches
from qa.eval.report import (
    SERVICE_VARIANT,
    QuestionResult,
    format_table,
    report_folder,
    score_result,
    summarize,
    write_report,
)
from qa.index import CollectionStore, DocumentInfo
from qa.index.docstore import StoredChunk
from qa.index.vectors import VectorIndex
from qa.query import analyze
from qa.retrieve import Searchable
from qa.service import QAService
from qa.types import Passage

EVAL_DEPTH = 10
VARIANTS = {SERVICE_VARIANT: "rrf", "dense": "dense", "bm25": "bm25"}
# Re-embedding a collection without titles costs a full encode; past this size --compare skips it.
UNTITLED_MAX_CHUNKS = 5000


class _UntitledView:
    """The collection with its dense index rebuilt from passages embedded without their title."""

    def __init__(self, service: QAService, collection: CollectionStore) -> None:
        self._collection = collection
        ids: list[int] = []
        texts: list[str] = []
        for stored in collection.export():
            ids += stored.chunk_ids
            texts += [c.text for c in stored.chunks]
        self.embeds_simplified = collection.embeds_simplified
        self._vectors = VectorIndex(collection.dim)
        self._vectors.add(ids, service.embedder.embed_passages(texts, simplify=self.embeds_simplified))

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        return self._vectors.search(query_vector, k)

    def keyword_search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        return self._collection.keyword_search(query_terms, k)

    def name_terms(self, names: Sequence[str]) -> list[str]:
        return self._collection.name_terms(names)

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
        return self._collection.chunks(chunk_ids)


def run_eval(
    settings: Settings, dataset: Path, out: Path | None, *, compare: bool = False, ignore_history: bool = False
) -> int:
    items = load_dataset(dataset)
    if out is not None:
        report_folder(out)
    service = QAService(settings)
    service.collections.get(settings.collection)  # fail early, naming the missing collection
    service.warm_up()  # load the models now, so the first question's latency is not the model's load time
    variants = VARIANTS if compare else {SERVICE_VARIANT: settings.fusion}
    collection = service.collections.get(settings.collection)
    _warn_unknown_docs(items, collection.documents(), settings.collection)
    untitled: Searchable | None = None
    if compare and collection.stats()["chunks"] <= UNTITLED_MAX_CHUNKS:
        untitled = _UntitledView(service, collection)
    results: list[QuestionResult] = []

    async def run_all() -> None:
        for item in tqdm(items, desc="eval", unit="q", file=sys.stderr):
            retrieved: dict[str, list[Passage]] = {}
            timings: dict[str, float] = {}
            history = () if ignore_history else item.history
            try:
                answer = await service.ask(item.question, settings.collection, history=history)
                searched = answer.question or item.question
                for name, fusion in variants.items():
                    started = time.perf_counter()
                    retrieved[name] = service.search(searched, settings.collection, EVAL_DEPTH, fusion=fusion)
                    timings[f"search_{name}"] = (time.perf_counter() - started) * 1000
                if untitled is not None:
                    for name, fusion in (("fused_no_title", "rrf"), ("dense_no_title", "dense")):
                        retrieved[name] = service.retriever.run(untitled, analyze(searched), EVAL_DEPTH, fusion=fusion)
                standalone = None
                if item.standalone and item.standalone != item.question:
                    standalone = await service.ask(item.standalone, settings.collection)
            except Exception as exc:  # one failing question must not end the run; it is reported as failed
                results.append(score_result(item, None, retrieved, error=f"{type(exc).__name__}: {exc}"))
                continue
            timings.update(answer.timings_ms)
            results.append(score_result(item, answer, retrieved, timings_ms=timings, standalone_answer=standalone))

    try:
        asyncio.run(run_all())
    finally:
        service.close()
    summary = summarize(results)
    if ignore_history:
        print("history ignored: every item was asked alone")
    print(format_table(summary))
    if out is not None:
        write_report(summary, results, out)
        print(f"report written to {out / 'report.md'}")
    if summary.n_errors:
        print(f"{summary.n_errors} question(s) failed to run: see the errors above", file=sys.stderr)
        return 1
    return 0


def _warn_unknown_docs(items: Sequence[EvalItem], documents: Sequence[DocumentInfo], collection: str) -> None:
    """Say which `docs` name no document of the collection: such an item can only ever miss, which reads as a
    retrieval failure rather than the typo (or the document never ingested) it is."""
    named = {doc for item in items for doc in item.docs}
    unknown = sorted(doc for doc in named if not any(doc_matches(d.doc_id, d.source, {doc}) for d in documents))
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        print(f"warning: docs name no document of collection '{collection}': {shown}", file=sys.stderr)
