"""`qa serve` with a CPU clock on each stage of `POST /v1/ask`, for ask_profile.py.

    python bench/_profiled_serve.py SNAPSHOT_PREFIX [qa serve arguments...]

Each stage's entry points (`STAGES`) are wrapped so that the CPU their calling thread spends inside them
(`time.thread_time_ns`) is added to the stage's total: a stage's figure is CPU, not time spent waiting for the
GIL or a core. Nothing is counted per Python call, so the server runs at about its normal speed. (cProfile, used
before, cost every Python call a hook: it put 3.4 times the answer stage's own CPU on it, and, adding up the
frames still running at a snapshot, could report more CPU than the process had spent.)

A stage's native work counts when it runs on the calling thread, as ONNX Runtime, FAISS and PyTorch do here with
one thread each (`qa.runtime`); anything on threads of their own falls into the rest, which is the process's CPU
(`os.times`) less the stages. The answer worker processes (`QA_ANSWER_PROCESSES`, qa/answer/processes.py) are
counted whole, from /proc: with them, the server's own "answer" clock stays at zero.

SIGUSR1 writes a snapshot (every wrapped function's CPU and call count, the process's and its children's CPU) to
SNAPSHOT_PREFIX.N, numbered from 1: the benchmark takes one after warming up and one after the load, and reports
the difference, so model loading and warm-up are left out.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

# stage -> (module, attribute path) of the functions whose CPU is the stage's. A stage inside another (query
# embedding inside retrieval) counts in both; ask_profile.py subtracts the inner functions from "retrieval".
STAGES: dict[str, list[tuple[str, str]]] = {
    "question analysis": [("qa.service", "analyze")],
    "query embedding": [
        ("qa.embed.prompted", "PromptedEmbedder.embed_query"),
        ("qa.embed.batching", "QueryBatcher._encode_batch"),  # the batching thread, when queries are batched
    ],
    "keyword search": [("qa.index.collection", "Collection.keyword_search")],
    "dense search": [("qa.index.collection", "Collection.dense_search")],
    "fusion": [("qa.retrieve", "HybridRetriever._fuse")],
    "hydration": [("qa.retrieve", "HybridRetriever._hydrate")],
    "retrieval": [("qa.retrieve", "HybridRetriever.run")],
    "widening": [("qa.service", "widen")],
    "answer": [("qa.answer.extractive", "ExtractiveAnswerer.answer")],
    # FastAPI validates the request body and the returned model and writes the JSON through these
    "request and response models": [
        ("qa.api.responses", "AskResponse.of"),
        ("fastapi._compat.v2", "ModelField.validate"),
        ("fastapi._compat.v2", "ModelField.serialize"),
        ("fastapi._compat.v2", "ModelField.serialize_json"),
    ],
}

_lock = threading.Lock()
# "module:path" of each wrapped function -> [CPU ns, calls]
_totals: dict[str, list[int]] = {f"{module}:{path}": [0, 0] for targets in STAGES.values() for module, path in targets}
_snapshots = 0


def _clocked(key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):
        raise TypeError(f"{fn.__qualname__}: a coroutine's thread CPU would include whatever ran while it waited")

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time_ns()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time_ns() - start
            with _lock:
                entry = _totals[key]
                entry[0] += spent
                entry[1] += 1

    return wrapper


def resolve(module_name: str, path: str) -> tuple[Any, str, Any]:
    """(owner, attribute name, raw attribute) of a stage target: the raw attribute keeps a staticmethod wrapped."""
    owner: Any = importlib.import_module(module_name)
    *outer, name = path.split(".")
    for part in outer:
        owner = getattr(owner, part)
    return owner, name, inspect.getattr_static(owner, name)


def install() -> None:
    """Wrap every stage's functions in place, before the app is built (it binds nothing of them earlier)."""
    for targets in STAGES.values():
        for module_name, path in targets:
            key = f"{module_name}:{path}"
            owner, name, raw = resolve(module_name, path)
            if isinstance(raw, staticmethod):
                setattr(owner, name, staticmethod(_clocked(key, raw.__func__)))
            elif isinstance(raw, classmethod):
                setattr(owner, name, classmethod(_clocked(key, raw.__func__)))
            else:
                setattr(owner, name, _clocked(key, raw))


def _children_cpu_s() -> float:
    """CPU seconds of this process's live child processes (the answer workers; idle ingest workers), from /proc:
    `os.times` counts a child only once it has exited and been waited for."""
    me, total, tick = os.getpid(), 0.0, os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == me:  # fields after the command: state, ppid, ..., utime (12th), stime (13th)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _snapshot(prefix: str) -> None:
    global _snapshots
    _snapshots += 1
    with _lock:
        functions = {key: list(entry) for key, entry in _totals.items()}
    times = os.times()
    snapshot = {"cpu_s": times.user + times.system, "children_cpu_s": _children_cpu_s(), "functions": functions}
    with open(f"{prefix}.{_snapshots}.tmp", "w", encoding="utf-8") as fh:
        json.dump(snapshot, fh)
    os.replace(f"{prefix}.{_snapshots}.tmp", f"{prefix}.{_snapshots}")


def main() -> int:
    prefix = sys.argv[1]
    sys.argv = ["qa", *sys.argv[2:]]
    install()
    from qa.cli import main as qa_main

    def on_signal(signum: int, frame: FrameType | None) -> None:
        _snapshot(prefix)

    signal.signal(signal.SIGUSR1, on_signal)
    return qa_main()


if __name__ == "__main__":
    sys.exit(main())
