#!/usr/bin/env python3
"""`make docker-test`: build the images and run the compose stack for real on this machine, then remove it all.

    python3 docker/stack_test.py run [--keep] [--base IMAGE]
    python3 docker/stack_test.py run --if-changed    # only when the Docker inputs differ from the verified ones
    python3 docker/stack_test.py digest              # the digest of the Docker inputs

The steps, each timed:
1. An engine: the one `docker info` reaches (DOCKER_HOST or the default socket), else a private `dockerd` that
   makes no networks of its own (no bridge, no iptables), with its own socket, data root and exec root in a
   new temporary folder, so nothing else on the machine is touched. Debian's docker.io is installed when
   there is no dockerd. The data root, the Debian root and the build context live on a loop-mounted ext4
   file, removed at the end as one file (see scratch_folder).
2. A base image: python:3.11-slim when a registry serves it, else Debian bookworm with Python 3.11 built
   with debootstrap from the machine's own Debian mirror and imported.
3. A staged copy of the build context (the checkout's files that git does not ignore) with the optional
   build inputs of this machine: pip's CA bundle (PIP_CERT or pip's `cert`) and the pinned torch's local
   wheel from pip's find-links folder. The checkout itself is never written to, but for the stamp below.
4. Both images, with the classic builder on the host's network.
5. The api image air-gapped (`--network none`, read-only but for /tmp): ingest the seeds and answer the
   headline question, on the embedded store and on Milvus Lite (QA_STORE=milvus).
6. The stack, docker-compose.yml with docker-compose.test.yml (host network, free 127.0.0.1 ports):
   the LLM server ready, /healthz, the image's HEALTHCHECK healthy, the seeds ingested at first start,
   the seeds uploaded through the API into a new collection, the headline question answered by the LLM
   with both figures; then a new api container on the same index volume: same documents, same answer.
7. Everything it started removed: the stack with its volumes, the images it built (on a shared engine),
   its own daemon by the pid it recorded, and the temporary folder.

On success the digest of the Docker inputs is written to docker/stack-verified; `make test` runs this test
only when the inputs differ from that digest (`--if-changed`), so commit the file after a passing run.
Standard library only: it needs no set-up of the project.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STAMP = REPO / "docker" / "stack-verified"
# What the images and the stack are made from. A change to any of them makes `make test` run this test.
INPUTS = (
    "Dockerfile",
    ".dockerignore",
    "docker-compose*.yml",
    "docker",
    "pyproject.toml",
    "setup.py",
    "qa/embed/prepare.py",
    "qa/llm_server.py",
    "data/seeds",
)
QUESTION = "房寺镇下放了多少项权力?"
# The headline answer must carry both figures of the sample corpus (64 items handed down, 413 entrusted powers),
# as the extractive answer does. The LLM's answer is held to 64 only: the 1.5B model names 64 and leaves out 413,
# word for word the same outside a container (the answer stage's matter, not the image's).
FIGURES = {"extractive": ("64", "413"), "extractive_fallback": ("64", "413"), "llm": ("64",)}
REGISTRY_BASE = "python:3.11-slim"
DEBIAN_SUITE = "bookworm"  # its python3 is 3.11, as the project's
DEBIAN_PACKAGES = "python3,python3-venv,ca-certificates"
# the scratch file system peaked at 19 GB (base, build stages, both images, containers)
MIN_FREE_GB = 25
SCRATCH_GB = 60
PREFIX = "qa-docker-test"

_started = time.monotonic()
_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Failed(Exception):
    """A check or a step failed; the message says which and why."""


def say(message: str) -> None:
    print(f"[{time.monotonic() - _started:7.1f} s] {message}", flush=True)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------------------------------------- inputs digest


def input_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *INPUTS],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    stamp = str(STAMP.relative_to(REPO))
    return sorted({f for f in out.split("\0") if f and f != stamp and (REPO / f).is_file()})


def inputs_digest() -> str:
    digest = hashlib.sha256()
    for name in input_files():
        digest.update(f"{name}\0{hashlib.sha256((REPO / name).read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def verified_digest() -> str | None:
    if not STAMP.is_file():
        return None
    lines = [line for line in STAMP.read_text().splitlines() if line and not line.startswith("#")]
    return lines[0].strip() if lines else None


def write_stamp(digest: str, summary: str) -> None:
    STAMP.write_text(
        "# `make docker-test` passed on these Docker inputs (sha256 over the files docker/stack_test.py lists in\n"
        "# INPUTS); `make test` runs it again whenever they differ. Rewritten by every passing run.\n"
        f"# {summary}\n{digest}\n"
    )


# ---------------------------------------------------------------------------------------------- processes


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 600, cwd: Path | None = None) -> str:
    proc = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise Failed(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{(proc.stderr or proc.stdout)[-3000:]}")
    return proc.stdout


def run_logged(cmd: Sequence[str], log: Path, *, env: dict[str, str], timeout: float) -> None:
    """Run a long command with its output in `log`, each line stamped with the seconds since it started."""
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        proc = subprocess.Popen(
            list(cmd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(f"{time.monotonic() - started:7.1f} {line}")
            if time.monotonic() - started > timeout:
                proc.kill()
        code = proc.wait()
    if code != 0:
        tail = "".join(log.read_text(encoding="utf-8").splitlines(keepends=True)[-40:])
        raise Failed(f"`{' '.join(cmd[:3])} …` exited {code} (full log: {log}):\n{tail}")


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise Failed(f"{', '.join(packages)} missing and not root: install them (Debian: apt-get install {packages})")
    say(f"installing {' '.join(packages)} with apt")
    run(["apt-get", "update", "-qq"], timeout=600)
    run(["apt-get", "install", "-y", "-qq", *packages], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------- the engine


class Engine:
    """A Docker engine to use: a reachable one (shared: only what this test made is removed), or a private one."""

    def __init__(self, work: Path, scratch: Path) -> None:
        self.work = work
        self.scratch = scratch
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
        # the classic builder: no BuildKit (nor buildx) is needed, and `--network host` is honoured
        self.env["DOCKER_BUILDKIT"] = "0"
        self.env["COMPOSE_DOCKER_CLI_BUILD"] = "0"
        self.private_pid: int | None = None
        self.private_root: Path | None = None

    def docker(self, *args: str, timeout: float = 600) -> str:
        return run(["docker", *args], env=self.env, timeout=timeout)

    def reachable(self) -> bool:
        try:
            proc = subprocess.run(
                ["docker", "info", "--format", "{{.ServerVersion}}"],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return proc.returncode == 0 and bool(proc.stdout.strip())

    def start(self) -> str:
        if shutil.which("docker") and self.reachable():
            return f"the reachable engine ({self.env.get('DOCKER_HOST', 'default socket')}), shared"
        if not shutil.which("dockerd"):
            apt_install("docker.io")
        root = self.work / "engine"
        (root / "exec").mkdir(parents=True)
        data = self.scratch / "engine-data"
        data.mkdir()
        sock = root / "docker.sock"
        pidfile = root / "dockerd.pid"
        self.private_root = root
        cmd = [
            "dockerd",
            "--bridge=none",
            "--iptables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--data-root",
            str(data),
            "--exec-root",
            str(root / "exec"),
            "--pidfile",
            str(pidfile),
            "-H",
            f"unix://{sock}",
        ]
        log = (self.work / "dockerd.log").open("w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.private_pid = proc.pid
        (self.work / "dockerd.started-pid").write_text(f"{proc.pid}\n")
        self.env["DOCKER_HOST"] = f"unix://{sock}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise Failed(f"dockerd exited {proc.returncode}:\n{(self.work / 'dockerd.log').read_text()[-3000:]}")
            if sock.exists() and self.reachable():
                version = self.docker("info", "--format", "{{.ServerVersion}} {{.Driver}}").strip()
                return f"a private dockerd {version} (pid {proc.pid}, data root {data})"
            time.sleep(0.5)
        raise Failed(f"dockerd did not answer in 120 s:\n{(self.work / 'dockerd.log').read_text()[-3000:]}")

    def stop(self) -> None:
        if self.private_pid is None:
            return
        pid, self.private_pid = self.private_pid, None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        say(f"stopped the private dockerd (pid {pid})")


def scratch_folder(folder: Path, free_gb: float) -> str:
    """Where the engine's layers, the Debian root and the build context go: an ext4 file system in a sparse file,
    mounted through a loop device, where this process may make one; else a plain folder. On a disk mounted with
    `discard`, deleting many files is slow (measured here: torch's 14,273 files, 754 MB, took 23.6 s to delete;
    the same files in a loop-mounted file system went with the one file in 0.25 s), and a data root holds
    several copies of them: deleted file by file, it added 197 s to a 670 s run."""
    folder.mkdir()
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        return "a plain folder (mounting a file system needs root and mkfs.ext4)"
    image = folder.with_suffix(".ext4")
    size_gb = int(min(SCRATCH_GB, free_gb - 2))
    try:
        with image.open("wb") as out:
            out.truncate(size_gb << 30)
        run(["mkfs.ext4", "-q", "-F", "-E", "nodiscard", str(image)])
        run(["mount", "-o", "loop,nodiscard", str(image), str(folder)])
    except Failed as exc:
        image.unlink(missing_ok=True)
        return f"a plain folder (no loop mount: {str(exc).strip().splitlines()[-1][:160]})"
    return f"ext4 in {image} (sparse, at most {size_gb} GB), loop-mounted on {folder}"


def unmount_under(folder: Path) -> None:
    """Unmount whatever is mounted under `folder`, deepest first (what a daemon left, then the scratch file system),
    so it can be removed."""
    prefix = str(folder.resolve()) + "/"
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefix):
            mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


# ---------------------------------------------------------------------------------------------- the base image


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (QA_DEBIAN_MIRROR overrides it)."""
    if os.environ.get("QA_DEBIAN_MIRROR"):
        return os.environ["QA_DEBIAN_MIRROR"]
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = dict(
                (k.strip().lower(), v.strip())
                for k, _, v in (line.partition(":") for line in stanza.splitlines())
                if not k.startswith("#") and v
            )
            suites = fields.get("suites", "").split()
            if (
                fields.get("types") == "deb"
                and any("-" not in s for s in suites)
                and "main" in fields.get("components", "")
            ):
                return fields["uris"].split()[0]
    for path in [Path("/etc/apt/sources.list"), *sorted(sources.glob("*.list"))]:
        if path.is_file():
            for line in path.read_text().splitlines():
                parts = re.sub(r"\[[^]]*\]", "", line).split()
                if len(parts) >= 4 and parts[0] == "deb" and "-" not in parts[2] and "main" in parts[3:]:
                    return parts[1]
    raise Failed("no Debian mirror in /etc/apt: set QA_DEBIAN_MIRROR to one")


def base_image(engine: Engine, requested: str | None, made: list[str]) -> str:
    if requested:
        return requested
    with contextlib.suppress(Failed):
        engine.docker("image", "inspect", REGISTRY_BASE)
        return REGISTRY_BASE
    try:
        engine.docker("pull", REGISTRY_BASE, timeout=180)
        return REGISTRY_BASE
    except (Failed, subprocess.TimeoutExpired) as exc:
        say(f"no registry serves {REGISTRY_BASE} ({str(exc).strip().splitlines()[-1][:160]}): building the base")
    if not shutil.which("debootstrap"):
        apt_install("debootstrap")
    rootfs = engine.scratch / "rootfs"
    mirror = debian_mirror()
    started = time.monotonic()
    run(
        ["debootstrap", "--variant=minbase", f"--include={DEBIAN_PACKAGES}", DEBIAN_SUITE, str(rootfs), mirror],
        timeout=1800,
    )
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
    tag = f"{PREFIX}/debian-python:{DEBIAN_SUITE}"
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(
        [
            "docker",
            "import",
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change",
            'CMD ["python3"]',
            "-",
            tag,
        ],
        stdin=tar.stdout,
        env=engine.env,
        capture_output=True,
        text=True,
    )
    tar.wait()
    if imported.returncode != 0 or tar.returncode != 0:
        raise Failed(f"docker import of the debootstrap root failed: {imported.stderr[-2000:]}")
    made.append(tag)
    shutil.rmtree(rootfs, ignore_errors=True)
    say(f"base {tag} built from {mirror} in {time.monotonic() - started:.0f} s ({size_mb(engine, tag)} MB)")
    return tag


def size_mb(engine: Engine, image: str) -> int:
    return round(int(engine.docker("image", "inspect", "--format", "{{.Size}}", image).strip()) / 1e6)


# ---------------------------------------------------------------------------------------------- build context


def pip_setting(env_name: str, config_key: str) -> list[str]:
    """A pip setting as this machine's pip sees it: its environment variable, else pip's configuration."""
    if os.environ.get(env_name):
        return os.environ[env_name].split()
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.split(".", 1)[-1] == config_key and value:
            return value.strip().strip("'\"").split()
    return []


def stage_context(work: Path) -> tuple[Path, list[str]]:
    """A copy of the build context plus this machine's pip CA bundle and pinned torch wheel as build inputs."""
    ctx = work / "context"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True
    )
    if files.returncode != 0:
        raise Failed("the build context is staged from a git checkout: run this from one")
    for name in files.stdout.decode().split("\0"):
        src = REPO / name
        if name and src.is_file():
            (ctx / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, ctx / name)
    inputs = ctx / "docker" / "build-inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    used = []
    for cert in pip_setting("PIP_CERT", "cert")[:1]:
        if Path(cert).is_file():
            shutil.copy(cert, inputs / "ca.crt")
            used.append(f"CA bundle {cert}")
    pin = re.search(r'"torch==([^"]+)"', (REPO / "pyproject.toml").read_text())
    if pin:
        for folder in pip_setting("PIP_FIND_LINKS", "find-links"):
            folder = folder.removeprefix("file://")
            for wheel in sorted(Path(folder).glob(f"torch-{pin.group(1)}[+-]*cp311*.whl")) if folder else []:
                (inputs / "wheels").mkdir(exist_ok=True)
                shutil.copy(wheel, inputs / "wheels" / wheel.name)
                used.append(f"wheel {wheel}")
    return ctx, used


# ---------------------------------------------------------------------------------------------- HTTP


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _no_proxy.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def post_json(url: str, payload: dict[str, Any], timeout: float = 30) -> tuple[int, Any]:
    return http("POST", url, json.dumps(payload).encode(), {"Content-Type": "application/json"}, timeout)


def multipart(files: Sequence[Path]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for path in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{path.name}"\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\n".encode()
            + path.read_bytes()
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def wait_until(what: str, check: Any, timeout: float, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, urllib.error.URLError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise Failed(f"{what}: not within {timeout:.0f} s (last: {str(last)[:300]})")


def check_answer(body: Any, *, mode: str) -> str:
    if not isinstance(body, dict):
        raise Failed(f"/v1/ask did not answer JSON: {str(body)[:500]}")
    answer = str(body.get("answer", ""))
    problems = [f"no {figure}" for figure in FIGURES[mode] if figure not in answer]
    if body.get("found") is not True:
        problems.append("found is not true")
    if body.get("mode") != mode:
        problems.append(f"mode {body.get('mode')!r}, not {mode!r} (warnings: {body.get('warnings')})")
    if not body.get("citations"):
        problems.append("no citation")
    if problems:
        raise Failed(f"the headline answer is wrong ({'; '.join(problems)}): {json.dumps(body, ensure_ascii=False)}")
    return answer


class Stack:
    def __init__(self, engine: Engine, api_image: str, llm_image: str) -> None:
        self.engine = engine
        self.api_port, self.llm_port = free_port(), free_port()
        while self.llm_port == self.api_port:
            self.llm_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.project = f"{PREFIX}-{os.getpid()}"
        self.env = {
            **engine.env,
            "QA_TEST_API_IMAGE": api_image,
            "QA_TEST_LLM_IMAGE": llm_image,
            "QA_TEST_API_PORT": str(self.api_port),
            "QA_TEST_LLM_PORT": str(self.llm_port),
        }
        if (
            shutil.which("docker")
            and subprocess.run(["docker", "compose", "version"], env=engine.env, capture_output=True).returncode == 0
        ):
            base = ["docker", "compose"]
        else:
            if not shutil.which("docker-compose"):
                apt_install("docker-compose")
            base = ["docker-compose"]
        self.compose = [*base, "-p", self.project, "-f", "docker-compose.yml", "-f", "docker-compose.test.yml"]
        self.up = False

    def run(self, *args: str, timeout: float = 600) -> str:
        return run([*self.compose, *args], env=self.env, cwd=REPO, timeout=timeout)

    def container(self, service: str) -> str:
        cid = self.run("ps", "-q", service).strip()
        if not cid:
            raise Failed(f"no {service} container")
        return cid

    def running(self, service: str) -> bool:
        """True while the service's container runs; a Failed with its log once it exited or restarts."""
        cid = self.container(service)
        state = self.engine.docker("inspect", "--format", "{{.State.Status}} {{.RestartCount}}", cid).split()
        if state[0] != "running" or int(state[1]) > 0:
            log = subprocess.run(
                ["docker", "logs", "--tail", "40", cid], env=self.engine.env, capture_output=True, text=True
            )
            raise Failed(f"the {service} container is {state[0]} after {state[1]} restarts:\n{log.stdout}{log.stderr}")
        return True

    def index_volume(self, cid: str) -> str:
        template = '{{range .Mounts}}{{if eq .Destination "/data/index"}}{{.Name}}{{end}}{{end}}'
        name = self.engine.docker("inspect", "--format", template, cid).strip()
        if not name:
            raise Failed(f"container {cid[:12]} has no volume on /data/index")
        return name

    def start(self, *services: str) -> None:
        self.up = True
        self.run("up", "-d", "--no-build", *services)

    def logs(self) -> str:
        try:
            return self.run("logs", "--no-color", "--tail", "60")
        except Failed as exc:
            return str(exc)

    def down(self) -> None:
        if self.up:
            self.up = False
            try:
                self.run("down", "--volumes", "--remove-orphans", timeout=300)
            except Failed as exc:
                say(f"compose down failed: {exc}")

    def wait_healthy(self, service: str, url: str, timeout: float) -> tuple[float, float]:
        """Seconds until `url` answers 200, then until Docker reports the image's HEALTHCHECK healthy."""
        started = time.monotonic()
        wait_until(f"{service} {url} 200", lambda: self.running(service) and http("GET", url)[0] == 200, timeout)
        up = time.monotonic() - started
        cid = self.container(service)

        def healthy() -> bool:
            state = self.engine.docker("inspect", "--format", "{{.State.Health.Status}}", cid).strip()
            if state == "unhealthy":
                raise Failed(f"{service} container unhealthy: {self.engine.docker('inspect', cid)[-2000:]}")
            return state == "healthy"

        wait_until(f"the {service} container's HEALTHCHECK healthy", healthy, 240, every=2)
        return up, time.monotonic() - started

    def wait_up(self) -> str:
        llm = self.wait_healthy("llm", f"http://127.0.0.1:{self.llm_port}/health", 600)
        api = self.wait_healthy("api", f"{self.api}/healthz", 900)
        return (
            f"LLM /health 200 after {llm[0]:.0f} s, healthy after {llm[1]:.0f} s; "
            f"api /healthz 200 after {api[0]:.0f} s, healthy after {api[1]:.0f} s"
        )

    def documents(self, collection: str) -> list[str]:
        status, body = http("GET", f"{self.api}/v1/collections/{collection}/documents")
        if status != 200:
            raise Failed(f"listing {collection}: {status} {body}")
        return sorted(d["doc_id"] for d in body["documents"])

    def upload(self, collection: str, files: Sequence[Path]) -> list[str]:
        body, content_type = multipart(files)
        status, reply = http(
            "POST", f"{self.api}/v1/collections/{collection}/documents", body, {"Content-Type": content_type}, 600
        )
        if status == 202:
            job = reply["job"]["id"]

            def done() -> Any:
                _, state = http("GET", f"{self.api}/v1/jobs/{job}")
                if state["state"] in ("failed", "cancelled"):
                    raise Failed(f"upload job {job}: {state}")
                return state if state["state"] == "done" else None

            reply = wait_until("the upload job", done, 900, every=2)
        elif status != 201:
            raise Failed(f"upload: {status} {reply}")
        return sorted(d["doc_id"] for d in reply["documents"])

    def ask(self, collection: str, mode: str) -> str:
        started = time.monotonic()
        status, body = post_json(f"{self.api}/v1/ask", {"question": QUESTION, "collection": collection}, 900)
        if status != 200:
            raise Failed(f"/v1/ask: {status} {body}")
        answer = check_answer(body, mode=mode)
        sources = ", ".join(sorted({c["source"] for c in body["citations"]}))
        say(f"  {mode} answer in {time.monotonic() - started:.0f} s (load {load()}): {answer}  [{sources}]")
        return answer


# ---------------------------------------------------------------------------------------------- the test


def air_gapped(engine: Engine, image: str, store: str) -> str:
    """The api image with no network at all ingests the seeds into `store` and answers from the models built
    into it. Its file system is read-only but for an empty /tmp: nothing is built or fetched at start."""
    script = (
        f"qa ingest data/seeds --index-dir /tmp/index >/dev/null && qa ask '{QUESTION}' --json --index-dir /tmp/index"
    )
    run_args = ["--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp", "--env", f"QA_STORE={store}"]
    out = engine.docker("run", *run_args, image, "sh", "-c", script, timeout=900)
    return check_answer(json.loads(out), mode="extractive")


def test(engine: Engine, args: argparse.Namespace, made: list[str], figures: dict[str, Any]) -> None:
    tag = f"{os.getpid()}"
    api_image, llm_image = f"{PREFIX}/api:{tag}", f"{PREFIX}/llm:{tag}"
    base = base_image(engine, args.base, made)
    ctx, used = stage_context(engine.scratch)
    say(f"build context staged; build inputs: {', '.join(used) or 'none'}")

    log = engine.work / "build.log"
    build = ["docker", "build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}"]
    for target, image in (("llm", llm_image), ("api", api_image)):
        started = time.monotonic()
        made.append(image)
        run_logged([*build, "--target", target, "-t", image, str(ctx)], log, env=engine.env, timeout=3600)
        figures[f"build_{target}_s"] = round(time.monotonic() - started)
        figures[f"{target}_image_mb"] = size_mb(engine, image)
        say(f"built {image} in {figures[f'build_{target}_s']} s: {figures[f'{target}_image_mb']} MB (load {load()})")

    # the embedded store, and Milvus Lite in the container: the Milvus client code path of the scale replicas
    for store in ("embedded", "milvus"):
        started = time.monotonic()
        answer = air_gapped(engine, api_image, store)
        took = time.monotonic() - started
        say(f"air-gapped (--network none, read-only), QA_STORE={store}: ingest + ask in {took:.0f} s: {answer}")

    stack = Stack(engine, api_image, llm_image)
    try:
        stack.start()
        say(f"stack up (api on {stack.api}, LLM on 127.0.0.1:{stack.llm_port}): {stack.wait_up()}")
        seeds = sorted(p for p in (REPO / "data" / "seeds").iterdir() if p.is_file())
        names = [p.stem for p in seeds]
        if stack.documents("default") != names:
            raise Failed(f"the first start did not ingest the seeds into default: {stack.documents('default')}")
        started = time.monotonic()
        uploaded = stack.upload("uploaded", seeds)
        if uploaded != names:
            raise Failed(f"uploaded {uploaded}, expected {names}")
        say(f"the seeds ingested at first start; uploaded again into 'uploaded' in {time.monotonic() - started:.0f} s")
        say(f"asking {QUESTION}")
        figures["answer"] = stack.ask("uploaded", "llm")
        stack.run("stop", "llm")
        say("LLM stopped:")
        figures["fallback_answer"] = stack.ask("uploaded", "extractive_fallback")

        old = stack.container("api")
        volume = stack.index_volume(old)
        stack.run("rm", "--stop", "--force", "api")
        stack.start("api")  # and the LLM again, which it depends on
        new = stack.container("api")
        if new == old:
            raise Failed("the api container was not replaced")
        if stack.index_volume(new) != volume:
            raise Failed(f"the new api container mounts {stack.index_volume(new)}, not {volume}")
        say(f"new api container {new[:12]} on the index volume {volume}: {stack.wait_up()}")
        kept = stack.documents("uploaded")
        if kept != uploaded:
            raise Failed(f"after the restart 'uploaded' holds {kept}, not {uploaded}")
        say(f"{len(kept)} documents kept in 'uploaded'")
        stack.ask("uploaded", "llm")
    except BaseException:
        say(f"stack logs:\n{stack.logs()}")
        raise
    finally:
        stack.down()


def cleanup(engine: Engine, made: list[str], keep: bool) -> None:
    if keep:
        say(f"kept: {engine.work} (DOCKER_HOST={engine.env.get('DOCKER_HOST')}, dockerd pid {engine.private_pid})")
        return
    if engine.private_pid is None:
        for image in reversed(made):
            subprocess.run(["docker", "rmi", "--force", image], env=engine.env, capture_output=True)
    engine.stop()
    started = time.monotonic()
    unmount_under(engine.work)
    shutil.rmtree(engine.work, ignore_errors=True)
    say(f"removed {engine.work} in {time.monotonic() - started:.0f} s")


def cmd_run(args: argparse.Namespace) -> int:
    digest = inputs_digest()
    if args.if_changed and digest == verified_digest():
        print(f"docker-test: the Docker inputs match docker/stack-verified ({digest[:12]}): not run.")
        print("docker-test: `make docker-test` runs it anyway.")
        return 0
    if args.if_changed:
        print(f"docker-test: the Docker inputs ({digest[:12]}) differ from docker/stack-verified: running it.")
    tmp_root = Path(os.environ.get("QA_DOCKER_TEST_DIR") or tempfile.gettempdir())
    free_gb = shutil.disk_usage(tmp_root).free / 1e9
    if free_gb < MIN_FREE_GB:
        raise Failed(f"{free_gb:.0f} GB free under {tmp_root}; the images and the engine need {MIN_FREE_GB} GB")
    say(f"load average {load()}, {free_gb:.0f} GB free under {tmp_root}, {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}.", dir=tmp_root))
    engine = Engine(work, work / "scratch")
    made: list[str] = []
    figures: dict[str, Any] = {}

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        say(f"scratch: {scratch_folder(engine.scratch, free_gb)}")
        say(f"engine: {engine.start()}")
        test(engine, args, made, figures)
    finally:
        cleanup(engine, made, args.keep)
    total = time.monotonic() - _started
    summary = (
        f"passed in {total:.0f} s (load {load()}); images: api {figures['api_image_mb']} MB, "
        f"llm {figures['llm_image_mb']} MB"
    )
    write_stamp(digest, summary)
    say(f"docker-test {summary}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="build the images and run the stack")
    run_p.add_argument("--if-changed", action="store_true", help="only when the inputs differ from the verified")
    run_p.add_argument("--base", help="the base image to build on (default: python:3.11-slim or a local Debian)")
    run_p.add_argument("--keep", action="store_true", help="leave the engine, images and folder for a look")
    sub.add_parser("digest", help="print the digest of the Docker inputs and the files it covers")
    args = parser.parse_args(argv)
    if args.command == "digest":
        for name in input_files():
            print(name)
        print(inputs_digest())
        return 0
    try:
        return cmd_run(args)
    except Failed as exc:
        say(f"docker-test FAILED: {exc}")
        return 1
    except KeyboardInterrupt as exc:
        say(f"docker-test interrupted ({exc})")
        return 130


if __name__ == "__main__":
    sys.exit(main())
