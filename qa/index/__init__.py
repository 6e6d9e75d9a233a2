"""Per-collection indexes: a SQLite docstore (documents, chunks, an FTS5 BM25 index) and a FAISS index.

SQLite is the source of truth and is transactional; the FAISS file is a derived, versioned snapshot brought
up to date from an operation log, so a crash at any point leaves a collection readable and recoverable.
"""

from qa.index.collection import Collection, DocumentChange, DocumentInfo
from qa.index.registry import Collections, validate_collection_name

__all__ = ["Collection", "Collections", "DocumentChange", "DocumentInfo", "validate_collection_name"]
