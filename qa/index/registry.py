"""The collections of one installation, opened lazily and kept open for the life of the process.

Where they live is the backend's business (`QA_STORE`: folders under the index dir, or a Milvus database);
this registry only names, opens and closes them.
"""

from __future__ import annotations

import re
import threading

from qa.errors import CollectionNotFound, InvalidInput
from qa.index.store import CollectionStore, StoreBackend

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def validate_collection_name(name: str) -> str:
    """Collection names become folder names, so they are restricted to a safe alphabet."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise InvalidInput(
            f"invalid collection name {name!r}: "
            "use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"
        )
    return name


class Collections:
    def __init__(self, backend: StoreBackend) -> None:
        self.backend = backend
        self._open: dict[str, CollectionStore] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return self.backend.names()

    def exists(self, name: str) -> bool:
        return self.backend.exists(validate_collection_name(name))

    def get(self, name: str, *, create: bool = False) -> CollectionStore:
        validate_collection_name(name)
        with self._lock:
            if name in self._open:
                return self._open[name]
            if not create and not self.backend.exists(name):
                raise CollectionNotFound(f"collection '{name}' does not exist: ingest documents into it first")
            collection = self.backend.open(name)
            self._open[name] = collection
            return collection

    def close(self) -> None:
        with self._lock:
            for collection in self._open.values():
                collection.close()
            self._open.clear()
            self.backend.close()
