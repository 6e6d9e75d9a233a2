"""The collections under an index directory, opened lazily and kept open for the life of the process."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

from qa.errors import CollectionNotFound, InvalidInput
from qa.index.collection import DOCSTORE_FILE, Collection
from qa.index.vectors import IndexPolicy

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
    def __init__(
        self, index_dir: Path, *, model_name: str, dim: Callable[[], int], vector_policy: IndexPolicy | None = None
    ) -> None:
        self.index_dir = index_dir
        self._policy = vector_policy
        self._model_name = model_name
        self._dim = dim
        self._open: dict[str, Collection] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        if not self.index_dir.is_dir():
            return []
        return sorted(p.name for p in self.index_dir.iterdir() if (p / DOCSTORE_FILE).is_file())

    def exists(self, name: str) -> bool:
        return (self.index_dir / validate_collection_name(name) / DOCSTORE_FILE).is_file()

    def get(self, name: str, *, create: bool = False) -> Collection:
        validate_collection_name(name)
        with self._lock:
            if name in self._open:
                return self._open[name]
            if not create and not self.exists(name):
                raise CollectionNotFound(f"collection '{name}' does not exist: ingest documents into it first")
            collection = Collection(
                name, self.index_dir / name, model_name=self._model_name, dim=self._dim, vector_policy=self._policy
            )
            self._open[name] = collection
            return collection

    def close(self) -> None:
        with self._lock:
            for collection in self._open.values():
                collection.close()
            self._open.clear()
