"""Process-wide set-up, applied once when a command or the server starts, never from inside a component.

Some library settings belong to the whole process (thread pools, offline switches, progress bars). A
component that changed them would change them for everything else in the process, at a moment nobody
chose; so `qa`'s entry points call `configure_process` first, and components take the process as it is.
An operator's own OMP_NUM_THREADS always wins over the thread counts chosen here.
"""

from __future__ import annotations

import os


def configure_process(*, torch_model: bool) -> None:
    """Offline switches and quiet libraries, then thread pools. `torch_model`: the process runs a torch model
    (the embedding model on its torch backend), so torch's pool is sized too; importing torch costs over a
    second that a search through the ONNX backend, or a listing of documents, need not pay."""
    # the models are local, and air-gapped installs never reach a hub
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # the model's per-weight loading bar would interleave with the CLI's own progress and the server's JSON logs
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    limit_faiss_threads()
    if torch_model:
        limit_torch_threads()


def configure_worker_process() -> None:
    """What a pool's worker process needs as well: the pool stops its workers without letting them run their
    exit handlers, and a named semaphore a library made in one is then left to the resource tracker, which warns
    at exit ("leaked semaphore objects"). tqdm makes one for its progress-bar lock the first time a bar is
    created, shown or not (sentence-transformers' encode makes one per call); joblib makes one at import. A
    worker draws no bar another process shares, so a thread lock does for tqdm, and joblib need not use
    processes."""
    import threading

    from tqdm import tqdm

    os.environ.setdefault("JOBLIB_MULTIPROCESSING", "0")
    tqdm.set_lock(threading.RLock())


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def limit_faiss_threads() -> None:
    """Run FAISS with one OpenMP thread unless the operator set OMP_NUM_THREADS.

    Measured on the shared 2-core box (bench/RESULTS.md, `faiss_index_types.py --kinds flat --threads 0|1`):
    one flat query over 10k vectors took 24 ms with FAISS's default 2 threads and 0.43 ms with 1; over 50k,
    40 ms and 5.3 ms. Spinning OpenMP threads collapse when another process holds a core, and the service
    searches one query at a time. FAISS bundles its own libgomp, so torch's setting does not reach it.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        return
    import faiss

    faiss.omp_set_num_threads(1)


def limit_torch_threads() -> None:
    """Use half the CPUs we may run on (at least one) unless the operator set OMP_NUM_THREADS.

    Measured on the 2-core machine with other processes busy (an LLM server, an ingest): one query took
    1.9 s with 2 torch threads and 72 ms with 1 — spinning OpenMP threads collapse under contention, while
    a quiet machine gains well under 2x from the second thread. The service shares the box with its own
    HTTP workers and often a local LLM, so leaving half the cores free is the safer default.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        return
    import torch

    wanted = embedding_threads()
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def embedding_threads() -> int:
    """Threads for one embedding model call: OMP_NUM_THREADS when the operator set it, else half the CPUs we
    may run on (at least one), for the reasons `limit_torch_threads` gives. ONNX Runtime takes its pool size
    per session, so the int8 backend asks here instead of reading a process-wide setting."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, available_cpus() // 2)
