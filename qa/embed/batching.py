"""Query micro-batching: the queries of concurrent requests go through the model in one call.

A model call on a batch of short queries costs far less than one call per query (the weights are read once,
the matrix products are wider), so under concurrent load each query is cheaper. One thread owns the model
calls: a caller queues its query and waits; the thread takes the first queued query, collects whatever else
arrives within the window (or is already waiting: with a window of 0, the queries that queued while the previous
call ran), encodes them together and hands each caller its vector. A single query waits at most the window.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np

Encode = Callable[[Sequence[str]], np.ndarray]


class QueryBatcher:
    def __init__(self, encode: Encode, *, window_s: float, max_batch: int = 32) -> None:
        self._encode = encode
        self._window_s = max(0.0, window_s)
        self._max_batch = max(1, max_batch)
        self._queue: queue.SimpleQueue[tuple[str, Future[np.ndarray]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def encode(self, text: str) -> np.ndarray:
        """The vector of `text`, computed in a batch with the queries of other threads."""
        future: Future[np.ndarray] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the query batcher is closed")
            if self._thread is None:  # started on first use, not at construction (no work before it is needed)
                self._thread = threading.Thread(target=self._run, name="qa-query-batcher", daemon=True)
                self._thread.start()
            self._queue.put((text, future))
        return future.result()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
            self._queue.put(None)
        if thread is not None:
            thread.join(timeout=10)

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self._window_s
            while len(batch) < self._max_batch:
                wait = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:  # closing: answer the queries already taken, then stop
                    stop = True
                    break
                batch.append(item)
            self._encode_batch(batch)

    def _encode_batch(self, batch: list[tuple[str, Future[np.ndarray]]]) -> None:
        try:
            vectors = self._encode([text for text, _ in batch])
        except BaseException as exc:  # every waiting caller gets the error, and the thread carries on
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), vector in zip(batch, vectors, strict=True):
            future.set_result(np.ascontiguousarray(vector))
