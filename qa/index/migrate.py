"""Copy a collection between stores (`qa migrate --from embedded --to milvus`, and back) without re-embedding.

Documents travel with their stored text, chunk offsets, vectors and times; only the BM25 terms are derived again
from the chunk text on the embedded side (Milvus derives its own). The copy is incremental by content hash, so an
interrupted migration is finished by running it again, and a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from qa.index.docstore import NewChunks
from qa.index.keyword import index_text
from qa.index.store import CollectionStore, DocumentChange, StoredDocument

# Documents per write: large enough for efficient Milvus inserts, small enough that progress shows and an
# interrupted run loses little.
BATCH_DOCUMENTS = 64


@dataclass(slots=True)
class MigrationReport:
    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # in the target only: left as they are (a copy never deletes what it did not bring)
    target_only: list[str] = field(default_factory=list)
    chunks: int = 0

    def summary(self) -> str:
        line = f"copied {len(self.copied)} documents ({self.chunks} chunks), unchanged {len(self.unchanged)}"
        if self.target_only:
            line += f"; {len(self.target_only)} documents only in the target were left as they are"
        return line


def _change(stored: StoredDocument, replaces: str | None) -> DocumentChange:
    terms = [index_text(c.text) for c in stored.chunks]
    return DocumentChange(
        stored.document,
        NewChunks(stored.chunks, terms, stored.vectors),
        replaces=replaces,
        added_at=stored.info.added_at,
        updated_at=stored.info.updated_at,
    )


def _batches(items: Iterable[StoredDocument], size: int) -> Iterator[list[StoredDocument]]:
    batch: list[StoredDocument] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def copy_collection(
    source: CollectionStore,
    target: CollectionStore,
    *,
    progress: Callable[[Iterable[StoredDocument]], Iterable[StoredDocument]] | None = None,
    batch_documents: int = BATCH_DOCUMENTS,
) -> MigrationReport:
    """Bring `target` up to date with every document of `source` (same ids, text, offsets, vectors, times)."""
    if source.dim != target.dim:
        raise ValueError(f"vector dimensions differ: source {source.dim}, target {target.dim}")
    # the vectors travel as they are, so the target's queries must be embedded as the source's are
    target.set_embeds_simplified(source.embeds_simplified)
    report = MigrationReport()
    held = {d.doc_id: d for d in target.documents()}
    seen: set[str] = set()
    documents: Iterable[StoredDocument] = source.export()
    for batch in _batches(progress(documents) if progress else documents, batch_documents):
        changes: list[DocumentChange] = []
        for stored in batch:
            doc_id = stored.document.doc_id
            seen.add(doc_id)
            there = held.get(doc_id)
            if there is not None and there.content_hash == stored.document.content_hash:
                report.unchanged.append(doc_id)
                continue
            changes.append(_change(stored, replaces=doc_id if there is not None else None))
            report.copied.append(doc_id)
            report.chunks += len(stored.chunks)
        with target.writing():
            target.apply(changes)
    target.checkpoint()
    report.target_only = sorted(set(held) - seen)
    return report
