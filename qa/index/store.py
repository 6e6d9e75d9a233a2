"""The store interface the service depends on, whatever engine holds a collection.

A store keeps one collection: its documents (with the stored text every citation points into), their chunks
with vectors, a dense index and a BM25 index. Two implementations: the embedded store (SQLite + FAISS under the
index dir, `qa.index.collection`) and Milvus (`qa.index.milvus`, embedded Milvus Lite or a server/cluster).
A backend lists, opens and creates the collections of one installation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.index.docstore import DocumentRow, NewChunks, StoredChunk
from qa.types import Chunk, Document

DocumentInfo = DocumentRow


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """A document to store, replacing the stored one with the same doc_id when `replaces` is set.

    `added_at`/`updated_at` (seconds since the epoch) are given only when copying a collection between stores;
    otherwise the store stamps the write time.
    """

    document: Document
    new: NewChunks
    replaces: str | None = None
    added_at: float | None = None
    updated_at: float | None = None


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """Everything a store holds about one document: what a migration copies, with no re-embedding."""

    info: DocumentInfo
    document: Document
    chunk_ids: list[int]
    chunks: list[Chunk]
    vectors: np.ndarray


class CollectionStore(Protocol):
    """One collection. Searches return (chunk_id, score), higher is better; `chunks` hydrates ids and leaves out
    any chunk whose document is not (or no longer) stored, so a deleted or half-written document is never cited."""

    name: str
    dim: int

    @property
    def embeds_simplified(self) -> bool:
        """Whether its passages are embedded in simplified script (`qa.embed.prompted`): true for every
        collection made since, false for older ones, whose queries keep being embedded as written."""
        ...

    def set_embeds_simplified(self, value: bool) -> None:
        """Record how this collection's passages are embedded: only while it holds no document (a migration's
        new target takes its source's way, with its vectors)."""
        ...

    def writing(self) -> AbstractContextManager[object]:
        """Held around read-check-write sequences (the service re-checks content hashes under it)."""
        ...

    def apply(self, changes: Sequence[DocumentChange], deletions: Sequence[str] = ()) -> None: ...

    def delete(self, doc_id: str) -> bool: ...

    def checkpoint(self) -> None:
        """Make a finished batch of writes durable and cheap to reopen."""
        ...

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def keyword_search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]: ...

    def name_terms(self, names: Sequence[str]) -> list[str]:
        """The collection's indexed words that are the Chinese for pinyin names of an English question
        (`Query.names`), to search beside its words."""
        ...

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]: ...

    def document(self, doc_id: str) -> Document | None: ...

    def document_row(self, doc_id: str) -> DocumentInfo | None: ...

    def document_by_source(self, source: str) -> DocumentInfo | None: ...

    def documents(self) -> list[DocumentInfo]: ...

    def export(self) -> Iterator[StoredDocument]:
        """Every stored document with its chunks and vectors, in doc_id order."""
        ...

    def stats(self) -> dict[str, int]: ...

    def close(self) -> None: ...


class StoreBackend(Protocol):
    """Where an installation's collections live: lists them and opens one (creating it on request)."""

    kind: str

    def names(self) -> list[str]: ...

    def exists(self, name: str) -> bool: ...

    def open(self, name: str) -> CollectionStore: ...

    def close(self) -> None: ...


__all__ = [
    "CollectionStore",
    "DocumentChange",
    "DocumentInfo",
    "NewChunks",
    "StoreBackend",
    "StoredChunk",
    "StoredDocument",
]
