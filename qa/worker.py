"""The ingest worker: files are read, cleaned, chunked and embedded in separate, lower-priority processes.

Parsing is pure-Python work that holds the interpreter lock, so in the process that answers it would starve
answers however many threads there were. Here the heavy half of ingest runs in `QA_INGEST_WORKERS` spawned
child processes at a lower CPU priority; the calling process only writes their results.

A file's reading is stopped, and the file rejected, once it has used `QA_MAX_PARSE_SECONDS` of the worker's
CPU time (a CPU-time timer interrupts the parser; counting CPU rather than wall-clock time keeps a busy
machine, on which a low-priority worker waits its turn, from failing ordinary files). Parsers stuck in
native code get a wall-clock backstop: the worker process is killed (a thread could not be stopped) and pebble
starts another. A cancelled ingest kills the task it is waiting for the same way.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeVar

import numpy as np

from qa.config import Settings
from qa.errors import FileTooLarge, IngestCancelled, ParseTimeout, QAError, UnreadableFile
from qa.ingest.documents import build_document, clean_name, load_text, make_doc_id
from qa.ingest.formats import base_name, extract
from qa.ingest.limits import FileLimits, check_chars, check_chunks, check_container
from qa.types import Chunk, Document

log = logging.getLogger(__name__)

T = TypeVar("T")

# Model batches per embedding task: progress every few seconds (the model still sorts full batches by length),
# and other ingests' files interleave.
EMBED_STEP_BATCHES = 2
# Niceness of the worker processes: the scheduler then prefers the process answering questions.
WORKER_NICENESS = 10
# A parse stuck where the CPU-time timer cannot interrupt it (native code, waiting) is killed after this many
# times its CPU budget (plus half a minute) of wall-clock time.
WALL_CLOCK_BACKSTOP = 10


@dataclass(frozen=True, slots=True)
class Source:
    """One input to ingest: a file's bytes (`data`, its type from `name`'s suffix) or posted `text`."""

    name: str  # the file name (or a label for posted text): messages and the format's suffix
    source: str | None  # what citations will show (posted text without one is named by its id)
    data: bytes | None = None
    text: str | None = None
    title: str | None = None
    doc_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else len((self.text or "").encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Parsed:
    """A document cleaned and cut into passages, with each passage's keyword-index terms."""

    document: Document
    chunks: list[Chunk]
    terms: list[str]


class IngestControl:
    """Cancellation and progress of one ingest, shared by the thread running it and whoever may cancel it."""

    def __init__(self, progress: Callable[[int, int], None] | None = None) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._cancelled = False
        self._current: Future[Any] | None = None
        self.done = 0
        self.total = 0

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            current = self._current
        if current is not None:
            current.cancel()  # a running task's worker process is stopped

    def check(self) -> None:
        if self._cancelled:
            raise IngestCancelled("the ingest was cancelled")

    def wait(self, future: Future[T]) -> T:
        with self._lock:
            if self._cancelled:
                future.cancel()
                raise IngestCancelled("the ingest was cancelled")
            self._current = future
        try:
            return future.result()
        except CancelledError:
            raise IngestCancelled("the ingest was cancelled") from None
        finally:
            with self._lock:
                self._current = None

    def add_work(self, steps: int) -> None:
        self.total += steps
        self._report()

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        self._report()

    def _report(self) -> None:
        if self._progress is not None:
            self._progress(self.done, self.total)


class IngestWorker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = FileLimits.from_settings(settings)
        self._pool: Any = None
        self._closed = False
        self._lock = threading.Lock()
        self._in_flight = 0
        self._idle_timer: threading.Timer | None = None

    def _get_pool(self) -> Any:
        from pebble import ProcessPool

        with self._lock:
            if self._closed:
                raise IngestCancelled("the ingest worker has been shut down")
            if self._pool is None:
                self._pool = ProcessPool(
                    max_workers=self.settings.ingest_workers,
                    initializer=_init_worker,
                    initargs=(self.settings,),
                    # fork would copy the parent's threads' locks (torch, the server) mid-use
                    context=multiprocessing.get_context("spawn"),
                )
            return self._pool

    @contextlib.contextmanager
    def _using(self) -> Iterator[Any]:
        """The pool, counted as in use until the block ends. Once nothing has used it for
        `QA_INGEST_WORKER_IDLE_SECONDS` its processes (and the model each holds) are stopped; the next ingest
        starts them again."""
        with self._lock:
            self._in_flight += 1
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
        try:
            yield self._get_pool()
        finally:
            with self._lock:
                self._in_flight -= 1
                idle = self.settings.ingest_worker_idle_seconds
                if self._in_flight == 0 and not self._closed and idle > 0:
                    self._idle_timer = threading.Timer(idle, self._stop_if_idle)
                    self._idle_timer.daemon = True
                    self._idle_timer.start()

    def _stop_if_idle(self) -> None:
        with self._lock:
            if self._in_flight or self._pool is None:
                return
            pool, self._pool, self._idle_timer = self._pool, None, None
        log.info("stopping idle ingest workers")
        pool.stop()
        pool.join(timeout=5)

    def start(self) -> None:
        """Start the worker processes now and wait until they are ready (a spawn costs a second or two)."""
        with self._using() as pool:
            future: Future[bool] = pool.schedule(_ready)
            future.result()

    def parse(self, source: Source, control: IngestControl) -> Parsed:
        """Read, clean and chunk one input within the time budget; FileTooLarge/UnreadableFile otherwise."""
        control.check()
        backstop = WALL_CLOCK_BACKSTOP * self.limits.parse_seconds + 30
        try:
            with self._using() as pool:
                return control.wait(pool.schedule(_parse, args=(source, self.limits), timeout=backstop))
        except TimeoutError:
            raise _parse_timeout(source.name, self.limits) from None
        except QAError:
            raise
        except Exception as exc:  # the worker process died under it (pebble's ProcessExpired), or the like
            log.warning("worker failed reading %s: %r", source.name, exc)
            raise UnreadableFile(f"{source.name}: reading it stopped the reader ({type(exc).__name__})") from None

    def embed(
        self,
        texts: Sequence[str],
        titles: Sequence[str],
        control: IngestControl,
        embedded: Callable[[int, int], None] | None = None,
        *,
        simplify: bool = True,
    ) -> np.ndarray:
        """Passage vectors, computed in the worker a step at a time. Progress is counted per passage, on the
        control and to `embedded` (passages embedded, passages to embed)."""
        step = EMBED_STEP_BATCHES * self.settings.embed_batch_size
        blocks: list[np.ndarray] = []
        done = 0
        if embedded is not None:
            embedded(0, len(texts))
        with self._using() as pool:
            for start in range(0, len(texts), step):
                control.check()
                end = start + step
                future = pool.schedule(_embed, args=(list(texts[start:end]), list(titles[start:end]), simplify))
                blocks.append(control.wait(future))
                done += len(blocks[-1])
                control.advance(len(blocks[-1]))
                if embedded is not None:
                    embedded(done, len(texts))
        if not blocks:
            return np.zeros((0, self.dim()), dtype=np.float32)
        return np.concatenate(blocks)

    def dim(self) -> int:
        with self._using() as pool:
            future: Future[int] = pool.schedule(_dim)
            return future.result()

    def close(self) -> None:
        """Stop the worker processes (a task running in one is abandoned); no new work is taken after this."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
            if self._idle_timer is not None:
                self._idle_timer.cancel()
        if pool is not None:
            pool.stop()
            pool.join(timeout=5)


# -- in the worker process ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _WorkerState:
    """What one worker process keeps between tasks (the embedding model loads on the first batch)."""

    settings: Settings
    chunker: Any
    embedder: Any = None


# A worker process's own state, set by the pool's initializer; the process exists only to run these tasks.
_state: _WorkerState | None = None


def _init_worker(settings: Settings) -> None:
    global _state
    with contextlib.suppress(OSError):  # not permitted here: run at the normal priority
        os.nice(WORKER_NICENESS)
    from qa.runtime import configure_process, configure_worker_process

    configure_worker_process()
    configure_process(torch_model=False)  # torch's pool is sized when the model first loads (_embedder)
    from qa.chunk.chunker import Chunker
    from qa.index.keyword import index_text

    _state = _WorkerState(settings=settings, chunker=Chunker(settings))
    # load the tokenizers and dictionaries now, so a file's time budget is spent on the file
    index_text("预热 warm up")
    _state.chunker.run(Document("warm", "warm", "warm", "预热。Warm up.", ""))


def _worker_state() -> _WorkerState:
    if _state is None:
        raise RuntimeError("not in an ingest worker process")
    return _state


def _ready() -> bool:
    return _state is not None


def _parse_timeout(name: str, limits: FileLimits) -> ParseTimeout:
    return ParseTimeout(
        f"{name}: reading it took more than {limits.parse_seconds:g} s of CPU time (QA_MAX_PARSE_SECONDS); "
        "the file is too complex to index"
    )


class _OverBudget(BaseException):
    """Raised by the CPU-time timer inside a parser; a BaseException, so parsers' `except Exception` pass it."""


def _over_budget(signum: int, frame: object) -> None:
    raise _OverBudget


def _parse(source: Source, limits: FileLimits) -> Parsed:
    signal.signal(signal.SIGPROF, _over_budget)
    signal.setitimer(signal.ITIMER_PROF, limits.parse_seconds)
    try:
        return _parse_within_budget(source, limits)
    except _OverBudget:
        raise _parse_timeout(source.name, limits) from None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _parse_within_budget(source: Source, limits: FileLimits) -> Parsed:
    from qa.index.keyword import index_text

    state = _worker_state()
    try:
        if source.data is not None:
            name = clean_name(base_name(source.name))
            check_container(source.data, name, limits)
            raw = extract(source.data, name)
            check_chars(raw.text, name, limits)
            stem = PurePosixPath(name).stem or name
            doc_id = make_doc_id(source.doc_id or stem)
            cited = source.source or name
            document = build_document(raw, doc_id=doc_id, source=cited, fallback_title=stem, label=name)
        else:
            check_chars(source.text or "", source.name, limits)
            document = load_text(source.text or "", title=source.title, source=source.source, doc_id=source.doc_id)
        chunks = state.chunker.run(document)
        check_chunks(len(chunks), source.name, limits)
        return Parsed(document, chunks, [index_text(c.text) for c in chunks])
    except QAError:
        raise
    except MemoryError:
        raise FileTooLarge(f"{source.name}: reading it needs more memory than this worker may use") from None
    except Exception as exc:  # a parser's own error on damaged input: every format has its own kinds
        log.warning("unexpected error reading %s", source.name, exc_info=True)
        detail = f"{type(exc).__name__}: {exc}"[:300]
        raise UnreadableFile(f"{source.name}: damaged or unsupported file ({detail})") from None


def _embedder() -> Any:
    state = _worker_state()
    if state.embedder is None:
        from qa.embed.load import load_embedder
        from qa.runtime import limit_torch_threads

        limit_torch_threads()

        state.embedder = load_embedder(state.settings, role="passage")
    return state.embedder


def _embed(texts: list[str], titles: list[str], simplify: bool) -> np.ndarray:
    return np.asarray(_embedder().embed_passages(texts, titles, simplify=simplify), dtype=np.float32)


def _dim() -> int:
    return int(_embedder().dim)
