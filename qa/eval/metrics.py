"""Pure metric functions for retrieval and answer quality.

Answer metrics follow the CMRC 2018 convention for Chinese: F1 over characters, because Chinese has no
whitespace tokens and any word segmenter would make the score depend on the segmenter's vocabulary.
Retrieval metrics use binary relevance at the document level: a question is about documents, and the
same document reached through several chunks must not inflate hit or nDCG.
"""

from __future__ import annotations

import math
import string
import unicodedata
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import PurePosixPath

import numpy as np

from qa.answer.grounding import MARKER_RE
from qa.errors import InvalidInput
from qa.text import to_simplified

_ASCII_PUNCT = frozenset(string.punctuation)


def normalize_zh(text: str) -> str:
    """Normalize for answer comparison: NFKC, simplified script, drop punctuation/symbols-as-punctuation and
    whitespace, lower-case.

    NFKC first so full-width digits and letters (６４, ＡＢ) compare equal to their ASCII forms, which
    Chinese sources mix freely. Simplified script because the service answers across scripts: a gold answer
    written in one script is held by an answer quoting a document in the other.
    """
    out: list[str] = []
    for ch in to_simplified(unicodedata.normalize("NFKC", text)):
        if ch.isspace() or ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P"):
            continue
        out.append(ch)
    return "".join(out).lower()


def strip_citation_markers(answer: str) -> str:
    """Remove `[n]` markers so they do not count as answer characters."""
    return MARKER_RE.sub("", answer)


def char_f1(prediction: str, gold: str) -> float:
    """Character-level F1 of the normalized strings, counting characters as a multiset."""
    pred_chars = normalize_zh(prediction)
    gold_chars = normalize_zh(gold)
    if not pred_chars or not gold_chars:
        # Two empty strings agree perfectly; an empty side against a non-empty one shares nothing.
        return 1.0 if pred_chars == gold_chars else 0.0
    common = sum((Counter(pred_chars) & Counter(gold_chars)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_chars)
    recall = common / len(gold_chars)
    return 2 * precision * recall / (precision + recall)


def max_f1(prediction: str, golds: Sequence[str]) -> float:
    """Best character F1 against any gold span (any one gold counts as correct)."""
    return max((char_f1(prediction, g) for g in golds), default=0.0)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalized prediction equals a normalized gold span; strict on purpose."""
    pred = normalize_zh(prediction)
    return 1.0 if any(pred == normalize_zh(g) for g in golds) else 0.0


def contains_gold(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when some normalized gold span occurs inside the normalized prediction.

    Reported beside EM: an extractive answer quoting a whole sentence is right but never an exact match.
    """
    pred = normalize_zh(prediction)
    return 1.0 if any((g_norm := normalize_zh(g)) and g_norm in pred for g in golds) else 0.0


def _dedupe(ranked: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for doc in ranked:
        if doc not in seen:
            seen.add(doc)
            out.append(doc)
    return out


def _check_k(k: int, relevant: Collection[str]) -> None:
    if k < 1:
        raise InvalidInput(f"k must be at least 1, got {k}")
    if not relevant:
        raise InvalidInput("a retrieval metric needs at least one relevant document; skip items without docs")


def hit_at_k(ranked_doc_ids: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 when a relevant document is among the first k distinct documents."""
    _check_k(k, relevant)
    return 1.0 if any(d in relevant for d in _dedupe(ranked_doc_ids)[:k]) else 0.0


def mrr_at_k(ranked_doc_ids: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Reciprocal rank of the first relevant distinct document within the first k, else 0."""
    _check_k(k, relevant)
    for rank, doc in enumerate(_dedupe(ranked_doc_ids)[:k], start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked_doc_ids: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Binary-relevance nDCG@k over distinct documents (gain 1, discount log2(rank + 1))."""
    _check_k(k, relevant)
    dcg = sum(
        1.0 / math.log2(rank + 1) for rank, doc in enumerate(_dedupe(ranked_doc_ids)[:k], start=1) if doc in relevant
    )
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(set(relevant)), k) + 1))
    return dcg / ideal


def expect_all_pass(answer: str, expect_all: Sequence[str]) -> bool:
    """True when every expected string occurs in the answer.

    Only NFKC, case, script and whitespace are normalized, not punctuation: stripping "." or "%" would let
    "6.19亿" match "619亿" or "40%" match "1400", which would hide wrong figures.
    """

    def light(s: str) -> str:
        return "".join(to_simplified(unicodedata.normalize("NFKC", s)).lower().split())

    text = light(answer)
    return all(light(e) in text for e in expect_all)


def refusal_precision_recall(pred_refused: Sequence[bool], gold_unanswerable: Sequence[bool]) -> tuple[float, float]:
    """Precision and recall of refusals, treating "unanswerable" as the positive class.

    Undefined values (no refusals made, or no unanswerable items) are NaN rather than 0 or 1, so a
    report shows "n/a" instead of a misleading score.
    """
    if len(pred_refused) != len(gold_unanswerable):
        raise InvalidInput(
            f"refusal lists differ in length: {len(pred_refused)} predictions, {len(gold_unanswerable)} gold"
        )
    tp = sum(1 for p, g in zip(pred_refused, gold_unanswerable, strict=True) if p and g)
    n_pred = sum(1 for p in pred_refused if p)
    n_gold = sum(1 for g in gold_unanswerable if g)
    precision = tp / n_pred if n_pred else math.nan
    recall = tp / n_gold if n_gold else math.nan
    return precision, recall


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not 0 <= q <= 100:
        raise InvalidInput(f"percentile must be between 0 and 100, got {q}")
    if len(values) == 0:
        return math.nan
    return float(np.percentile(np.asarray(values, dtype=float), q))


def _file_name(source: str) -> str:
    """File name of a source path or URL ("data/seeds/000_x.txt" → "000_x.txt"); "" when there is none. Only a
    URL has a query and a fragment: a file may be named "大桥 #1.md"."""
    if "://" in source:
        source = source.split("?", 1)[0].split("#", 1)[0]
    return PurePosixPath(source.replace("\\", "/").rstrip("/")).name


def source_stem(source: str) -> str:
    """File stem of a source path or URL ("data/seeds/000_x.txt" → "000_x"); "" when there is none."""
    name = _file_name(source)
    return PurePosixPath(name).stem if name else ""


def doc_matches(doc_id: str, source: str, wanted: Collection[str]) -> bool:
    """A citation or passage matches when its doc_id, its source file stem, or its source (whole, or its file
    name) is in `wanted`.

    Datasets name documents by file stem because doc ids are assigned at ingest time and are unknown
    to whoever writes the questions; a file name written with its suffix ("report.txt") means that file too.
    """
    if doc_id in wanted or source in wanted:
        return True
    name = _file_name(source)
    return bool(name) and (name in wanted or PurePosixPath(name).stem in wanted)
