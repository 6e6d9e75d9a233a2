"""The registry of open collections: opened on demand, the least recently used and the idle ones closed."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from qa.index import Collections, DocumentChange, EmbeddedBackend
from qa.index.docstore import NewChunks
from qa.index.keyword import index_text
from qa.types import Chunk, Document

DIM = 8


def _doc(name: str) -> DocumentChange:
    text = f"{name}的说明。"
    doc = Document(name, f"{name}.txt", name, text, hashlib.sha256(text.encode()).hexdigest())
    vectors = np.ones((1, DIM), dtype=np.float32) / np.sqrt(DIM)
    return DocumentChange(doc, NewChunks([Chunk(name, 0, 0, len(text), text)], [index_text(text)], vectors))


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _registry(tmp_path: Path, max_open: int, idle_seconds: float) -> Collections:
    backend = EmbeddedBackend(tmp_path, model_name="test-model", dim=lambda: DIM)
    return Collections(backend, max_open=max_open, idle_seconds=idle_seconds)


def test_least_recently_used_collections_are_closed_past_the_limit(tmp_path: Path) -> None:
    reg = _registry(tmp_path, max_open=3, idle_seconds=0.05)
    before = _fds()
    for i in range(40):
        reg.get(f"c{i:02d}", create=True).apply([_doc(f"d{i}")])
        time.sleep(0.06)
    assert len(reg.open_names()) <= 3 and reg.open_names()[-1] == "c39"
    assert _fds() - before < 3 * 4  # a few descriptors per open collection, not per collection ever opened
    # a closed collection reopens with what it holds, and its size is remembered while closed
    assert [d.doc_id for d in reg.get("c00").documents()] == ["d0"]
    assert reg.stats()["c05"]["documents"] == 1
    reg.close()


def test_recently_used_and_pinned_collections_stay_open(tmp_path: Path) -> None:
    reg = _registry(tmp_path, max_open=2, idle_seconds=2.0)
    with reg.pinned("held", create=True) as held:
        for i in range(4):
            reg.get(f"c{i}", create=True)
        assert len(reg.open_names()) == 5  # all used just now: none is closed under its user
        time.sleep(2.1)
        reg.get("c0")
        assert set(reg.open_names()) == {"held", "c0"}
        held.apply([_doc("kept")])  # still usable: pinned
    time.sleep(2.1)
    reg.get("c1")
    assert reg.open_names() == ["c1"]
    reg.close()
