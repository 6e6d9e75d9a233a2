"""Helpers for tests that need real data and real processes: a seed index, a server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "data" / "seeds"
GOLDEN = REPO / "evals" / "golden.jsonl"
SAMPLE = REPO / "evals" / "sample_qa.jsonl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def qa_env(index_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update({"QA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    if "QA_CACHE_DIR" in os.environ:
        env["QA_CACHE_DIR"] = os.environ["QA_CACHE_DIR"]
    env.update(extra or {})
    return env


def run_qa(
    *args: str, index_dir: Path, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `qa` command line."""
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        cwd=REPO,
        env=qa_env(index_dir, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_index(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def server_pid(base_url: str) -> int:
    """The process id of the `qa serve` listening at `base_url` (started by `running_server`)."""
    port = base_url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in args and b"--port" in args and port.encode() in args:
            return int(entry.name)
    raise LookupError(f"no qa serve process on port {port}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@contextmanager
def running_server(
    index_dir: Path, env: Mapping[str, str] | None = None, startup_timeout: float = 180, port: int | None = None
) -> Iterator[str]:
    """`qa serve` as a subprocess on `port` (default: a free one); yields its base URL and stops it afterwards."""
    port = port or free_port()
    log_path = index_dir.parent / f"server-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=qa_env(index_dir, env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start in {startup_timeout} s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
