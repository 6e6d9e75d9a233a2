"""Job records on disk: what a poll after a restart reads."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from qa.api.jobs import JobRecords
from qa.api.responses import JobOut, JobProgress


def _job(job_id: str, state: str) -> JobOut:
    return JobOut.model_validate({"id": job_id, "state": state, "progress": JobProgress(done=1, total=4)})


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _write(records: JobRecords, view: JobOut, host: str, pid: int) -> None:
    records.write(view)
    path = records.folder / f"{view.id}.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "host": host, "pid": pid}))


def test_a_job_whose_server_is_gone_reads_interrupted_and_others_as_written(tmp_path: Path) -> None:
    records = JobRecords(tmp_path / "_jobs")
    here = socket.gethostname()
    crashed, other_host, live, done = ("a" * 32, "b" * 32, "c" * 32, "d" * 32)
    _write(records, _job(crashed, "running"), here, _dead_pid())
    _write(records, _job(other_host, "running"), "another-replica", 12345)
    _write(records, _job(live, "queued"), here, os.getppid())
    _write(records, _job(done, "done"), here, _dead_pid())
    records.recover()
    states = {}
    for job_id in (crashed, other_host, live, done):
        found = records.read(job_id)
        assert found is not None
        states[job_id] = (found[0].state, found[0].error.code if found[0].error else None)
    assert states == {
        crashed: ("failed", "interrupted"),
        other_host: ("running", None),
        live: ("queued", None),
        done: ("done", None),
    }
    # an id from a URL names no file outside the records
    assert records.read("../../etc/passwd") is None and records.read("a" * 31) is None
