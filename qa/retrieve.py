"""Hybrid retrieval: dense (FAISS) and BM25 (over the segmenter's terms) candidates, fused into one ranking.

Fusion variants are selectable (`QA_FUSION`) so evaluation can compare them side by side:
- "rrf": weighted reciprocal rank fusion, robust to the two retrievers' incomparable score scales;
- "dense" / "bm25": one retriever alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from qa.config import Settings
from qa.embed.base import Embedder
from qa.index.docstore import StoredChunk
from qa.query import Query
from qa.text import fold
from qa.types import Document, Hit, Passage, Signals

FUSION_MODES = ("rrf", "dense", "bm25")


class Searchable(Protocol):
    """What retrieval needs from a collection (evaluation substitutes variants, e.g. other embeddings)."""

    @property
    def embeds_simplified(self) -> bool:
        """How its passages were embedded, so the query is embedded the same way (`CollectionStore`)."""
        ...

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def keyword_search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]: ...

    def name_terms(self, names: Sequence[str]) -> list[str]: ...

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]: ...


@dataclass(frozen=True, slots=True)
class _Candidate:
    chunk_id: int
    score: float
    signals: Signals


class HybridRetriever:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self._embedder = embedder
        self._rrf_k = settings.rrf_k
        self._weights = {"dense": settings.rrf_dense_weight, "bm25": settings.rrf_bm25_weight}
        self._candidates = settings.candidates
        self._fusion = settings.fusion

    def run(self, collection: Searchable, query: Query, top_k: int, *, fusion: str | None = None) -> list[Passage]:
        mode = fusion or self._fusion
        if mode not in FUSION_MODES:
            raise ValueError(f"unknown fusion mode {mode!r}; expected one of {FUSION_MODES}")
        depth = max(self._candidates, top_k)
        dense: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        if mode in ("rrf", "dense"):
            vector = self._embedder.embed_query(query.text, simplify=collection.embeds_simplified)
            dense = collection.dense_search(vector, depth)
        if mode in ("rrf", "bm25"):
            # an English question over Chinese text also searches its words' translations and the collection's
            # words its pinyin names stand for (harmless for English collections: they match nothing there)
            names = collection.name_terms(query.names) if query.names else []
            keyword = collection.keyword_search([*query.keywords, *query.expansions, *names], depth)
        fused = self._fuse(dense, keyword)[: max(top_k, 0)]
        return self._hydrate(collection, fused)

    def _fuse(self, dense: Sequence[tuple[int, float]], keyword: Sequence[tuple[int, float]]) -> list[_Candidate]:
        signals: dict[int, Signals] = {}
        fused: dict[int, float] = {}
        for rank, (chunk_id, score) in enumerate(dense, start=1):
            signals[chunk_id] = Signals(dense=score, dense_rank=rank)
            fused[chunk_id] = self._weights["dense"] / (self._rrf_k + rank)
        for rank, (chunk_id, score) in enumerate(keyword, start=1):
            signals[chunk_id] = replace(signals.get(chunk_id, Signals()), bm25=score, bm25_rank=rank)
            fused[chunk_id] = fused.get(chunk_id, 0.0) + self._weights["bm25"] / (self._rrf_k + rank)
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


class HasDocuments(Protocol):
    def document(self, doc_id: str) -> Document | None: ...


_ZH_DIGITS = "〇一二三四五六七八九"


def _year_pattern(years: Sequence[int]) -> re.Pattern[str]:
    """How a folded text states any of `years`: in digits, in Chinese numerals digit by digit ("二〇二三"), or in
    the Republic of China's count of years that Taiwan's official texts use ("112年" for 2023)."""
    forms: list[str] = []
    for year in years:
        digits = str(year)
        forms.append(rf"(?<![\d.]){digits}(?!\d)")
        forms.append("".join(f"[{_ZH_DIGITS[int(d)]}{'零' if d == '0' else ''}]" for d in digits))
        if year > 1911:
            forms.append(rf"(?<![\d.]){year - 1911}\s*年")
    return re.compile("|".join(forms))


def stating_years(collection: HasDocuments, passages: Sequence[Passage], years: Sequence[int]) -> list[Passage]:
    """The passages whose documents state one of `years` (`Query.years`), in their order.

    A question about 2022 is not answered by a bulletin for 2023 that never speaks of 2022: its figures are
    another year's, however well its sentences match the question's other words. A document states its year
    in its title or text ("2023年统计公报", "2023年，全市…"); one that names the year anywhere is kept, so a
    comparison with an earlier year keeps it too. With no document stating the year, nothing is left, and the
    question is refused rather than answered with another year's figure."""
    if not years:
        return list(passages)
    pattern = _year_pattern(years)
    states: dict[str, bool] = {}
    kept: list[Passage] = []
    for p in passages:
        if p.doc_id not in states:
            doc = collection.document(p.doc_id)
            states[p.doc_id] = doc is not None and pattern.search(fold(f"{doc.title}\n{doc.text}")) is not None
        if states[p.doc_id]:
            kept.append(p)
    return kept


_BOUNDARY = re.compile(r"[。！？!?；;…\n]|\.(?=\s)")


def _snap(text: str, a: int, b: int, keep_start: int, keep_end: int) -> tuple[int, int]:
    """Shrink [a, b) to whole sentences, never past [keep_start, keep_end)."""
    if a > 0:
        cut = None
        for m in _BOUNDARY.finditer(text, a, keep_start):
            cut = m.end()
            break
        a = keep_start if cut is None else cut
    if b < len(text):
        last = None
        for m in _BOUNDARY.finditer(text, keep_end, b):
            last = m.end()
        b = keep_end if last is None else last
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def widen(collection: HasDocuments, passages: Sequence[Passage], reach: float = 1.0) -> list[Passage]:
    """Each passage with its surroundings: `reach` times its own length of the document's text on either
    side, cut to whole sentences, overlapping windows of one document merged.

    A chunk is where retrieval found the question's words; the sentence that answers often sits just before
    or after it (a chunk boundary cuts a paragraph, the answer follows the sentence that names the subject).
    Windows keep the order, score and signals of the best passage they contain, and their text is still a
    slice of the stored document, so citations into them stay exact."""
    texts: dict[str, str] = {}
    windows: list[list[int]] = []  # [start, end] of each window, grown as passages merge into it
    owners: list[Passage] = []
    hits: list[list[Hit]] = []
    for rank, p in enumerate(passages):
        if p.doc_id not in texts:
            doc = collection.document(p.doc_id)
            if doc is None:  # deleted since retrieval: never cited
                continue
            texts[p.doc_id] = doc.text
        text = texts[p.doc_id]
        extent = int((p.end - p.start) * reach)
        a, b = _snap(text, max(0, p.start - extent), min(len(text), p.end + extent), p.start, p.end)
        for i, owner in enumerate(owners):
            if owner.doc_id == p.doc_id and a <= windows[i][1] and b >= windows[i][0]:
                windows[i] = [min(a, windows[i][0]), max(b, windows[i][1])]
                hits[i].append(Hit(p.start, p.end, rank))
                break
        else:
            owners.append(p)
            windows.append([a, b])
            hits.append([Hit(p.start, p.end, rank)])
    out: list[Passage] = []
    for owner, (a, b), found in zip(owners, windows, hits, strict=True):
        text = texts[owner.doc_id]
        out.append(
            Passage(
                chunk_id=owner.chunk_id,
                doc_id=owner.doc_id,
                source=owner.source,
                title=owner.title,
                text=text[a:b],
                start=a,
                end=b,
                score=owner.score,
                signals=owner.signals,
                hits=tuple(found),
            )
        )
    return out
