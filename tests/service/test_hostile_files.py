"""Hostile and malformed files against a real `qa serve`: refused with a 4xx naming the problem, in bounded
memory, while answers keep coming. The files are built here the way an attacker would build them
(tests/hostile_files.py)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import os
import signal
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests import hostile_files
from tests.support import copy_index, running_server, server_pid

pytestmark = pytest.mark.service

HEADLINE = "房寺镇下放了多少项权力?"
DOCS = "/v1/collections/default/documents"


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants (the ingest worker processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):  # children are listed by the thread that started them
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return out


def _rss(pid: int) -> int:
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _is_ingest_worker(child: int, server: int) -> bool:
    """Ingest workers run at a lower priority than the server (`qa.worker.WORKER_NICENESS`); its answer workers
    (`QA_ANSWER_PROCESSES`) at the server's own."""
    fields, parent = _stat(child), _stat(server)
    return bool(fields and parent) and int(fields[16]) > int(parent[16])  # nice: the 19th field of stat


def _worker_cpu(pid: int) -> float:
    """CPU seconds used by `pid`'s ingest worker processes: the live ones, plus the processes it has reaped (a
    worker stopped for running over its budget is replaced by a new process)."""
    ticks = sum(int(f[13]) + int(f[14]) for f in [_stat(pid)] if f)
    for child in _tree(pid)[1:]:
        fields = _stat(child)
        if fields and _is_ingest_worker(child, pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _error(resp: httpx.Response, status: int) -> dict[str, str]:
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body
    return dict(body["error"])


def _upload(base: str, name: str, data: bytes, timeout: float = 300) -> httpx.Response:
    return httpx.post(f"{base}{DOCS}", files=[("files", (name, data))], timeout=timeout)


def _wait_job(client: httpx.Client, job_id: str, timeout: float = 300) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.3)


@pytest.fixture(scope="module")
def docx_bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return hostile_files.docx_bomb(tmp_path_factory.mktemp("bomb") / "report.docx").read_bytes()


@pytest.fixture(scope="module")
def guarded(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The default settings: per-file limits, uploads over 1 MB become jobs."""
    index_dir = copy_index(seed_index, tmp_path_factory.mktemp("hostile") / "index")
    with running_server(index_dir) as base:
        # the worker process starts and loads its model on the first upload; measure memory after that
        warm = _upload(base, "warm.txt", "预热文件:今年新建停车场3处。".encode())
        assert warm.status_code == 201, warm.text
        yield base


def test_docx_that_inflates_to_a_gibibyte_is_refused_in_bounded_memory(guarded: str, docx_bomb: bytes) -> None:
    pid = server_pid(guarded)
    before = _rss(pid)
    peak = before
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss(pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with httpx.Client(base_url=guarded, timeout=120) as c:
            # two at once peaked at 4.8 GB before; at 1.5 MB each they are jobs
            replies = [c.post(DOCS, files=[("files", (f"report{i}.docx", docx_bomb))]) for i in range(2)]
            assert [r.status_code for r in replies] == [202, 202], [r.text for r in replies]
            jobs = [_wait_job(c, r.json()["job"]["id"]) for r in replies]
    finally:
        done.set()
        watcher.join()
    for job in jobs:
        assert job["state"] == "failed", job
        error = job["error"]
        assert isinstance(error, dict) and error["code"] == "file_too_large", job
        assert "report" in error["message"] and "QA_MAX_DECOMPRESSED_BYTES" in error["message"], error
    print(f"two 1 GiB DOCX bombs at once: RSS {before >> 20} MB -> peak {peak >> 20} MB")
    assert peak - before < 300 * 2**20, f"RSS grew {(peak - before) >> 20} MB"


def test_pdf_whose_pages_share_one_huge_stream_is_refused(guarded: str) -> None:
    pdf = hostile_files.pdf_shared_stream()
    assert len(pdf) < 200_000
    error = _error(_upload(guarded, "bulletin.pdf", pdf), 413)
    assert "bulletin.pdf" in error["message"] and "QA_MAX_DECOMPRESSED_BYTES" in error["message"], error
    too_long = hostile_files.pdf_shared_stream(pages=2500, stream_bytes=100)
    error = _error(_upload(guarded, "long.pdf", too_long), 413)
    assert "2,500 pages" in error["message"] and "QA_MAX_PAGES" in error["message"], error


def _zip(parts: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return buf.getvalue()


GARBAGE = bytes(range(256)) * 64


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.txt", GARBAGE),
        ("guide.md", b"\x00\x01" * 5000),
        ("page.html", GARBAGE),
        ("scan.pdf", b"%PDF-1.7\n" + GARBAGE),
        ("cut.pdf", hostile_files.pdf_shared_stream(pages=3, stream_bytes=2000)[:1500]),
        ("broken.docx", hostile_files.docx_malformed_xml()),
        ("empty.docx", _zip({"[Content_Types].xml": "<Types/>"})),
        ("letter.docx", b"PK\x03\x04" + GARBAGE),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + GARBAGE),
    ],
)
def test_malformed_files_of_every_format_are_a_422_naming_the_file(guarded: str, name: str, data: bytes) -> None:
    error = _error(_upload(guarded, name, data), 422)
    assert name in error["message"], error


def test_large_upload_becomes_a_job_that_stops_at_the_character_limit(guarded: str) -> None:
    text = hostile_files.one_line_text(15_000_000)
    with httpx.Client(base_url=guarded, timeout=120) as c:
        reply = c.post(DOCS, files=[("files", ("dump.txt", text))])
        assert reply.status_code == 202, reply.text
        job = reply.json()["job"]
        assert job["state"] in ("queued", "running") and reply.headers["location"] == f"/v1/jobs/{job['id']}"
        final = _wait_job(c, job["id"])
        assert final["state"] == "failed", final
        error = final["error"]
        assert isinstance(error, dict) and error["code"] == "file_too_large", final
        assert "15,000,000 characters" in error["message"] and "QA_MAX_CHARS" in error["message"]
        assert "documents" not in final
        _error(c.get("/v1/jobs/no-such-job"), 404)
        assert all(d["source"] != "dump.txt" for d in c.get(DOCS).json()["documents"])


def test_small_upload_is_stored_while_a_large_job_runs(guarded: str) -> None:
    # ~1.2 MB: a job, read in a second or two, then minutes of embedding
    text = "\n".join(f"第{i}条:示范区第{i}号道路全长{i * 3}公里,沿线新建公交站{i % 7 + 1}个。" for i in range(15_000))
    with httpx.Client(base_url=guarded, timeout=300) as c:
        reply = c.post(DOCS, files=[("files", ("roads.txt", text.encode()))])
        assert reply.status_code == 202, reply.text
        job_id = reply.json()["job"]["id"]
        small = c.post(DOCS, json={"text": "插队测试:今年新建公园4座。", "source": "parks.txt"})
        assert small.status_code == 201, small.text
        running = c.get(f"/v1/jobs/{job_id}").json()
        assert running["state"] == "running" and 0 < running["progress"]["done"] < running["progress"]["total"]
        assert c.delete(f"/v1/jobs/{job_id}").json()["state"] == "cancelled"
        sources = {d["source"] for d in c.get(DOCS).json()["documents"]}
        assert "parks.txt" in sources and "roads.txt" not in sources


def test_names_are_labels_without_control_characters(guarded: str) -> None:
    # written by hand: HTTP clients escape such names, an attacker's need not
    name = "..\\..\\evil\x00\x1b[31m\u202egpj.txt".encode()
    body = (
        b'--qa-hostile\r\nContent-Disposition: form-data; name="files"; filename="' + name + b'"\r\n'
        b"Content-Type: text/plain\r\n\r\n" + "标签测试:今年种树120棵。".encode() + b"\r\n--qa-hostile--\r\n"
    )
    headers = {"Content-Type": "multipart/form-data; boundary=qa-hostile"}
    reply = httpx.post(f"{guarded}{DOCS}", content=body, headers=headers, timeout=120)
    assert reply.status_code == 201, reply.text
    doc = reply.json()["documents"][0]
    assert doc["source"] == "evil[31mgpj.txt", doc


@pytest.fixture(scope="module")
def permissive(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Limits opened up so hostile files are really parsed, until the per-file time budget stops them."""
    index_dir = copy_index(seed_index, tmp_path_factory.mktemp("permissive") / "index")
    env = {
        "QA_MAX_DECOMPRESSED_BYTES": str(8 * 2**30),
        "QA_MAX_CHARS": "100000000",
        "QA_MAX_CHUNKS": "1000000",
        "QA_MAX_PARSE_SECONDS": "3",
        "QA_INGEST_WORKER_IDLE_SECONDS": "5",
        "QA_RATE_LIMIT_PER_MINUTE": "100000",
    }
    with running_server(index_dir, env) as base:
        yield base


def test_answers_keep_coming_while_hostile_files_are_ingested(permissive: str) -> None:
    pdf = hostile_files.pdf_shared_stream()
    text = hostile_files.one_line_text(15_000_000)
    pid = server_pid(permissive)
    with httpx.Client(base_url=permissive, timeout=60) as c, concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert c.post("/v1/ask", json={"question": HEADLINE}).status_code == 200
        # on a busy machine the low-priority worker gets little CPU: the uploads may wait long for their turn
        pdfs = [pool.submit(_upload, permissive, f"bulletin{i}.pdf", pdf, 1800) for i in range(4)]
        job = c.post(DOCS, files=[("files", ("dump.txt", text))]).json()["job"]
        time.sleep(1)  # the uploads are in
        cpu_before = _worker_cpu(pid)
        latencies = []
        while not all(f.done() for f in pdfs):
            started = time.monotonic()
            reply = c.post("/v1/ask", json={"question": HEADLINE})
            latencies.append(time.monotonic() - started)
            assert reply.status_code == 200 and reply.json()["found"], reply.text
            time.sleep(0.3)
        worked = _worker_cpu(pid) - cpu_before
        for future in pdfs:
            error = _error(future.result(), 413)
            assert error["code"] == "parse_timeout" and "QA_MAX_PARSE_SECONDS" in error["message"], error
        final = _wait_job(c, job["id"], timeout=900)
        assert final["state"] == "failed" and final["error"]["code"] == "parse_timeout", final  # type: ignore[index]
    # the worker really was busy parsing hostile files while the questions were answered
    assert worked > 10, f"the ingest worker used only {worked:.1f} s of CPU"
    print(f"worker CPU {worked:.1f} s; /v1/ask latencies (s): {[round(x, 2) for x in latencies]}")
    assert len(latencies) >= 10 and max(latencies) < 2.0, [round(x, 2) for x in latencies]


def test_cancelled_job_stops_its_work(permissive: str) -> None:
    text = "\n".join(f"第{i}条:示范区第{i}号道路全长{i * 3}公里,沿线新建公交站{i % 7 + 1}个。" for i in range(15_000))
    pid = server_pid(permissive)
    with httpx.Client(base_url=permissive, timeout=60) as c:
        reply = c.post(DOCS, files=[("files", ("roads.txt", text.encode()))])
        assert reply.status_code == 202, reply.text
        job_id = reply.json()["job"]["id"]
        time.sleep(2)
        assert c.get(f"/v1/jobs/{job_id}").json()["state"] == "running"
        # a job queued behind it is cancelled at once: nothing of it has started (waiting for it to finish meant
        # waiting for the job ahead)
        parks = text.replace("道路", "公园")  # as large: a job of its own
        queued = c.post(DOCS, files=[("files", ("queued.txt", parks.encode()))]).json()["job"]
        assert queued["state"] == "queued", queued
        assert c.delete(f"/v1/jobs/{queued['id']}", timeout=5).json()["state"] == "cancelled"
        busy = [p for p in _tree(pid)[1:] if _alive(p)]
        cancelled = c.delete(f"/v1/jobs/{job_id}").json()
        assert cancelled["state"] == "cancelled", cancelled
        # the process reading the file is stopped (a new one takes its place for the next upload): pebble sends
        # it SIGTERM, whose handler runs once the native call it is in (a model batch) returns, and SIGKILL 3 s on
        assert _eventually(lambda: any(not _alive(p) for p in busy), seconds=15), busy
        assert c.get(f"/v1/jobs/{job_id}").json()["state"] == "cancelled"
        assert all(d["source"] not in ("roads.txt", "queued.txt") for d in c.get(DOCS).json()["documents"])
        assert c.get(f"/v1/jobs/{queued['id']}").json()["state"] == "cancelled"
        assert _upload(permissive, "after.txt", "取消之后:今年修桥5座。".encode()).status_code == 201
        _error(c.delete("/v1/jobs/no-such-job"), 404)


def _workers(pid: int) -> list[int]:
    """The ingest worker processes under the server `pid`."""
    out = []
    for child in _tree(pid)[1:]:
        with contextlib.suppress(OSError):
            spawned = b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
            if spawned and _alive(child) and _is_ingest_worker(child, pid):
                out.append(child)
    return out


def test_idle_workers_stop_and_start_again(permissive: str) -> None:
    pid = server_pid(permissive)
    assert _upload(permissive, "idle1.txt", "空闲测试:今年新建泵站6座。".encode()).status_code == 201
    assert _workers(pid)
    deadline = time.monotonic() + 30
    while _workers(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _workers(pid), "the ingest worker kept running (and its model loaded) while idle"
    assert _upload(permissive, "idle2.txt", "空闲之后:今年新建水厂1座。".encode()).status_code == 201


def test_sigterm_mid_ingest_stops_within_ten_seconds_keeping_what_was_acknowledged(
    seed_index: Path, tmp_path: Path
) -> None:
    index_dir = copy_index(seed_index, tmp_path / "index")
    acknowledged = "确认之后:今年新建学校2所。"
    text = "\n".join(f"第{i}条:示范区第{i}号道路全长{i * 3}公里。" for i in range(60_000))
    with running_server(index_dir) as base:
        pid = server_pid(base)
        assert _upload(base, "acknowledged.txt", acknowledged.encode()).status_code == 201
        job = httpx.post(f"{base}{DOCS}", files=[("files", ("roads.txt", text.encode()))], timeout=60).json()["job"]
        time.sleep(3)
        assert httpx.get(f"{base}/v1/jobs/{job['id']}").json()["state"] == "running"
        processes = _tree(pid)
        assert len(processes) > 1
        os.kill(pid, signal.SIGTERM)
        started = time.monotonic()
        while any(_alive(p) for p in processes) and time.monotonic() - started < 15:
            time.sleep(0.1)
        stopped = time.monotonic() - started
        print(f"SIGTERM mid-ingest: all {len(processes)} processes gone after {stopped:.1f} s")
        assert stopped < 10, f"still running {stopped:.1f} s after SIGTERM: {[p for p in processes if _alive(p)]}"
    with running_server(index_dir) as base:
        docs = {d["source"] for d in httpx.get(f"{base}{DOCS}").json()["documents"]}
        assert "acknowledged.txt" in docs and "roads.txt" not in docs
        # the accepted job is not forgotten: it says it was interrupted, and what to do
        after = httpx.get(f"{base}/v1/jobs/{job['id']}").json()
        assert after["state"] == "failed" and after["error"]["code"] == "interrupted", after
        reply = httpx.post(f"{base}/v1/ask", json={"question": "今年新建学校几所?"}, timeout=60).json()
        assert "2" in reply["answer"]


def _eventually(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether `condition` holds within `seconds` (polled)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
