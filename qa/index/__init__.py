"""Per-collection stores behind one interface (`qa.index.store`), selected with `QA_STORE`.

The embedded store (default) is a SQLite docstore (documents, chunks, an FTS5 BM25 index) and a FAISS index:
SQLite is the source of truth and is transactional; the FAISS file is a derived, versioned snapshot brought up
to date from an operation log, so a crash at any point leaves a collection readable and recoverable. The Milvus
store keeps everything in Milvus (Lite in-process, or a server/cluster shared by several API replicas).
"""

from qa.index.collection import Collection, EmbeddedBackend
from qa.index.registry import Collections, validate_collection_name
from qa.index.store import CollectionStore, DocumentChange, DocumentInfo, StoreBackend

__all__ = [
    "Collection",
    "CollectionStore",
    "Collections",
    "DocumentChange",
    "DocumentInfo",
    "EmbeddedBackend",
    "StoreBackend",
    "validate_collection_name",
]
