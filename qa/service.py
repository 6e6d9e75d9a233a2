"""The application service: the pipeline stages wired together, shared by the CLI and the HTTP API.

Models load once, lazily, on first use (never at import). Ingest embeds outside any lock, then re-checks
and writes under the collection's write lock in one transaction, so concurrent uploads of the same file
store it once and readers never see a half-written collection.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from qa.answer.base import Answerer, AnswerEvent
from qa.chunk.chunker import Chunker
from qa.config import Settings
from qa.embed.base import Embedder
from qa.errors import DocumentNotFound, InvalidQuestion, QAError
from qa.index import Collections, CollectionStore, DocumentChange, DocumentInfo
from qa.index.backends import make_backend
from qa.index.docstore import NewChunks
from qa.index.keyword import index_text
from qa.ingest import iter_files, load_file
from qa.retrieve import HybridRetriever
from qa.types import Answer, Document, Passage

log = logging.getLogger(__name__)


def require_letter_or_digit(text: str, field: str = "question") -> str:
    """Punctuation or emoji alone ask nothing retrieval could match: any passage returned would be unrelated."""
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuestion(f"{field} has no letter or digit in it: ask in words")
    return text


@dataclass(slots=True)
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    chunks: int = 0
    documents: list[Document] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
            f"skipped {len(self.skipped)}; {self.chunks} chunks written"
        )


# told (chunks embedded so far, chunks to embed) while an ingest embeds
EmbedProgress = Callable[[int, int], None]
_EMBED_STEP_BATCHES = 2


@dataclass(frozen=True, slots=True)
class _Prepared:
    document: Document
    new: NewChunks


class QAService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # -- components, built once on first use --------------------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        from qa.embed.sentence_transformer import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(self.settings)

    @cached_property
    def chunker(self) -> Chunker:
        return Chunker(self.settings)

    @cached_property
    def collections(self) -> Collections:
        # the model name is known from settings; the dimension (which loads the model) only for a new collection
        return Collections(
            make_backend(self.settings, lambda: self.embedder.dim),
            max_open=self.settings.max_open_collections,
            idle_seconds=self.settings.collection_idle_seconds,
        )

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.settings, self.embedder)

    @cached_property
    def answerer(self) -> Answerer:
        from qa.answer.extractive import ExtractiveAnswerer

        extractive = ExtractiveAnswerer(self.settings, self.embedder)
        if not self.settings.llm_enabled:
            return extractive
        from qa.answer.fallback import FallbackAnswerer
        from qa.answer.llm import LLMAnswerer

        return FallbackAnswerer(LLMAnswerer(self.settings), extractive)

    def warm_up(self) -> None:
        """Load models and open the default collection now, so the first request doesn't pay for it."""
        self.embedder.embed_query("warm up")
        _ = self.chunker
        from qa.answer.lexicon import translations

        translations("warm up")  # the English→Chinese dictionary loads in ~0.5 s
        if self.collections.exists(self.settings.collection):
            self.collections.get(self.settings.collection)

    def close(self) -> None:
        if "collections" in self.__dict__:
            self.collections.close()

    # -- ingest ---------------------------------------------------------------------------------------
    def ingest_paths(
        self,
        paths: Sequence[Path],
        collection: str,
        *,
        progress: Callable[[Iterable[Path]], Iterable[Path]] | None = None,
        embedded: EmbedProgress | None = None,
    ) -> IngestReport:
        """Load, chunk and embed every supported file under `paths`, then store them in one transaction.

        `progress` wraps the files as they are loaded; `embedded` is told (chunks embedded, chunks to embed)
        as embedding goes, the part that takes the time."""
        files = list(iter_files(paths))
        report = IngestReport()
        documents: list[Document] = []
        for path in progress(files) if progress else files:
            try:
                documents.append(load_file(path))
            except QAError as exc:
                report.skipped.append((str(path), exc.message))
                log.warning("skipped %s: %s", path, exc.message)
        self._store(documents, collection, report, embedded)
        if report.added or report.updated:
            self.collections.get(collection).checkpoint()
        return report

    def ingest_documents(self, documents: Sequence[Document], collection: str) -> IngestReport:
        report = IngestReport()
        self._store(documents, collection, report)
        return report

    def _store(
        self,
        documents: Sequence[Document],
        collection_name: str,
        report: IngestReport,
        embedded: EmbedProgress | None = None,
    ) -> None:
        with self.collections.pinned(collection_name, create=True) as coll:
            self._store_in(coll, documents, report, embedded)

    def _store_in(
        self,
        coll: CollectionStore,
        documents: Sequence[Document],
        report: IngestReport,
        embedded: EmbedProgress | None = None,
    ) -> None:
        documents = self._dedupe_sources(documents)
        todo = [d for d in documents if self._status(coll, d) != "unchanged"]
        prepared = self._prepare(todo, embedded) if todo else []
        # Re-check under the lock: another writer may have stored the same documents meanwhile.
        with coll.writing():
            changes: list[DocumentChange] = []
            taken: set[str] = set()  # ids given out in this batch, not yet in the store
            by_source = {p.document.source: p for p in prepared}
            for doc in documents:
                status = self._status(coll, doc)
                if status == "unchanged":
                    report.unchanged.append(doc.source)
                    stored = coll.document_by_source(doc.source)
                    report.documents.append(replace(doc, doc_id=stored.doc_id) if stored else doc)
                    continue
                item = by_source.get(doc.source) or self._prepare([doc])[0]
                stored = coll.document_by_source(doc.source)
                final = replace(item.document, doc_id=self._free_doc_id(coll, item.document, stored, taken))
                taken.add(final.doc_id)
                changes.append(DocumentChange(final, item.new, replaces=stored.doc_id if stored else None))
                (report.updated if stored else report.added).append(doc.source)
                report.documents.append(final)
                report.chunks += len(item.new.chunks)
            coll.apply(changes)

    @staticmethod
    def _dedupe_sources(documents: Sequence[Document]) -> list[Document]:
        """The same source twice in one call counts once (the last one wins, as with sequential uploads)."""
        latest: dict[str, Document] = {}
        for doc in documents:
            latest.pop(doc.source, None)
            latest[doc.source] = doc
        return list(latest.values())

    @staticmethod
    def _status(coll: CollectionStore, doc: Document) -> str:
        stored = coll.document_by_source(doc.source)
        if stored is None:
            return "added"
        return "unchanged" if stored.content_hash == doc.content_hash else "updated"

    @staticmethod
    def _free_doc_id(coll: CollectionStore, doc: Document, stored: DocumentInfo | None, taken: set[str]) -> str:
        """Keep a document's id across updates; a different source with the same id (in the store or earlier
        in this batch, e.g. two folders' report.pdf) gets an id suffixed with its source's hash."""
        if stored is not None:
            return stored.doc_id
        if doc.doc_id not in taken and coll.document_row(doc.doc_id) is None:
            return doc.doc_id
        return f"{doc.doc_id}-{hashlib.sha1(doc.source.encode()).hexdigest()[:8]}"

    def _prepare(self, documents: Sequence[Document], embedded: EmbedProgress | None = None) -> list[_Prepared]:
        """Chunk and embed, batched across documents so the model sees full batches."""
        chunked = [(doc, self.chunker.run(doc)) for doc in documents]
        texts = [c.text for _, chunks in chunked for c in chunks]
        titles = [doc.title for doc, chunks in chunked for _ in chunks]
        vectors = self._embed(texts, titles, embedded)
        out: list[_Prepared] = []
        offset = 0
        for doc, chunks in chunked:
            block = vectors[offset : offset + len(chunks)]
            offset += len(chunks)
            out.append(_Prepared(doc, NewChunks(chunks, [index_text(c.text) for c in chunks], block)))
        return out

    def _embed(self, texts: list[str], titles: list[str], embedded: EmbedProgress | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        if embedded is None:
            return self.embedder.embed_passages(texts, titles)
        # a few model batches a step: progress every few seconds, the model still sorting full batches by length
        step = _EMBED_STEP_BATCHES * self.settings.embed_batch_size
        embedded(0, len(texts))
        parts = []
        for start in range(0, len(texts), step):
            parts.append(self.embedder.embed_passages(texts[start : start + step], titles[start : start + step]))
            embedded(min(start + step, len(texts)), len(texts))
        return np.concatenate(parts)

    # -- documents ------------------------------------------------------------------------------------
    def list_documents(self, collection: str) -> list[DocumentInfo]:
        return self.collections.get(collection).documents()

    def get_document(self, collection: str, doc_id: str) -> Document:
        doc = self.collections.get(collection).document(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document '{doc_id}' in collection '{collection}'")
        return doc

    def delete_document(self, collection: str, doc_id: str) -> None:
        coll = self.collections.get(collection)
        if not coll.delete(doc_id):
            raise DocumentNotFound(f"no document '{doc_id}' in collection '{collection}'")

    # -- queries --------------------------------------------------------------------------------------
    def search(
        self, query: str, collection: str, top_k: int | None = None, *, fusion: str | None = None
    ) -> list[Passage]:
        require_letter_or_digit(query)
        coll = self.collections.get(collection)
        return self.retriever.run(coll, query, top_k or self.settings.top_k, fusion=fusion)

    async def ask(self, question: str, collection: str, top_k: int | None = None) -> Answer:
        answer: Answer | None = None
        async for event in self.ask_stream(question, collection, top_k):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None, "an answer stream always ends with an Answer"
        return answer

    async def ask_stream(self, question: str, collection: str, top_k: int | None = None) -> AsyncIterator[AnswerEvent]:
        started = time.perf_counter()
        passages = await asyncio.to_thread(self.search, question, collection, top_k)
        retrieved = time.perf_counter()
        async for event in self.answerer.stream(question, passages):
            if isinstance(event, Answer):
                event.timings_ms.setdefault("retrieve", (retrieved - started) * 1000)
                event.timings_ms.setdefault("answer", (time.perf_counter() - retrieved) * 1000)
                event.timings_ms["total"] = (time.perf_counter() - started) * 1000
            yield event
