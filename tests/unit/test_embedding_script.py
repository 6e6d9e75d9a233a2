"""A collection's passages and its questions are embedded the same way: Chinese in simplified script for a
collection made now, as written for one made before that (real embedder, real ingest worker, real FAISS)."""

from __future__ import annotations

from pathlib import Path

from qa.config import Settings
from qa.query import analyze
from qa.service import QAService
from qa.worker import Source

TEXT = "房寺鎮開發區財政收入達到6.19億元，實現了經濟的平穩發展。"
QUESTION = "房寺鎮的財政收入是多少？"


def test_ingest_and_search_embed_as_the_collection_does(tmp_path: Path) -> None:
    service = QAService(Settings(index_dir=tmp_path))
    try:
        service.collections.get("old", create=True).set_embeds_simplified(False)  # as collections made before
        source = Source(name="a.txt", source="a.txt", text=TEXT, title="房寺鎮")
        for name in ("new", "old"):
            service.ingest_sources([source], name)
        embedder = service.embedder
        query = analyze(QUESTION)
        for name, simplified in (("new", True), ("old", False)):
            coll = service.collections.get(name)
            assert coll.embeds_simplified is simplified
            [stored] = list(coll.export())
            titles = [stored.document.title] * len(stored.chunks)
            texts = [c.text for c in stored.chunks]
            ways = {way: embedder.embed_passages(texts, titles, simplify=way)[0] for way in (True, False)}
            closeness = {way: float(stored.vectors[0] @ v) for way, v in ways.items()}
            assert closeness[simplified] > 0.99 and closeness[simplified] > closeness[not simplified] + 0.01, closeness
            [passage] = service.retrieve(query, name, 1)
            cosines = {way: float(embedder.embed_query(QUESTION, simplify=way) @ stored.vectors[0]) for way in ways}
            assert passage.signals.dense is not None
            # FAISS's inner product is numpy's to float32 rounding; the two ways differ by far more
            assert abs(passage.signals.dense - cosines[simplified]) < 1e-5, (passage.signals.dense, cosines)
            assert abs(cosines[True] - cosines[False]) > 1e-4
    finally:
        service.close()
