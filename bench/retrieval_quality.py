"""Retrieval quality of the speed changes, all in one run: hit@1 / hit@5 (distinct documents, as `qa eval`
counts them) of dense, BM25 and fused retrieval, for each embedding backend and each keyword tokenizer.

Datasets: the golden seeds questions and evals/sample_qa.jsonl over data/seeds, CMRC 2018 trial
(../shared/datasets/cmrc2018-trial, 1,000 questions over 256 passages) and the same set in traditional script
(OpenCC s2twp of its passages and questions, made here once into bench/.cache/).

Each corpus is ingested through the service once per embedding backend; the rest reuses those collections:
- embedding: fp32 (sentence-transformers, torch) for passages and questions (before), int8 (the ONNX build)
  for both, and fp32 passages with int8 questions (the defaults: QA_PASSAGE_EMBED_BACKEND=torch,
  QA_EMBED_BACKEND=onnx-int8);
- keyword: the former index (SQLite FTS5 over Python jieba's search-mode terms of NFKC-lower-cased text), the
  in-memory BM25 index over those same terms, over rjieba's terms, and over rjieba's terms of folded text
  (`qa.text.fold`: traditional → simplified), which is what `qa.segment.index_terms` makes now.
Fused rankings use the service's own weighted RRF (QA_RRF_*), 10 passages deep.

    .venv/bin/python bench/retrieval_quality.py                 # ~10 min on 2 busy cores
    .venv/bin/python bench/retrieval_quality.py --datasets golden,sample --no-write
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import CACHE, REPO, SEEDS, Report, Timer, table

DEPTH = 10
CMRC = REPO.parent / "shared" / "datasets" / "cmrc2018-trial"
GOLDEN = REPO.parent / "shared" / "golden" / "seed_qa.jsonl"


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    corpus: Path
    questions: Path


def traditional_cmrc() -> Path:
    """CMRC 2018 trial in traditional script (OpenCC s2twp: Taiwan standard with its phrasing), made once."""
    import opencc

    out = CACHE / "cmrc2018-trial-s2twp"
    if (out / "questions.jsonl").is_file():
        return out
    convert = opencc.OpenCC("s2twp").convert
    (out / "corpus").mkdir(parents=True, exist_ok=True)
    for path in sorted((CMRC / "corpus").glob("*.txt")):
        (out / "corpus" / path.name).write_text(convert(path.read_text(encoding="utf-8")), encoding="utf-8")
    lines = []
    for line in (CMRC / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            item["question"] = convert(item["question"])
            item["answers"] = [convert(a) for a in item.get("answers", [])]
            lines.append(json.dumps(item, ensure_ascii=False))
    (out / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def datasets(names: Sequence[str]) -> list[tuple[str, Dataset]]:
    known = {
        "golden": lambda: Dataset("golden (seeds)", SEEDS, GOLDEN),
        "sample": lambda: Dataset("sample_qa (seeds)", SEEDS, REPO / "evals" / "sample_qa.jsonl"),
        "cmrc": lambda: Dataset("cmrc2018-trial", CMRC / "corpus", CMRC / "questions.jsonl"),
        "cmrc-trad": lambda: Dataset(
            "cmrc2018-trial traditional (s2twp)",
            traditional_cmrc() / "corpus",
            traditional_cmrc() / "questions.jsonl",
        ),
    }
    return [(n, known[n]()) for n in names]


# -- the keyword tokenizers compared ------------------------------------------------------------------------
def _jieba_terms() -> Callable[[str], list[str]]:
    """The former `index_terms`: Python jieba's search mode over NFKC, lower-cased text."""
    import logging

    import jieba

    from qa.segment import STOP_WORDS

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()

    def terms(text: str) -> list[str]:
        normalized = unicodedata.normalize("NFKC", text).lower()
        out = []
        for token in tokenizer.cut_for_search(normalized):
            token = token.strip()
            if token and token not in STOP_WORDS and any(ch.isalnum() or ch == "_" for ch in token):
                out.append(token)
        return out

    return terms


def _rjieba_unfolded_terms(text: str) -> list[str]:
    import rjieba

    from qa.segment import STOP_WORDS

    out = []
    for token in rjieba.cut_for_search(unicodedata.normalize("NFKC", text).lower()):
        token = token.strip()
        if token and token not in STOP_WORDS and any(ch.isalnum() or ch == "_" for ch in token):
            out.append(token)
    return out


class Fts5Keyword:
    """The former keyword index: FTS5's bm25() over space-joined terms, OR of the quoted query terms."""

    def __init__(self, rows: Sequence[tuple[int, str]], terms: Callable[[str], list[str]]) -> None:
        self._terms = terms
        self._conn = sqlite3.connect(":memory:")
        self._conn.execute("CREATE VIRTUAL TABLE t USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')")
        self._conn.executemany("INSERT INTO t(rowid, terms) VALUES (?, ?)", [(c, " ".join(terms(x))) for c, x in rows])

    def search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        unique = list(dict.fromkeys(query_terms))
        if not unique:
            return []
        expr = " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)
        rows = self._conn.execute("SELECT rowid, bm25(t) s FROM t WHERE t MATCH ? ORDER BY s LIMIT ?", (expr, k))
        return [(int(r[0]), -float(r[1])) for r in rows]


class MemoryKeyword:
    def __init__(self, rows: Sequence[tuple[int, str]], terms: Callable[[str], list[str]]) -> None:
        from qa.index.keyword import KeywordIndex

        self._index = KeywordIndex()
        for chunk_id, text in rows:
            self._index.add(chunk_id, terms(text))

    def search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        return self._index.search(query_terms, k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="golden,sample,cmrc,cmrc-trad")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()
    from qa.runtime import configure_process

    configure_process(torch_model=True)
    from qa.config import Settings
    from qa.eval.metrics import doc_matches
    from qa.query import analyze
    from qa.segment import index_terms
    from qa.service import QAService

    report = Report("Retrieval quality: embedding backends and keyword tokenizers")
    jieba_terms = _jieba_terms()
    tokenizers: dict[str, Callable[[str], list[str]]] = {
        "jieba": jieba_terms,
        "rjieba": _rjieba_unfolded_terms,
        "rjieba+fold": index_terms,
    }
    keyword_variants = [
        ("FTS5, jieba (before)", "fts5", "jieba"),
        ("memory BM25, jieba", "memory", "jieba"),
        ("memory BM25, rjieba", "memory", "rjieba"),
        ("memory BM25, rjieba+fold (after)", "memory", "rjieba+fold"),
    ]
    combos = [
        ("fp32 (before)", "torch", "torch"),
        ("int8 passages and queries", "onnx-int8", "onnx-int8"),
        ("fp32 passages, int8 queries (after: the defaults)", "torch", "onnx-int8"),
    ]

    with tempfile.TemporaryDirectory(prefix="qa-bench-quality-") as tmp:
        services = {
            backend: QAService(Settings(index_dir=Path(tmp) / backend, embed_backend=backend, query_batch_window_ms=-1))
            for backend in ("torch", "onnx-int8")
        }
        for name, ds in datasets(args.datasets.split(",")):
            items = [json.loads(x) for x in ds.questions.read_text(encoding="utf-8").splitlines() if x.strip()]
            items = [x for x in items if x.get("docs") and not x.get("unanswerable")]
            collections = {}
            ingest_s = {}
            for backend, service in services.items():
                t = Timer()
                service.ingest_paths([ds.corpus], name)
                ingest_s[backend] = t.s
                collections[backend] = service.collections.get(name)
            coll = collections["torch"]
            rows = [r for batch in coll.store.chunk_texts() for r in batch]  # type: ignore[attr-defined]
            info = coll.chunks([c for c, _ in rows])
            keyword = {
                label: (Fts5Keyword if engine == "fts5" else MemoryKeyword)(rows, tokenizers[tok])
                for label, engine, tok in keyword_variants
            }
            # the int8 collection holds the same chunks under the same ids (same text, same order)
            int8_rows = [r for batch in collections["onnx-int8"].store.chunk_texts() for r in batch]  # type: ignore[attr-defined]
            assert [t for _, t in int8_rows] == [t for _, t in rows], "the two ingests chunked differently"
            id_map = {a: b for (a, _), (b, _) in zip(int8_rows, rows, strict=True)}
            retriever = services["torch"].retriever
            scores: dict[str, list[tuple[float, float]]] = {}

            def record(
                label: str, ranking: Sequence[tuple[int, float]], wanted: set[str], info=info, scores=scores
            ) -> None:
                seen: set[str] = set()
                relevant: list[bool] = []  # one entry a distinct document, in ranking order
                for chunk_id, _ in ranking:
                    chunk = info.get(chunk_id)
                    if chunk is None or chunk.doc_id in seen:
                        continue
                    seen.add(chunk.doc_id)
                    relevant.append(doc_matches(chunk.doc_id, chunk.source, wanted))
                scores.setdefault(label, []).append((float(any(relevant[:1])), float(any(relevant[:5]))))

            t = Timer()
            for item in items:
                question, wanted = item["question"], set(item["docs"])
                dense = {}
                for label, passages, queries in combos:
                    simplify = collections[passages].embeds_simplified
                    vector = services[queries].embedder.embed_query(question, simplify=simplify)
                    found = collections[passages].dense_search(vector, DEPTH * 3)
                    dense[label] = [(id_map.get(c, c) if passages == "onnx-int8" else c, s) for c, s in found]
                    record(f"dense, {label}", dense[label][:DEPTH], wanted)
                # an English question's translated words, as the service's keyword search adds them
                cross = list(analyze(question).expansions)
                for label, _engine, tok in keyword_variants:
                    bm25 = keyword[label].search(tokenizers[tok](question) + cross, DEPTH * 3)
                    record(f"BM25, {label}", bm25[:DEPTH], wanted)
                    for combo, _, _ in combos:
                        fused = retriever._fuse(dense[combo], bm25)[:DEPTH]
                        record(f"fused, {combo}; {label}", [(c.chunk_id, c.score) for c in fused], wanted)
            search_s = t.s
            table_rows = [
                [label, f"{sum(h1 for h1, _ in v) / len(v):.3f}", f"{sum(h5 for _, h5 in v) / len(v):.3f}"]
                for label, v in scores.items()
            ]
            report.add(
                f"### {ds.name}: {len(items)} questions, {len(rows)} chunks\n\n"
                f"Ingest: fp32 {ingest_s['torch']:.1f} s, int8 {ingest_s['onnx-int8']:.1f} s; "
                f"all searches {search_s:.1f} s."
            )
            report.add(table(["retrieval (depth 10)", "hit@1", "hit@5"], table_rows))
        for service in services.values():
            service.close()
    report.finish(write=not args.no_write)


if __name__ == "__main__":
    main()
