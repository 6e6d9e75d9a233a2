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
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

import numpy as np
import tiktoken

from qa.answer.base import Answerer, AnswerEvent
from qa.answer.model import AnswerModel
from qa.chunk.chunker import Chunker
from qa.chunk.tokens import tiktoken_encoding
from qa.config import Settings
from qa.conversation import Condenser, Standalone, Turn
from qa.conversation.llm import Complete
from qa.embed.base import Embedder
from qa.errors import DocumentIdTaken, DocumentNotFound, IngestCancelled, InvalidQuestion, QAError
from qa.index import Collections, CollectionStore, DocumentChange, DocumentInfo
from qa.index.backends import make_backend
from qa.index.docstore import NewChunks
from qa.ingest import find_sources
from qa.query import Query, analyze
from qa.retrieve import HybridRetriever, stating_years, widen
from qa.types import Answer, Document, Passage
from qa.worker import IngestControl, IngestWorker, Parsed, Source

if TYPE_CHECKING:
    from qa.answer.processes import AnswerProcesses

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


@dataclass(frozen=True, slots=True)
class _Prepared:
    document: Document
    new: NewChunks


@dataclass(frozen=True, slots=True)
class _Asked:
    """A question made ready for the answerer: its standalone form, analysis and evidence, and the clock readings
    the answer's timings are made from."""

    standalone: Standalone
    follow_up: bool
    query: Query
    passages: list[Passage]
    started: float
    condensed: float
    retrieved: float

    def finish(self, answer: Answer) -> Answer:
        """The answerer's final Answer, told which question was searched for and what the stages took."""
        answer.question = self.standalone.question
        answer.warnings.extend(self.standalone.warnings)
        if self.follow_up:
            answer.timings_ms["condense"] = (self.condensed - self.started) * 1000
        answer.timings_ms.setdefault("retrieve", (self.retrieved - self.condensed) * 1000)
        answer.timings_ms.setdefault("answer", (time.perf_counter() - self.retrieved) * 1000)
        answer.timings_ms["total"] = (time.perf_counter() - self.started) * 1000
        return answer


class QAService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._answer_processes: AnswerProcesses | None = None

    # -- components, built once on first use --------------------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        """The question embedder (`QA_EMBED_BACKEND`); passages are embedded in the ingest worker."""
        from qa.embed.load import load_embedder

        return load_embedder(self.settings)

    @cached_property
    def chunker(self) -> Chunker:
        return Chunker(self.settings)

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the encoding chunks are measured with (`QA_TOKENIZER_ENCODING`): what chat replies
        report as their usage, since the extractive answerer has no model of its own to count with."""
        return len(self._encoding.encode_ordinary(text))

    @cached_property
    def _encoding(self) -> tiktoken.Encoding:
        return tiktoken_encoding(self.settings.tokenizer_encoding, self.settings.cache_dir)

    @cached_property
    def collections(self) -> Collections:
        # the model name is known from settings; the dimension (which loads the model) only for a new collection
        return Collections(
            make_backend(self.settings, self._embedding_dim),
            max_open=self.settings.max_open_collections,
            idle_seconds=self.settings.collection_idle_seconds,
        )

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.settings, self.embedder)

    @cached_property
    def answer_model(self) -> AnswerModel:
        from qa.answer.model import resolve

        return resolve(self.settings.answer_model, self.settings.index_dir, self.settings.embedding_model)

    @cached_property
    def answerer(self) -> Answerer:
        from qa.answer.extractive import ExtractiveAnswerer

        extractive = ExtractiveAnswerer(self.answer_model, self.settings.prompts_dir, self._answer_processes)
        if not self.settings.llm_enabled:
            return extractive
        from qa.answer.fallback import FallbackAnswerer
        from qa.answer.llm import LLMAnswerer

        return FallbackAnswerer(LLMAnswerer(self.settings), extractive, rest_s=self.settings.llm_rest_s)

    def condenser(self, collection: str) -> Condenser:
        """What makes a follow-up standalone, for one collection (the no-LLM rewrite probes it with searches)."""
        from qa.conversation.carry import TermCarry

        depth = self.settings.candidates
        terms = TermCarry(lambda text: self.search(text, collection, depth))
        if not (self.settings.llm_enabled and self.settings.condense_with_llm):
            return terms
        from qa.conversation.llm import LLMCondenser

        return LLMCondenser(self.settings, terms, self._condense_complete)

    @cached_property
    def _condense_complete(self) -> Complete:
        from qa.conversation.llm import llm_complete

        return llm_complete(self.settings)

    def warm_up(self) -> None:
        """Load models and open the default collection now, so the first request doesn't pay for it."""
        self.embedder.embed_query("warm up")
        _ = self.chunker
        from qa.answer.extractive import ExtractiveAnswerer

        # a Chinese and an English question answered: the segmenter's and tagger's dictionaries, the word
        # frequencies, the English→Chinese dictionary and the answer model's boosters all load on first use; a
        # server with an LLM, or with QA_ANSWER_PROCESSES=0, answers here
        ExtractiveAnswerer(self.answer_model, self.settings.prompts_dir).warm_up()
        # and the character readings an English question's pinyin names are read with, which those two do not need
        from qa.query import lexicon

        lexicon.load()
        _ = self.answerer
        if self.collections.exists(self.settings.collection):
            self.collections.get(self.settings.collection)

    def start_answer_processes(self) -> None:
        """`qa serve`: answer in `QA_ANSWER_PROCESSES` worker processes from now on (qa.answer.processes). With an
        LLM configured, the answer model's pass (which gates the LLM and backs it up) stays in this process, beside
        the LLM's own answer; the CLI answers here too."""
        count = self.settings.answer_processes
        if count < 0:
            from qa.runtime import available_cpus

            count = max(1, available_cpus() // 2)
        if count == 0 or self.settings.llm_enabled or self._answer_processes is not None:
            return
        from qa.answer.processes import AnswerProcesses

        processes = AnswerProcesses(self.answer_model, self.settings.prompts_dir, count)
        processes.start()
        self._answer_processes = processes
        self.__dict__.pop("answerer", None)  # an answerer built before now answers in this process: build it anew

    def close_worker(self) -> None:
        if "worker" in self.__dict__:
            self.worker.close()

    def close(self) -> None:
        self.close_worker()
        if self._answer_processes is not None:
            self._answer_processes.close()
            self._answer_processes = None
            self.__dict__.pop("answerer", None)
        if "collections" in self.__dict__:
            self.collections.close()
        if "embedder" in self.__dict__:
            self.embedder.close()

    # -- ingest ---------------------------------------------------------------------------------------
    @cached_property
    def worker(self) -> IngestWorker:
        return IngestWorker(self.settings)

    def _embedding_dim(self) -> int:
        # a new collection needs the model's dimension: ask whichever process already has the model loaded
        return self.embedder.dim if "embedder" in self.__dict__ else self.worker.dim()

    def ingest_paths(
        self,
        paths: Sequence[Path],
        collection: str,
        *,
        progress: Callable[[Iterable[Path]], Iterable[Path]] | None = None,
        embedded: EmbedProgress | None = None,
    ) -> IngestReport:
        """Read, chunk and embed every supported file under `paths` (in the worker), then store them in one
        transaction. Files the worker cannot or will not read are reported in `skipped`.

        `progress` wraps the files as they are read; `embedded` is told (chunks embedded, chunks to embed)
        as embedding goes, the part that takes the time."""
        named = dict(find_sources(paths))
        control = IngestControl()
        report = IngestReport()
        parsed: list[Parsed] = []
        if named:
            self.worker.start()  # before the first file, so its progress is not charged the start-up
        for path in progress(list(named)) if progress else list(named):
            try:
                data = path.read_bytes()
            except OSError as exc:
                report.skipped.append((str(path), f"cannot read ({exc.strerror or exc})"))
                continue
            try:
                parsed.append(self.worker.parse(Source(name=str(path), source=named[path], data=data), control))
            except IngestCancelled:
                raise
            except QAError as exc:
                report.skipped.append((str(path), exc.message))
                # the report names it to the caller (the CLI prints it): a warning would say it twice
                log.info("skipped %s: %s", path, exc.message)
        if not parsed and not self.collections.exists(collection):
            return report  # nothing to store: no empty collection is made
        self._store_into(collection, parsed, report, control, embedded, checkpoint=True)
        return report

    def ingest_sources(
        self, sources: Sequence[Source], collection: str, control: IngestControl | None = None
    ) -> IngestReport:
        """Ingest uploaded files or posted texts, all or none: the first one the worker rejects fails the call."""
        control = control or IngestControl()
        control.add_work(len(sources))
        parsed = []
        for source in sources:
            parsed.append(self.worker.parse(source, control))
            control.advance()
        report = IngestReport()
        # ids the poster chose: one another document holds is refused, not silently suffixed (the poster would
        # address the other document by it)
        chosen = {p.document.doc_id for s, p in zip(sources, parsed, strict=True) if s.doc_id is not None}
        self._store_into(collection, parsed, report, control, chosen_ids=chosen)
        return report

    def _store_into(
        self,
        collection: str,
        parsed: Sequence[Parsed],
        report: IngestReport,
        control: IngestControl,
        embedded: EmbedProgress | None = None,
        *,
        chosen_ids: frozenset[str] | set[str] = frozenset(),
        checkpoint: bool = False,
    ) -> None:
        """Embed, then store in one transaction. A collection that does not exist yet is made only once its
        documents are embedded, so an ingest cancelled or failed meanwhile leaves no empty collection behind
        (and dropping one afterwards could race another writer that made it too)."""
        prepared: list[_Prepared] | None = None
        if not self.collections.exists(collection):
            todo = self._dedupe_sources(parsed)
            control.add_work(sum(len(p.chunks) for p in todo))
            # as every new collection embeds its passages (`CollectionStore.embeds_simplified`)
            prepared = self._embed(todo, control, embedded, simplify=True)
            control.check()
        with self.collections.pinned(collection, create=True) as coll:
            if not coll.embeds_simplified:
                prepared = None  # made meanwhile as a copy of an older collection: embedded as that one is
            self._store(coll, parsed, report, control, embedded, prepared=prepared, chosen_ids=chosen_ids)
            if checkpoint and (report.added or report.updated):
                coll.checkpoint()

    def _store(
        self,
        coll: CollectionStore,
        parsed: Sequence[Parsed],
        report: IngestReport,
        control: IngestControl,
        embedded: EmbedProgress | None = None,
        *,
        prepared: list[_Prepared] | None = None,
        chosen_ids: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        items = self._dedupe_sources(parsed)
        sources = frozenset(p.document.source for p in items)
        claimed: set[str] = set()  # stored documents this batch already replaces or keeps

        def stored_of(doc: Document) -> DocumentInfo | None:
            return self._stored(coll, doc, sources=sources, chosen_ids=chosen_ids, claimed=claimed)

        if prepared is None:
            todo = [p for p in items if self._status(stored_of(p.document), p.document) != "unchanged"]
            control.add_work(sum(len(p.chunks) for p in todo))
            prepared = self._embed(todo, control, embedded, simplify=coll.embeds_simplified)
            control.check()
        # Re-check under the lock: another writer may have stored the same documents meanwhile.
        with coll.writing():
            changes: list[DocumentChange] = []
            taken: set[str] = set()  # ids given out in this batch, not yet in the store
            by_source = {p.document.source: p for p in prepared}
            for item in items:
                doc = item.document
                stored = stored_of(doc)
                status = self._status(stored, doc)
                if stored is not None:
                    claimed.add(stored.doc_id)
                if status == "unchanged":
                    report.unchanged.append(doc.source)
                    report.documents.append(replace(doc, doc_id=stored.doc_id) if stored else doc)
                    continue
                if stored is None and doc.doc_id in chosen_ids and (holder := coll.document_row(doc.doc_id)):
                    raise DocumentIdTaken(
                        f"id '{doc.doc_id}' is the document from '{holder.source}': post with that source to replace "
                        "it, or choose another id"
                    )
                ready = by_source.get(doc.source) or self._embed([item], control, simplify=coll.embeds_simplified)[0]
                final = replace(doc, doc_id=self._free_doc_id(coll, doc, stored, taken))
                taken.add(final.doc_id)
                changes.append(DocumentChange(final, ready.new, replaces=stored.doc_id if stored else None))
                (report.updated if stored else report.added).append(doc.source)
                report.documents.append(final)
                report.chunks += len(ready.new.chunks)
            coll.apply(changes)

    @staticmethod
    def _dedupe_sources(parsed: Sequence[Parsed]) -> list[Parsed]:
        """The same source twice in one call counts once (the last one wins, as with sequential uploads)."""
        latest: dict[str, Parsed] = {}
        for item in parsed:
            latest.pop(item.document.source, None)
            latest[item.document.source] = item
        return list(latest.values())

    @staticmethod
    def _stored(
        coll: CollectionStore,
        doc: Document,
        *,
        sources: frozenset[str],
        chosen_ids: frozenset[str] | set[str],
        claimed: set[str],
    ) -> DocumentInfo | None:
        """The stored document `doc` replaces: the one with its source; else the same file reached from another
        folder (`qa ingest data` after `qa ingest data/seeds` gives "seeds/x.html" for "x.html"): the document
        with its id and the very same text, which would otherwise be stored and retrieved twice; or the same
        file stored under the absolute path earlier versions recorded as its source.

        Only a document nothing else in the batch (`sources`, the `claimed` ids) stands for moves: two files
        that both matched it would both replace it, and the second would delete the first. An id the client
        chose (`chosen_ids`) names the document it means; a match by text would take another's."""
        stored = coll.document_by_source(doc.source)
        if stored is not None:
            return stored
        same_id = coll.document_row(doc.doc_id)
        if same_id is None or same_id.doc_id in claimed or same_id.source in sources:
            return None
        if same_id.content_hash == doc.content_hash and doc.doc_id not in chosen_ids:
            return same_id
        legacy = PurePath(same_id.source).is_absolute()
        if legacy and same_id.source.replace("\\", "/").endswith("/" + doc.source):
            return same_id
        return None

    @staticmethod
    def _status(stored: DocumentInfo | None, doc: Document) -> str:
        if stored is None:
            return "added"
        same = stored.content_hash == doc.content_hash and stored.source == doc.source
        return "unchanged" if same else "updated"

    @staticmethod
    def _free_doc_id(coll: CollectionStore, doc: Document, stored: DocumentInfo | None, taken: set[str]) -> str:
        """Keep a document's id across updates; a different source with the same id (in the store or earlier
        in this batch, e.g. two folders' report.pdf) gets an id suffixed with its source's hash."""
        if stored is not None:
            return stored.doc_id
        if doc.doc_id not in taken and coll.document_row(doc.doc_id) is None:
            return doc.doc_id
        return f"{doc.doc_id}-{hashlib.sha1(doc.source.encode()).hexdigest()[:8]}"

    def _embed(
        self,
        parsed: Sequence[Parsed],
        control: IngestControl,
        embedded: EmbedProgress | None = None,
        *,
        simplify: bool,
    ) -> list[_Prepared]:
        """Embed in the worker, batched across documents so the model sees full batches, the way the collection's
        passages are embedded (`simplify`)."""
        texts = [c.text for p in parsed for c in p.chunks]
        titles = [p.document.title for p in parsed for _ in p.chunks]
        vectors = (
            self.worker.embed(texts, titles, control, embedded, simplify=simplify)
            if texts
            else np.zeros((0, 0), np.float32)
        )
        out: list[_Prepared] = []
        offset = 0
        for p in parsed:
            block = vectors[offset : offset + len(p.chunks)]
            offset += len(p.chunks)
            out.append(_Prepared(p.document, NewChunks(p.chunks, p.terms, block)))
        return out

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
        return self.retrieve(analyze(query), collection, top_k, fusion=fusion)

    def retrieve(
        self, query: Query, collection: str, top_k: int | None = None, *, fusion: str | None = None
    ) -> list[Passage]:
        coll = self.collections.get(collection)
        return self.retriever.run(coll, query, top_k or self.settings.top_k, fusion=fusion)

    def evidence(self, query: Query, collection: str, top_k: int | None = None) -> list[Passage]:
        """What the answerer reads: the retrieved passages (of documents that state the year asked about, if the
        question names one) widened to the sentences around them."""
        k = top_k or self.settings.top_k
        coll = self.collections.get(collection)
        if query.years:
            # the whole candidate list, so documents of the asked year ranked below other years' still make k
            deep = self.retrieve(query, collection, max(k, self.settings.candidates))
            passages = stating_years(coll, deep, query.years)[:k]
        else:
            passages = self.retrieve(query, collection, k)
        return widen(coll, passages, self.settings.context_reach)

    async def ask(
        self, question: str, collection: str, top_k: int | None = None, *, history: Sequence[Turn] = ()
    ) -> Answer:
        """Answer `question`; with `history` (earlier turns, oldest first) a follow-up is first rewritten into the
        standalone question that retrieval and the answerer get, and the Answer says which it was. The answerer
        runs whole (an LLM's reply is requested unstreamed, with retries), since nobody reads it as it comes."""
        asked = await self._prepare(question, collection, top_k, history)
        return asked.finish(await self.answerer.run(asked.query, asked.passages))

    async def ask_stream(
        self, question: str, collection: str, top_k: int | None = None, *, history: Sequence[Turn] = ()
    ) -> AsyncIterator[AnswerEvent]:
        """`ask`, yielding the answer text as it is produced and the final Answer last."""
        asked = await self._prepare(question, collection, top_k, history)
        async for event in self.answerer.stream(asked.query, asked.passages):
            yield asked.finish(event) if isinstance(event, Answer) else event

    async def _prepare(self, question: str, collection: str, top_k: int | None, history: Sequence[Turn]) -> _Asked:
        require_letter_or_digit(question)
        started = time.perf_counter()
        standalone = Standalone(question)
        if history:
            standalone = await self.condenser(collection).run(question, history)
        condensed = time.perf_counter()
        query = analyze(standalone.question)
        passages = await asyncio.to_thread(self.evidence, query, collection, top_k)
        return _Asked(standalone, bool(history), query, passages, started, condensed, time.perf_counter())
