"""Hybrid retrieval: dense (FAISS) and BM25 (over the segmenter's terms) candidates, fused into one ranking.

Fusion variants are selectable (`QA_FUSION`) so evaluation can compare them side by side:
- "rrf": weighted reciprocal rank fusion, robust to the two retrievers' incomparable score scales;
- "dense" / "bm25": one retriever alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.config import Settings
from qa.embed.base import Embedder
from qa.index.docstore import StoredChunk
from qa.segment import index_terms
from qa.text import is_cjk
from qa.types import Passage

FUSION_MODES = ("rrf", "dense", "bm25")


class Searchable(Protocol):
    """What retrieval needs from a collection (evaluation substitutes variants, e.g. other embeddings)."""

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def keyword_search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]: ...

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]: ...


@dataclass(frozen=True, slots=True)
class _Candidate:
    chunk_id: int
    score: float
    signals: dict[str, float]


class HybridRetriever:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self._embedder = embedder
        self._rrf_k = settings.rrf_k
        self._weights = {"dense": settings.rrf_dense_weight, "bm25": settings.rrf_bm25_weight}
        self._candidates = settings.candidates
        self._fusion = settings.fusion

    def run(self, collection: Searchable, query: str, top_k: int, *, fusion: str | None = None) -> list[Passage]:
        mode = fusion or self._fusion
        if mode not in FUSION_MODES:
            raise ValueError(f"unknown fusion mode {mode!r}; expected one of {FUSION_MODES}")
        depth = max(self._candidates, top_k)
        dense: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        if mode in ("rrf", "dense"):
            dense = collection.dense_search(self._embedder.embed_query(query), depth)
        if mode in ("rrf", "bm25"):
            keyword = collection.keyword_search(index_terms(query) + self._cross_lingual_terms(query), depth)
        fused = self._fuse(dense, keyword)[: max(top_k, 0)]
        return self._hydrate(collection, fused)

    @staticmethod
    def _cross_lingual_terms(query: str) -> list[str]:
        """An English question shares no word with Chinese text, which leaves BM25 blind; its content
        words' plain Chinese translations give the keyword side something to rank (harmless for English
        collections: the extra terms match nothing there)."""
        if is_cjk(query):
            return []
        from qa.answer.lexicon import chinese_query_terms
        from qa.answer.question import analyze

        info = analyze(query)
        return chinese_query_terms(info.keywords, info.qualifiers)

    def _fuse(self, dense: Sequence[tuple[int, float]], keyword: Sequence[tuple[int, float]]) -> list[_Candidate]:
        signals: dict[int, dict[str, float]] = {}
        fused: dict[int, float] = {}
        for name, ranking in (("dense", dense), ("bm25", keyword)):
            for rank, (chunk_id, score) in enumerate(ranking, start=1):
                entry = signals.setdefault(chunk_id, {})
                entry[name] = score
                entry[f"{name}_rank"] = float(rank)
                fused[chunk_id] = fused.get(chunk_id, 0.0) + self._weights[name] / (self._rrf_k + rank)
        if not (dense and keyword):
            # One retriever alone: keep its own score, which carries more information than 1/(k+rank).
            only = dense or keyword
            return [_Candidate(cid, score, signals[cid]) for cid, score in only]
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
        return [_Candidate(cid, score, signals[cid]) for cid, score in ranked]

    @staticmethod
    def _hydrate(collection: Searchable, candidates: Sequence[_Candidate]) -> list[Passage]:
        stored = collection.chunks([c.chunk_id for c in candidates])
        passages: list[Passage] = []
        for cand in candidates:
            chunk = stored.get(cand.chunk_id)
            if chunk is None:  # deleted between search and hydration: never cite it
                continue
            passages.append(
                Passage(
                    chunk_id=chunk.chunk_id,
                    doc_id=chunk.doc_id,
                    source=chunk.source,
                    title=chunk.title,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    score=cand.score,
                    signals=cand.signals,
                )
            )
        return passages
