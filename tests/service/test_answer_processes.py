"""The answer stage in worker processes (`QA_ANSWER_PROCESSES`, what `qa serve` does): the same answers as in the
server's own process, and a worker killed in the middle of a question costs that question nothing but time.

Real parts: the sample corpus ingested by the CLI, the real embedder and FAISS for the evidence, spawned worker
processes, and a real SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.processes import AnswerProcesses
from qa.query import Query, analyze
from qa.service import QAService
from qa.types import Answer, Passage
from tests.support import REPO, copy_index, running_server, server_pid

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def processes(seed_service: QAService) -> Iterator[AnswerProcesses]:
    pool = AnswerProcesses(seed_service.answer_model, None, 1)
    pool.start()
    yield pool
    pool.close()


def _golden(seed_service: QAService) -> list[tuple[Query, list[Passage]]]:
    lines = (REPO / "evals" / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    queries = [analyze(json.loads(line)["question"]) for line in lines if line.strip()]
    return [(q, seed_service.evidence(q, "default")) for q in queries]


def _same(a: Answer, b: Answer) -> None:
    assert (a.found, a.answer) == (b.found, b.answer)
    assert [(c.doc_id, c.start, c.end) for c in a.citations] == [(c.doc_id, c.start, c.end) for c in b.citations]
    assert (a.short_answer and a.short_answer.text) == (b.short_answer and b.short_answer.text)


def test_a_worker_answers_as_the_servers_own_process_does(seed_service: QAService, processes: AnswerProcesses) -> None:
    local = ExtractiveAnswerer(seed_service.answer_model)
    cases = _golden(seed_service)
    assert cases
    for query, passages in cases:
        pooled = asyncio.run(processes.answer(query, passages))
        _same(pooled, local.answer(query, passages))
        assert pooled.timings_ms["answer"] > 0


def test_two_workers_start_and_answer_alike(seed_service: QAService) -> None:
    local = ExtractiveAnswerer(seed_service.answer_model)
    cases = _golden(seed_service)[:2]
    pool = AnswerProcesses(seed_service.answer_model, None, 2)
    try:
        pool.start()  # returns once both workers have run a start-up task

        async def both() -> list[Answer]:
            return list(await asyncio.gather(*(pool.answer(q, p) for q, p in cases)))

        for (query, passages), pooled in zip(cases, asyncio.run(both()), strict=True):
            _same(pooled, local.answer(query, passages))
    finally:
        pool.close()


def _worker_pid(processes: AnswerProcesses) -> int:
    """The pid of a worker of the pool the next question goes to."""
    pid: int = processes._running_pool().schedule(os.getpid).result(timeout=60)
    assert pid != os.getpid()
    return pid


def test_a_worker_killed_mid_question_still_gets_it_answered(
    seed_service: QAService, processes: AnswerProcesses
) -> None:
    query, passages = _golden(seed_service)[0]
    expected = ExtractiveAnswerer(seed_service.answer_model).answer(query, passages)
    pid = _worker_pid(processes)

    async def ask_while_the_worker_dies() -> Answer:
        os.kill(pid, signal.SIGSTOP)  # the question waits in the stopped worker...
        task = asyncio.create_task(processes.answer(query, passages))
        await asyncio.sleep(0.5)
        os.kill(pid, signal.SIGKILL)  # ...which then dies under it
        return await asyncio.wait_for(task, 60)

    _same(asyncio.run(ask_while_the_worker_dies()), expected)
    # another worker (in a new pool when pebble gave the old one up) answers the next question
    assert _worker_pid(processes) != pid
    _same(asyncio.run(processes.answer(query, passages)), expected)


def _spawned_children(pid: int) -> int:
    count = 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            args = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        count += ppid == pid and b"spawn_main" in args
    return count


def test_the_server_answers_in_a_worker_and_in_process_alike(seed_index: Path, tmp_path: Path) -> None:
    index_dir = copy_index(seed_index, tmp_path / "index")
    question = {"question": "房寺镇下放了多少项权力?"}
    replies = []
    for processes in (1, 0):
        with running_server(index_dir, {"QA_ANSWER_PROCESSES": str(processes)}) as base:
            reply = httpx.post(f"{base}/v1/ask", json=question, timeout=120)
            reply.raise_for_status()
            replies.append(reply.json())
            # no ingest has run, so the only workers are the answer processes
            assert _spawned_children(server_pid(base)) == processes
    pooled, local = replies
    assert pooled["found"] and pooled["answer"] == local["answer"]
    assert pooled["citations"] == local["citations"]
