"""The collections of one installation, opened on demand and closed when idle.

Where they live is the backend's business (`QA_STORE`: folders under the index dir, or a Milvus database);
this registry only names, opens and closes them. An open collection holds file descriptors (and its vectors in
memory), so at most `max_open` stay open: past that, the least recently used are closed, and any collection
unused for `idle_seconds` is closed too. Reopening one is cheap (its snapshot and log are on disk).

A collection in use is never closed under its user: long operations pin it (`pinned`), and others are short,
so one used within the last `_IN_USE_S` seconds is left open even when that briefly exceeds `max_open`.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from qa.errors import CollectionNotFound, InvalidInput
from qa.index.store import CollectionStore, StoreBackend

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def validate_collection_name(name: str) -> str:
    """Collection names become folder names, so they are restricted to a safe alphabet."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise InvalidInput(
            f"invalid collection name {name!r}: "
            "use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"
        )
    return name


# Longer than any unpinned use of a collection takes (one search, list or delete: well under a second, a few
# seconds on a loaded machine).
_IN_USE_S = 10.0


@dataclass(slots=True)
class _Open:
    store: CollectionStore
    last_used: float
    pins: int = 0


class Collections:
    def __init__(self, backend: StoreBackend, *, max_open: int = 64, idle_seconds: float = 600.0) -> None:
        self.backend = backend
        self.max_open = max_open
        self.idle_seconds = idle_seconds
        self._open: OrderedDict[str, _Open] = OrderedDict()  # least recently used first
        self._last_stats: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return self.backend.names()

    def exists(self, name: str) -> bool:
        return self.backend.exists(validate_collection_name(name))

    def get(self, name: str, *, create: bool = False) -> CollectionStore:
        validate_collection_name(name)
        with self._lock:
            entry = self._open.get(name)
            now = time.monotonic()
            if entry is None:
                if not create and not self.backend.exists(name):
                    raise CollectionNotFound(f"collection '{name}' does not exist: ingest documents into it first")
                entry = _Open(self.backend.open(name), now)
                self._open[name] = entry
            entry.last_used = now
            self._open.move_to_end(name)
            self._close_idle(now, keep=name)
            return entry.store

    @contextmanager
    def pinned(self, name: str, *, create: bool = False) -> Iterator[CollectionStore]:
        """The collection, kept open until the block ends (for work that holds it longer than `_IN_USE_S`)."""
        store = self.get(name, create=create)
        with self._lock:
            self._open[name].pins += 1
        try:
            yield store
        finally:
            with self._lock:
                entry = self._open[name]
                entry.pins -= 1
                entry.last_used = time.monotonic()

    def open_names(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def stats(self) -> dict[str, dict[str, int]]:
        """Sizes of the collections this process has opened: live for open ones, as last seen for closed ones,
        so reading them never opens a collection."""
        with self._lock:
            live = {name: entry.store for name, entry in self._open.items()}
            out = dict(self._last_stats)
        out.update({name: store.stats() for name, store in live.items()})
        return dict(sorted(out.items()))

    def _close_idle(self, now: float, *, keep: str) -> None:
        """Close what has idled past `idle_seconds`, then least recently used ones while over `max_open`."""
        for name, entry in list(self._open.items()):
            idle = now - entry.last_used
            over = len(self._open) > self.max_open
            if name == keep or entry.pins or idle < min(_IN_USE_S, self.idle_seconds):
                continue
            if over or idle >= self.idle_seconds:
                self._close(name)

    def _close(self, name: str) -> None:
        entry = self._open.pop(name)
        try:
            self._last_stats[name] = entry.store.stats()
        finally:
            entry.store.close()

    def close(self) -> None:
        with self._lock:
            for collection in self._open.values():
                collection.store.close()
            self._open.clear()
            self.backend.close()
