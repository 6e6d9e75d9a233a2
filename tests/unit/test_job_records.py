"""Job records on disk: what a poll after a restart (or on another replica) reads."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from qa.api.jobs import STALE_S, JobRecords
from qa.api.responses import JobOut, JobProgress


def _job(job_id: str, state: str, done: int = 1) -> JobOut:
    return JobOut.model_validate({"id": job_id, "state": state, "progress": JobProgress(done=done, total=4)})


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _write(records: JobRecords, view: JobOut, host: str, pid: int, age_s: float = 0.0) -> None:
    path = records.folder / f"{view.id}.json"
    records.folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"job": view.model_dump(mode="json"), "host": host, "pid": pid}))
    then = time.time() - age_s
    os.utime(path, (then, then))


def _state(records: JobRecords, job_id: str) -> tuple[str, str | None]:
    view = records.read(job_id)
    assert view is not None
    return view.state, view.error.code if view.error else None


def test_a_job_whose_server_is_gone_reads_interrupted_and_others_as_written(tmp_path: Path) -> None:
    records = JobRecords(tmp_path / "_jobs")
    here = socket.gethostname()
    crashed, replica, replica_gone, live, done = ("a" * 32, "b" * 32, "c" * 32, "d" * 32, "e" * 32)
    _write(records, _job(crashed, "running"), here, _dead_pid())
    _write(records, _job(replica, "running"), "another-replica", 12345)
    # a container recreated after a kill has another host name: its record is simply no longer refreshed
    _write(records, _job(replica_gone, "running"), "old-container", 12345, age_s=STALE_S + 5)
    _write(records, _job(live, "queued"), here, os.getppid())
    _write(records, _job(done, "done"), here, _dead_pid(), age_s=STALE_S + 5)
    records.tidy()
    assert {j: _state(records, j) for j in (crashed, replica, replica_gone, live, done)} == {
        crashed: ("failed", "interrupted"),
        replica: ("running", None),
        replica_gone: ("failed", "interrupted"),
        live: ("queued", None),
        done: ("done", None),
    }
    # an id from a URL names no file outside the records
    assert records.read("../../etc/passwd") is None and records.read("a" * 31) is None
    assert records.read("a" * 32 + "\n") is None


def test_concurrent_writes_lose_nothing_and_a_late_refresh_never_undoes_the_end(tmp_path: Path) -> None:
    records = JobRecords(tmp_path / "_jobs")
    job_id = "f" * 32

    def refresh() -> None:
        for i in range(200):
            records.write(_job(job_id, "running", done=i))

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    records.write(_job(job_id, "done", done=4))
    for thread in threads:
        thread.join()
    view = records.read(job_id)
    assert view is not None and view.state == "done" and view.progress.done == 4
    assert not list(records.folder.glob(".*.tmp"))
