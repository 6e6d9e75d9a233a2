"""Where the CPU of `POST /v1/ask` goes under concurrent load: a per-stage CPU profile of the real server.

`qa serve` runs as a subprocess on 127.0.0.1 with a CPU clock on each stage (bench/_profiled_serve.py: the
calling thread's CPU inside each stage's functions). After a warm-up, `--clients` concurrent clients share
`--requests` asks (extractive); the snapshot taken after the warm-up is subtracted from the one taken after the
load, and the CPU of each stage is divided by the requests served:

- question analysis (its keyword-search terms included); query embedding (`embed_query`, and the batch encode
  when queries are micro-batched);
- keyword search (the BM25 index);
- dense search (FAISS), fusion, hydration (reading the winning chunks), the rest of retrieval;
- widening (the sentences around the retrieved chunks), the answer (the extractive answerer);
- request and response models (FastAPI validating the body and the reply, writing the JSON);
- event loop, HTTP and the rest: the process's CPU less the stages (uvicorn, middleware, routing, asyncio);
- the answer worker processes (`QA_ANSWER_PROCESSES`), whole: where the answer stage runs when they are on.

The clocks cost a few microseconds a call, so the latencies here are close to bench/ask_latency.py's. Each
`--variant NAME:KEY=VALUE,...` runs the server with those settings on the same collection in the same run, so
variants compare as ratios on the same machine state.

    .venv/bin/python bench/ask_profile.py --sizes 100000 --variant before:QA_EMBED_BACKEND=torch
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import QUESTIONS, REPO, Report, build_collection, table
from _profiled_serve import STAGES
from ask_latency import load_level, serve

# the functions retrieval (`HybridRetriever.run`) calls on its own thread: the rest of its CPU is "retrieval, other"
_INSIDE_RETRIEVAL = (
    "qa.embed.prompted:PromptedEmbedder.embed_query",
    "qa.index.collection:Collection.keyword_search",
    "qa.index.collection:Collection.dense_search",
    "qa.retrieve:HybridRetriever._fuse",
    "qa.retrieve:HybridRetriever._hydrate",
)
_RETRIEVAL = "qa.retrieve:HybridRetriever.run"

Snapshot = dict[str, Any]


def _load(path: Path, timeout: float = 60.0) -> Snapshot:
    deadline = time.monotonic() + timeout
    while not path.exists():  # written to a temporary name and renamed: complete once it exists
        if time.monotonic() > deadline:
            raise RuntimeError(f"the profiled server wrote no snapshot {path}")
        time.sleep(0.1)
    return json.loads(path.read_text(encoding="utf-8"))


def _cpu_s(after: Snapshot, before: Snapshot, key: str) -> float:
    return float(after["functions"][key][0] - before["functions"][key][0]) / 1e9


def profile_variant(
    index_dir: Path, tmp: Path, name: str, env: dict[str, str], questions: list[str], clients: int, requests: int
) -> dict[str, object]:
    prefix = tmp / f"profile-{name}"
    launcher = (str(REPO / "bench" / "_profiled_serve.py"), str(prefix))
    with serve(index_dir, tmp / f"server-{name}.log", env, launcher) as (base, pid):
        for q in questions[:8]:  # warm-up: model, collection, FAISS, the keyword index
            resp = httpx.post(f"{base}/v1/ask", json={"question": q}, timeout=300)
            resp.raise_for_status()
        os.kill(pid, signal.SIGUSR1)
        before = _load(Path(f"{prefix}.1"))
        load_avg = os.getloadavg()[0]
        result = asyncio.run(load_level(base, questions, clients, requests))
        os.kill(pid, signal.SIGUSR1)
        after = _load(Path(f"{prefix}.2"))
    served = max(1, int(result["ok"]))  # type: ignore[call-overload]
    stages = {stage: sum(_cpu_s(after, before, f"{m}:{p}") for m, p in targets) for stage, targets in STAGES.items()}
    retrieval = stages.pop("retrieval")
    stages["retrieval, other"] = max(0.0, retrieval - sum(_cpu_s(after, before, key) for key in _INSIDE_RETRIEVAL))
    process_cpu = float(after["cpu_s"]) - float(before["cpu_s"])
    stages["event loop, HTTP, rest"] = max(0.0, process_cpu - sum(stages.values()))
    stages["answer worker processes"] = float(after["children_cpu_s"]) - float(before["children_cpu_s"])
    return {
        "served": served,
        "ms": {k: v * 1000 / served for k, v in stages.items()},
        "process_ms": process_cpu * 1000 / served,
        "total_ms": (process_cpu + stages["answer worker processes"]) * 1000 / served,
        "latency": result,
        "load": load_avg,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="'sample' and/or total chunk counts")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=160)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="server settings to profile (repeatable); default: one variant with the defaults",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()
    from qa.runtime import configure_process

    configure_process(torch_model=True)
    variants: list[tuple[str, dict[str, str]]] = []
    for spec in args.variant or ["default:"]:
        name, _, settings = spec.partition(":")
        variants.append((name, dict(kv.split("=", 1) for kv in settings.split(",") if kv)))
    report = Report(f"/v1/ask CPU profile by stage ({args.clients} clients)")
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    with tempfile.TemporaryDirectory(prefix="qa-bench-profile-") as tmp_name:
        tmp = Path(tmp_name)
        for size in args.sizes.split(","):
            index_dir = tmp / size
            timings = build_collection(index_dir, 0 if size == "sample" else int(size))
            chunks = int(timings["chunks"])
            results = []
            for name, env in variants:
                results.append(profile_variant(index_dir, tmp, name, env, questions, args.clients, args.requests))
                print(name, json.dumps(results[-1], default=str), flush=True)
            names = [n for n, _ in variants]
            rows: list[list[object]] = []
            rest = ["retrieval, other", "event loop, HTTP, rest"]
            for stage in [*(s for s in STAGES if s != "retrieval"), *rest]:
                rows.append([stage, *[r["ms"][stage] for r in results]])  # type: ignore[index]
            rows.append(["**server process CPU**", *[r["process_ms"] for r in results]])
            rows.append(["answer worker processes", *[r["ms"]["answer worker processes"] for r in results]])  # type: ignore[index]
            rows.append(["**all CPU**", *[r["total_ms"] for r in results]])
            lat = [r["latency"] for r in results]
            rows.append(["p50 / p95 ms with the clocks", *[f"{x['p50']:.0f} / {x['p95']:.0f}" for x in lat]])  # type: ignore[index]
            rows.append(["req/s with the clocks", *[x["rps"] for x in lat]])  # type: ignore[index]
            rows.append(["errors", *[x["errors"] for x in lat]])  # type: ignore[index]
            rows.append(["load average (1 min) at the start of the load", *[r["load"] for r in results]])
            settings = "; ".join(
                f"{n}: {', '.join(f'{k}={v}' for k, v in e.items()) or 'defaults'}" for n, e in variants
            )
            report.add(
                f"{chunks:,} chunks; {args.requests} asks from {QUESTIONS.relative_to(REPO)} shared by "
                f"{args.clients} clients after 8 warm-up asks; CPU ms per request by stage. Variants: {settings}."
            )
            report.add(table(["stage (CPU ms / request)", *names], rows))
    report.finish(write=not args.no_write)


if __name__ == "__main__":
    main()
