"""`POST /v1/ask` latency over a real socket: `qa serve` as a subprocess on 127.0.0.1, extractive answers,
1/8/32 concurrent clients, at the sample corpus and at synthetic 10k / 100k chunk collections.

The large collections hold the real seeds (ingested through the service, so questions have answers) plus
chunks recombined from the seed sentences with embeddings derived from the sentences' real e5 embeddings
(bench/_common.py), written straight through `Collection.apply`: no model encoding of 100k passages.

    .venv/bin/python bench/ask_latency.py                       # sample, 10k, 100k; ~10 min on 2 cores
    .venv/bin/python bench/ask_latency.py --sizes sample --requests 32 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from _common import QUESTIONS, REPO, Report, Timer, build_collection, percentiles, rss_bytes, table


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    index_dir: Path, log_path: Path, extra_env: dict[str, str], launcher: Sequence[str] = ("-m", "qa.cli")
) -> Iterator[tuple[str, int]]:
    """`qa serve` on a free 127.0.0.1 port; yields (base URL, pid) and stops the process afterwards.
    `launcher`: the interpreter arguments that stand for `qa` (ask_profile.py runs it under a profiler)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(
        {
            "QA_INDEX_DIR": str(index_dir),
            "QA_RATE_LIMIT_PER_MINUTE": "0",  # the benchmark is the only client; 429s would hide latency
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            **extra_env,
        }
    )
    # this checkout's `qa` first: a launcher script (ask_profile.py's) would otherwise import whatever checkout the
    # venv's editable install points at
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, *launcher, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def load_level(base: str, questions: list[str], clients: int, requests: int) -> dict[str, object]:
    """`clients` concurrent clients share `requests` asks; returns latencies, errors and server timings."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    found = 0
    retrieve_ms: list[float] = []
    answer_ms: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:

        async def worker() -> None:
            nonlocal found
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t = Timer()
                try:
                    resp = await client.post("/v1/ask", json={"question": questions[i % len(questions)]})
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(t.s)
                if resp.status_code != 200:
                    errors[str(resp.status_code)] = errors.get(str(resp.status_code), 0) + 1
                    continue
                body = resp.json()
                found += bool(body.get("found"))
                timings = body.get("timings_ms", {})
                retrieve_ms.append(float(timings.get("retrieve", "nan")))
                answer_ms.append(float(timings.get("answer", "nan")))

        t = Timer()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = t.s
    p50, p95, p99 = percentiles(latencies)
    ok = requests - sum(errors.values())
    return {
        "ok": ok,
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "rps": ok / wall,
        "errors": ", ".join(f"{k}×{v}" for k, v in errors.items()) or "0",
        "found": found / max(ok, 1),
        "retrieve": percentiles([x / 1000 for x in retrieve_ms], (50,))[0],
        "answer": percentiles([x / 1000 for x in answer_ms], (50,))[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="sample,10000,100000", help="'sample' and/or total chunk counts")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--requests", type=int, default=96, help="asks per concurrency level (shared by clients)")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="KEY=VALUE", help="extra environment for qa serve"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="server settings to compare on the same collections in the same run (repeatable; on top of --server-env)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()
    # the process set-up `qa` does at start (thread pools, offline switches), so figures match the service
    from qa.runtime import configure_process

    configure_process(torch_model=True)
    report = Report("/v1/ask latency (extractive, real socket)")
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    variants: list[tuple[str, dict[str, str]]] = []
    for spec in args.variant or ["default:"]:
        name, _, settings = spec.partition(":")
        variants.append((name, {**extra_env, **dict(kv.split("=", 1) for kv in settings.split(",") if kv)}))
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    levels = [int(c) for c in args.concurrency.split(",")]
    rows: list[list[object]] = []
    builds: list[str] = []
    with tempfile.TemporaryDirectory(prefix="qa-bench-ask-") as tmp:
        for size in args.sizes.split(","):
            index_dir = Path(tmp) / size
            timings = build_collection(index_dir, 0 if size == "sample" else int(size))
            chunks = int(timings["chunks"])
            builds.append(
                f"{size}: {chunks:,} chunks (seed ingest {timings['seed_ingest_s']:.1f} s, "
                f"synthetic build {timings['synthetic_build_s']:.1f} s)"
            )
            for variant, env in variants:
                with serve(index_dir, Path(tmp) / f"server-{size}-{variant}.log", env) as (base, pid):
                    t = Timer()
                    for q in questions[:3]:  # warm-up: model, collection and FAISS load on first use
                        resp = httpx.post(f"{base}/v1/ask", json={"question": q}, timeout=300)
                        if resp.status_code != 200:
                            log_tail = (Path(tmp) / f"server-{size}-{variant}.log").read_text()[-4000:]
                            raise RuntimeError(f"warm-up ask failed: {resp.status_code} {resp.text}\n{log_tail}")
                    warm_s = t.s
                    for clients in levels:
                        r = asyncio.run(load_level(base, questions, clients, args.requests))
                        rows.append(
                            [
                                variant,
                                f"{chunks:,}",
                                clients,
                                args.requests,
                                r["p50"],
                                r["p95"],
                                r["p99"],
                                r["rps"],
                                r["errors"],
                                r["found"],
                                r["retrieve"],
                                r["answer"],
                                round(rss_bytes(pid) / 2**20),
                                f"{os.getloadavg()[0]:.2f}",
                            ]
                        )
                        print(rows[-1], flush=True)
                    builds[-1] += f", first 3 asks (warm-up, {variant}) {warm_s:.1f} s"
    settings = "; ".join(f"{n}: {', '.join(f'{k}={v}' for k, v in e.items()) or 'defaults'}" for n, e in variants)
    report.add(
        f"Questions: {len(questions)} from {QUESTIONS.relative_to(REPO)}, cycled. Variants: {settings}. "
        "Collections: " + "; ".join(builds)
    )
    report.add(
        table(
            [
                "variant",
                "chunks",
                "clients",
                "requests",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "req/s",
                "errors",
                "found share",
                "server retrieve p50 ms",
                "server answer p50 ms",
                "server RSS MiB",
                "load average (1 min) after",
            ],
            rows,
        )
    )
    report.finish(write=not args.no_write)


if __name__ == "__main__":
    main()
