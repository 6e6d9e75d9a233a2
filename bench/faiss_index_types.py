"""FAISS index types at collection scale: recall@10 against exact search, single-query latency, build cost,
memory, and whether ids can be removed (the service deletes documents without rebuilding).

Vectors: real multilingual-e5-small embeddings of the sample corpus's sentences, recombined and perturbed
(see bench/_common.py `synthetic_vectors`); queries are drawn the same way. Ground truth is exact inner
product search (IndexFlatIP) over all vectors for `--queries` queries.

    .venv/bin/python bench/faiss_index_types.py                       # 100k and 1M, ~10 min on 2 cores
    .venv/bin/python bench/faiss_index_types.py --sizes 20000 --no-write  # quick look
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import math
from collections.abc import Callable

import faiss
import numpy as np
from _common import Report, Timer, percentiles, rss_bytes, seed_sentences, synthetic_vectors, table

K = 10


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0].tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def single_query_latency(index: faiss.Index, queries: np.ndarray, n: int) -> list[float]:
    for q in queries[:5]:  # warm caches
        index.search(q[None, :], K)
    times: list[float] = []
    for q in queries[:n]:
        t = Timer()
        index.search(q[None, :], K)
        times.append(t.s)
    return times


def release_memory() -> None:
    """Hand freed heap back to the OS so RSS deltas measure the index just built, not allocator reuse."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def removal(index: faiss.Index, ids: np.ndarray) -> str:
    try:
        t = Timer()
        # faiss's Python wrapper takes an id array as well as an IDSelector; its type stubs know only the latter
        removed = index.remove_ids(ids)  # type: ignore[arg-type]
        return f"yes ({removed} ids in {t.s * 1000:.1f} ms)"
    except RuntimeError as exc:
        return "no: " + str(exc).strip().splitlines()[-1][:60]


def run_size(n: int, args: argparse.Namespace, base: np.ndarray, rng: np.random.Generator, report: Report) -> None:
    nprobes = [int(x) for x in args.nprobes.split(",")]
    efs = [int(x) for x in args.ef_search.split(",")]
    t = Timer()
    data = synthetic_vectors(base, n, rng, noise=args.noise)
    queries = synthetic_vectors(base, args.queries, rng, noise=args.noise)
    dim = data.shape[1]
    ids = np.arange(n, dtype=np.int64)
    gen_s = t.s
    rows: list[list[object]] = []
    lat_n = args.latency_queries if n < args.large else max(30, args.latency_queries // 2)

    def measure(
        name: str,
        build: Callable[[], faiss.Index],
        sweep: list[tuple[str, Callable[[faiss.Index], None]]],
        truth: np.ndarray | None,
    ) -> tuple[faiss.Index, np.ndarray | None]:
        release_memory()
        rss0 = rss_bytes()
        t = Timer()
        index = build()
        build_s = t.s
        rss_delta = rss_bytes() - rss0
        size = faiss.serialize_index(index).size
        for label, configure in sweep:
            configure(index)
            _, found = index.search(queries, K)
            if truth is None:
                truth = found
            lat = percentiles(single_query_latency(index, queries, lat_n), (50, 95))
            rows.append(
                [
                    name,
                    label,
                    round(recall_at_k(found, truth), 3),
                    round(lat[0], 2),
                    round(lat[1], 2),
                    round(build_s, 1),
                    round(size / 2**20, 1),
                    round(rss_delta / 2**20, 1),
                ]
            )
        rows[-1].append(removal(index, ids[:100]))
        return index, truth

    # exact: the ground truth and the baseline
    def build_flat() -> faiss.Index:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        index.add_with_ids(data, ids)
        return index

    flat, truth = measure("Flat (IDMap2)", build_flat, [("exact", lambda i: None)], None)
    del flat
    assert truth is not None

    kinds = set(args.kinds.split(","))
    if "hnsw" in kinds and n <= args.hnsw_max:

        def build_hnsw() -> faiss.Index:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 40
            index.add(data)
            return index

        def set_ef(ef: int) -> Callable[[faiss.Index], None]:
            def apply(index: faiss.Index) -> None:
                index.hnsw.efSearch = ef  # type: ignore[attr-defined]  # an IndexHNSWFlat, typed as its base

            return apply

        hnsw, _ = measure("HNSW32", build_hnsw, [(f"efSearch={e}", set_ef(e)) for e in efs], truth)
        del hnsw

    factors = args.large_nlist_factors if n >= args.large else args.nlist_factors
    for factor in [float(f) for f in factors.split(",")]:
        nlist = max(1, round(factor * math.sqrt(n)))
        sample = data[rng.choice(n, size=min(n, args.train_per_list * nlist), replace=False)]

        def set_nprobe(p: int) -> Callable[[faiss.Index], None]:
            def apply(index: faiss.Index) -> None:
                index.nprobe = p  # type: ignore[attr-defined]  # an IndexIVF, typed as its base

            return apply

        sweep = [(f"nprobe={p}", set_nprobe(p)) for p in nprobes if p <= nlist]

        def build_ivf(pq: bool, nlist: int = nlist, sample: np.ndarray = sample) -> faiss.Index:
            quantizer = faiss.IndexFlatIP(dim)
            index: faiss.IndexIVF
            if pq:
                index = faiss.IndexIVFPQ(quantizer, dim, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
            else:
                index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.niter = 10
            index.cp.max_points_per_centroid = args.train_per_list
            index.train(sample)
            # needed for remove_ids + reconstruct (faiss's type stubs leave DirectMap out)
            index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
            index.add_with_ids(data, ids)
            return index

        label = f"{factor:g}·sqrt(N)={nlist}"
        if "ivf" in kinds:
            ivf, _ = measure(f"IVF-Flat nlist={label}", lambda: build_ivf(False), sweep, truth)
            del ivf
        if "ivfpq" in kinds:
            ivfpq, _ = measure(f"IVF-PQ48 nlist={label}", lambda: build_ivf(True), sweep, truth)
            del ivfpq

    report.add(
        f"### N = {n:,} vectors ({len(queries)} queries for recall, {lat_n} timed single queries; "
        f"data generated in {gen_s:.1f} s)\n\n"
        + table(
            [
                "index",
                "setting",
                "recall@10",
                "p50 ms",
                "p95 ms",
                "build/train s",
                "serialized MiB",
                "RSS delta MiB",
                "remove_ids",
            ],
            [r + [""] * (9 - len(r)) for r in rows],
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated collection sizes")
    parser.add_argument("--queries", type=int, default=200, help="queries for recall (ground truth is exact)")
    parser.add_argument("--latency-queries", type=int, default=100, help="single queries timed per setting")
    parser.add_argument("--kinds", default="flat,hnsw,ivf,ivfpq", help="which index types to measure")
    parser.add_argument("--nprobes", default="1,4,8,16,32,64,100")
    parser.add_argument("--ef-search", default="16,32,64,128")
    parser.add_argument("--nlist-factors", default="1,4", help="IVF nlist = factor*sqrt(N), below --large")
    parser.add_argument("--large-nlist-factors", default="1", help="IVF nlist factors at N >= --large")
    parser.add_argument("--large", type=int, default=500_000)
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="skip HNSW above this size (build cost)")
    parser.add_argument("--train-per-list", type=int, default=50, help="k-means training points per IVF list")
    parser.add_argument("--noise", type=float, default=0.01, help="per-component noise on synthetic vectors")
    parser.add_argument(
        "--threads", type=int, default=1, help="OpenMP threads (1: stable on a shared 2-core box; 0: faiss default)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()

    if args.threads > 0:
        faiss.omp_set_num_threads(args.threads)
    report = Report("FAISS index types")
    report.add(
        f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP threads, dim 384, k={K}, "
        f"synthetic noise {args.noise} per component"
    )
    seeds = seed_sentences()
    rng = np.random.default_rng(args.seed)

    for n in [int(x) for x in args.sizes.split(",")]:
        run_size(n, args, seeds.vectors, rng, report)
        release_memory()
    report.finish(write=not args.no_write)


if __name__ == "__main__":
    main()
