"""Process-wide set-up: thread pools sized once at start, the operator's OMP_NUM_THREADS respected, and no
component changing the process behind the entry point's back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.runtime import available_cpus, configure_process

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def restore_threads() -> object:
    import faiss
    import torch

    before = faiss.omp_get_max_threads(), torch.get_num_threads()
    yield
    faiss.omp_set_num_threads(before[0])
    torch.set_num_threads(before[1])


@pytest.mark.usefixtures("restore_threads")
def test_thread_pools_are_sized_unless_the_operator_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    import faiss
    import torch

    faiss.omp_set_num_threads(2)
    torch.set_num_threads(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    configure_process(torch_model=True)
    assert (faiss.omp_get_max_threads(), torch.get_num_threads()) == (2, 2)

    monkeypatch.delenv("OMP_NUM_THREADS")
    configure_process(torch_model=True)
    assert faiss.omp_get_max_threads() == 1
    assert torch.get_num_threads() == max(1, available_cpus() // 2)


def test_components_leave_the_process_alone(tmp_path: Path) -> None:
    """Building the chunker and the embedder and embedding changes neither the settings `configure_process`
    owns nor TIKTOKEN_CACHE_DIR nor a thread pool: that is the entry point's business. (torch itself sets a
    few KMP_* variables on import; those are not ours to police.)"""
    probe = """
import json, os
import faiss, torch
from qa.config import Settings
from qa.chunk.chunker import Chunker
from qa.embed.sentence_transformer import SentenceTransformerEmbedder
OURS = ("TIKTOKEN_CACHE_DIR", "OMP_NUM_THREADS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
        "TOKENIZERS_PARALLELISM", "HF_HUB_DISABLE_PROGRESS_BARS")
def state():
    return [{k: os.environ.get(k) for k in OURS}, faiss.omp_get_max_threads(), torch.get_num_threads()]
before = state()
settings = Settings()
Chunker(settings)
SentenceTransformerEmbedder(settings).embed_query("房寺镇")
print(json.dumps([before, state()]))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "TIKTOKEN_CACHE_DIR")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    before, after = json.loads(result.stdout)
    assert before == after


def test_a_worker_its_pool_stops_leaves_no_semaphore_for_the_resource_tracker() -> None:
    # a spawned worker (as the ingest and answer pools start them) that drew a hidden progress bar, then was
    # stopped without running its exit handlers: tqdm's default lock would be a named semaphore left behind
    code = (
        "import multiprocessing, os, signal\n"
        "multiprocessing.set_start_method('spawn', force=True)\n"
        "from qa.runtime import configure_worker_process\n"
        "configure_worker_process()\n"
        "from tqdm import trange\n"
        "list(trange(3, disable=True))\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == -15
    assert "leaked semaphore" not in result.stderr
