"""The extractive answer stage in worker processes, so that answering does not hold the server's interpreter lock.

Scoring a question's sentences and spans is pure Python, about 6 ms of CPU a question at 8 clients
(`bench/ask_profile.py`). In the server's own process it holds the GIL that retrieval, HTTP and every other
request need too, so one process could not keep a second core busy (80–89 req/s at 8 clients on 2 cores).
`qa serve` hands it to `QA_ANSWER_PROCESSES` spawned worker processes instead, each holding the answer model:
the question and its passages go over a pipe (a few kilobytes), the answer comes back: 99–104 req/s, and one
client waits about 0.5 ms more (bench/RESULTS.md, "Answer worker processes"). The answer is the one the server's
own process would give; `qa ask`, `qa eval` and `qa calibrate` answer in their own process.

A worker that dies mid-question (killed, out of memory) costs nothing but time: the question is answered in the
server's process and pebble starts another worker. A client that goes away does not stop the worker's question
(stopping it would mean killing the worker); its answer is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.model import AnswerModel
from qa.query import Query
from qa.runtime import configure_worker_process
from qa.types import Answer, Passage

log = logging.getLogger(__name__)

# A worker process's answerer, set by the pool's initializer; the process exists only to run `_answer`.
_answerer: ExtractiveAnswerer | None = None


def _start_worker(model: AnswerModel, prompts_dir: Path | None) -> None:
    global _answerer
    # the server's environment (offline switches, thread counts) comes with the spawn
    configure_worker_process()
    _answerer = ExtractiveAnswerer(model, prompts_dir)
    _answerer.warm_up()


def _ready() -> int:
    """The worker's pid, once its initializer has run (a worker takes no task before)."""
    if _answerer is None:
        raise RuntimeError("not in an answer worker process")
    time.sleep(0.05)  # held a moment, so that the next start-up task goes to another worker
    return os.getpid()


def _answer(query: Query, passages: list[Passage]) -> Answer:
    if _answerer is None:
        raise RuntimeError("not in an answer worker process")
    return _answerer.answer(query, passages)


class AnswerProcesses:
    """A pool of answer worker processes (pebble, which replaces a worker that dies during a task)."""

    def __init__(self, model: AnswerModel, prompts_dir: Path | None, count: int) -> None:
        if count < 1:
            raise ValueError("an answer pool needs at least one process")
        self.count = count
        self._model = model
        self._prompts_dir = prompts_dir
        self._local = ExtractiveAnswerer(model, prompts_dir)
        self._lock = threading.Lock()
        self._pool: Any = None

    def _new_pool(self) -> Any:
        from pebble import ProcessPool

        return ProcessPool(
            max_workers=self.count,
            initializer=_start_worker,
            initargs=(self._model, self._prompts_dir),
            # fork would copy the server's threads' locks (the embedder's, the event loop's) mid-use
            context=multiprocessing.get_context("spawn"),
        )

    def start(self, timeout: float = 120.0) -> None:
        """Spawn the workers and wait until each has loaded the model and its dictionaries (a second or two):
        until as many distinct workers as were asked for have run a start-up task."""
        with self._lock:
            if self._pool is None:
                self._pool = self._new_pool()
            pool = self._pool
        ready: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(ready) < self.count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.count - len(ready)} answer worker(s) not ready after {timeout:g} s")
            futures: list[Future[int]] = [pool.schedule(_ready) for _ in range(self.count)]
            ready.update(future.result(timeout=remaining) for future in futures)

    def _running_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                raise RuntimeError("the answer processes are not started")
            if not self._pool.active:
                # pebble gives a pool up when a worker dies with no task of its own ("All workers expired")
                log.warning("answer worker pool stopped; starting another")
                broken, self._pool = self._pool, self._new_pool()
                broken.stop()
                threading.Thread(target=broken.join, kwargs={"timeout": 5}, daemon=True).start()
            return self._pool

    async def answer(self, query: Query, passages: Sequence[Passage]) -> Answer:
        """The extractive answer, computed in a worker; its "answer" timing is the wait here, pipe included."""
        from concurrent.futures.process import BrokenProcessPool

        from pebble import ProcessExpired

        started = time.perf_counter()
        future = self._running_pool().schedule(_answer, args=(query, list(passages)))
        try:
            # shielded: cancelling a running pebble task kills its worker, which a disconnecting client should not
            answer: Answer = await asyncio.shield(asyncio.wrap_future(future))
        except (ProcessExpired, BrokenProcessPool) as exc:
            log.warning("answer worker died; answering in the server's process", extra={"error": repr(exc)})
            answer = await asyncio.to_thread(self._local.answer, query, passages)
        answer.timings_ms["answer"] = (time.perf_counter() - started) * 1000.0
        return answer

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=5)
