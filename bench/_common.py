"""Shared helpers for the benchmarks: machine description, RESULTS.md, realistic synthetic data.

Synthetic collections are built from the real sample corpus: its sentences, embedded once with the real
e5 model, are recombined into new passages whose embeddings are the normalized mean of their sentences'
embeddings plus noise. That keeps BM25 statistics, extractive answers and the geometry of the vectors close to
a real Chinese collection without encoding 100k passages through the model (hours on 2 cores).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qa.index.docstore import NewChunks
    from qa.types import Document

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "data" / "seeds"
RESULTS = REPO / "bench" / "RESULTS.md"
CACHE = REPO / "bench" / ".cache"
QUESTIONS = REPO / "evals" / "sample_qa.jsonl"


# -- machine and reporting ---------------------------------------------------------------------------------
def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size from /proc (no psutil dependency)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def machine() -> str:
    """One line naming the machine and how busy it was: the box is shared, so the load is part of the figure."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc={os.cpu_count()}, CPU {cpu}, RAM {mem_kb / 1024**2:.1f} GiB, load average {load}, "
        f"Python {platform.python_version()}"
    )


def command_line() -> str:
    return ".venv/bin/python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]])


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    """Collects a benchmark's output, prints it, and appends it to bench/RESULTS.md as one section."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.machine_before = machine()
        self.parts: list[str] = []

    def add(self, text: str) -> None:
        print(text, flush=True)
        self.parts.append(text)

    def finish(self, write: bool = True) -> None:
        head = [
            f"## {self.title} — {self.started}",
            "",
            f"Reproduce: `{command_line()}`",
            "",
            f"- Machine at start: {self.machine_before}",
            f"- Machine at end: {machine()}",
            "",
        ]
        section = "\n".join(head) + "\n" + "\n\n".join(self.parts) + "\n\n"
        print("\n".join(head[2:6]), flush=True)
        if write:
            if not RESULTS.exists():
                RESULTS.write_text("# Benchmark results\n\nEach section is appended by the script it names.\n\n")
            with open(RESULTS, "a", encoding="utf-8") as fh:
                fh.write(section)


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def s(self) -> float:
        return time.perf_counter() - self.start


def percentiles(values_s: Sequence[float], qs: Sequence[float] = (50, 95, 99)) -> list[float]:
    """Percentiles in milliseconds."""
    if not values_s:
        return [float("nan")] * len(qs)
    arr = np.asarray(values_s) * 1000.0
    return [float(np.percentile(arr, q)) for q in qs]


# -- seed sentences and their real embeddings ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SeedSentences:
    titles: list[str]  # title of the document each sentence comes from
    sentences: list[str]
    doc_of: np.ndarray  # sentence index -> document index
    vectors: np.ndarray  # real e5 passage embeddings, (n, dim), normalized


def _seed_documents() -> list[tuple[str, str]]:
    from qa.ingest import find_files, load_file

    docs = [load_file(p) for p in find_files([SEEDS])]
    return [(d.title, d.text) for d in docs]


def seed_sentences(model_name: str | None = None) -> SeedSentences:
    """The sample corpus split into sentences, embedded once with the real model and cached under bench/.cache."""
    from qa.chunk.sentences import split_sentences
    from qa.config import Settings

    settings = Settings() if model_name is None else Settings(embedding_model=model_name)
    titles: list[str] = []
    sentences: list[str] = []
    doc_of: list[int] = []
    for i, (title, text) in enumerate(_seed_documents()):
        titles.append(title)
        for start, end in split_sentences(text):
            if end - start >= 4:
                sentences.append(text[start:end])
                doc_of.append(i)
    key = hashlib.sha1(("\n".join(sentences) + settings.embedding_model).encode()).hexdigest()[:16]
    cache = CACHE / f"seed-sentences-{key}.npy"
    if cache.exists():
        vectors = np.load(cache)
    else:
        from qa.embed.sentence_transformer import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder(settings)
        vectors = embedder.embed_passages(sentences, [titles[d] for d in doc_of])
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    return SeedSentences(titles, sentences, np.asarray(doc_of), np.ascontiguousarray(vectors, dtype=np.float32))


def normalize(m: np.ndarray) -> np.ndarray:
    m = np.ascontiguousarray(m, dtype=np.float32)
    m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    return m


def synthetic_vectors(
    base: np.ndarray, n: int, rng: np.random.Generator, *, noise: float = 0.01, random_share: float = 0.05
) -> np.ndarray:
    """`n` unit vectors shaped like real passage embeddings.

    Most are the normalized mean of 2-6 random real sentence embeddings plus Gaussian noise (a passage is
    roughly the mean of its sentences, and recombination gives a continuous, anisotropic cloud rather than a
    few tight clusters that would flatter IVF); `random_share` are isotropic random vectors (outliers).
    """
    dim = base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    step = 50_000
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        m = hi - lo
        k = rng.integers(2, 7, size=m)
        picks = rng.integers(0, len(base), size=(m, 6))
        weights = rng.random((m, 6)).astype(np.float32) * (np.arange(6)[None, :] < k[:, None])
        mixed = np.einsum("ij,ijk->ik", weights, base[picks])
        mixed = normalize(mixed)
        mixed += rng.normal(0.0, noise, size=(m, dim)).astype(np.float32)
        outliers = rng.random(m) < random_share
        mixed[outliers] = rng.normal(size=(int(outliers.sum()), dim)).astype(np.float32)
        out[lo:hi] = normalize(mixed)
    return out


# -- synthetic collections ------------------------------------------------------------------------------------
def synthetic_documents(
    seeds: SeedSentences, n_chunks: int, rng: np.random.Generator, *, chunks_per_doc: int = 10
) -> Iterator[tuple[Document, NewChunks]]:
    """Yield (Document, NewChunks) pairs totalling `n_chunks` chunks, recombined from the seed sentences.

    Each chunk is 3-6 consecutive-or-random seed sentences; its FTS terms are the seed sentences' terms
    (computed once: jieba segments at punctuation, so terms of a join ≈ join of terms) and its embedding the
    normalized mean of the sentences' real embeddings plus noise.
    """
    from qa.index.docstore import NewChunks
    from qa.index.keyword import index_text
    from qa.types import Chunk, Document

    sentence_terms = [index_text(s) for s in seeds.sentences]
    n_sent = len(seeds.sentences)
    dim = seeds.vectors.shape[1]
    made = 0
    doc_no = 0
    while made < n_chunks:
        count = min(chunks_per_doc, n_chunks - made)
        doc_id = f"syn-{doc_no:07d}"
        theme = int(rng.integers(0, len(seeds.titles)))
        parts: list[str] = []
        spans: list[tuple[int, int]] = []
        terms: list[str] = []
        vecs = np.empty((count, dim), dtype=np.float32)
        pos = 0
        for c in range(count):
            k = int(rng.integers(3, 7))
            # half the time a run of consecutive sentences (coherent passage), else a random mix
            if rng.random() < 0.5:
                first = int(rng.integers(0, n_sent - k))
                idx = list(range(first, first + k))
            else:
                idx = [int(i) for i in rng.integers(0, n_sent, size=k)]
            text = "".join(seeds.sentences[i] for i in idx)
            parts.append(text)
            spans.append((pos, pos + len(text)))
            pos += len(text) + 1  # joined with "\n"
            terms.append(" ".join(sentence_terms[i] for i in idx))
            mean = seeds.vectors[idx].mean(axis=0)
            vecs[c] = mean / max(float(np.linalg.norm(mean)), 1e-12) + rng.normal(0.0, 0.01, size=dim)
        full = "\n".join(parts)
        title = f"{seeds.titles[theme]}（汇编 {doc_no}）"
        chunks = [Chunk(doc_id, o, s, e, full[s:e]) for o, (s, e) in enumerate(spans)]
        document = Document(doc_id, f"synthetic/{doc_id}.txt", title, full, hashlib.sha1(full.encode()).hexdigest())
        yield document, NewChunks(chunks, terms, normalize(vecs))
        made += count
        doc_no += 1


def build_collection(index_dir: Path, n_chunks: int, *, seed: int = 0, with_seeds: bool = True) -> dict[str, float]:
    """An index dir whose `default` collection holds `n_chunks` chunks: the real seeds (ingested through the
    service, which loads the model) unless `with_seeds` is false, plus synthetic chunks. Returns timings."""
    from qa.config import Settings
    from qa.index import Collection, DocumentChange
    from qa.service import QAService

    settings = Settings(index_dir=index_dir)
    timings: dict[str, float] = {"seed_ingest_s": 0.0}
    seeds = seed_sentences()
    real = 0
    service: QAService | None = None
    if with_seeds:
        t = Timer()
        service = QAService(settings)
        real = service.ingest_paths([SEEDS], settings.collection).chunks
        timings["seed_ingest_s"] = t.s
        coll = service.collections.get(settings.collection)
    else:
        dim = int(seeds.vectors.shape[1])
        coll = Collection(
            settings.collection,
            settings.collection_dir(settings.collection),
            model_name=settings.embedding_model,
            dim=lambda: dim,
        )
    rng = np.random.default_rng(seed)
    t = Timer()
    batch: list[DocumentChange] = []
    pending = 0
    for document, new in synthetic_documents(seeds, max(0, n_chunks - real), rng):
        batch.append(DocumentChange(document, new))
        pending += len(new.chunks)
        if pending >= 20_000:
            coll.apply(batch)
            batch, pending = [], 0
    coll.apply(batch)
    coll.checkpoint()
    timings["synthetic_build_s"] = t.s
    timings["chunks"] = float(coll.stats()["chunks"])
    if service is not None:
        service.close()
    else:
        coll.close()
    return timings
