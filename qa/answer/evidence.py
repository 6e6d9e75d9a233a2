"""Candidate sentences of the retrieved passages and the measurements the fitted scorer weighs.

Every sentence of the top passages is a candidate answer sentence. For each one this module measures how
it relates to the question: the share of the question's (rarity-weighted) words it holds, in itself and in
its passage; the longest stretch of the question it repeats and how much of the words before and after the
question's interrogative it repeats (an answer sentence often restates the question with the answer in
place of "多少"); whether it has the kind of content the question asks for (a number with the asked
unit, a date, a title …); and how strongly retrieval backed its passage. Which of these matter, and how
much, is not decided here: `qa.answer.model` holds weights fitted on data (`qa calibrate`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.answer.entities import typed_spans
from qa.chunk.sentences import split_sentences
from qa.query import Query
from qa.query.kinds import KINDS
from qa.query.lexicon import translations
from qa.text import fold, is_cjk
from qa.types import Passage

# the kinds of content a sentence may offer (names are left to the short-answer step: measured on
# cmrc2018-trial, flags for them did not change the sentence ranking)
SENTENCE_TYPES = ("number", "date", "title", "quote", "unit")
_FORM_TYPES = frozenset(SENTENCE_TYPES[:-1])
_TERMINAL = re.compile(r"[。！？!?；;.…]\s*[”’」』）)\]】》\"']*\s*$")
_CONTENT_CHAR = re.compile(r"[\w]")
# a list item's bullet (Markdown's "- ", "* ", "+ ", or "•"): no part of what the item says
_BULLET = re.compile(r"[-*+•·▪●]\s+")
_PUNCT = re.compile(r"[\W_]+")


@dataclass(slots=True)
class Sentence:
    """A sentence of passage `passage` (an index into the passages), `text == passage.text[start:end]`."""

    passage: int
    start: int
    end: int
    text: str
    folded: str


def candidate_sentences(passages: Sequence[Passage]) -> list[Sentence]:
    """Every sentence of `passages`; a sentence that overlapping chunks repeat is kept once (the better-ranked
    chunk's copy)."""
    seen: set[tuple[str, int]] = set()
    out: list[Sentence] = []
    for pi, p in enumerate(passages):
        for a, b in split_sentences(p.text):
            key = (p.doc_id, p.start + a)
            if key in seen:
                continue
            seen.add(key)
            bullet = _BULLET.match(p.text, a, b)
            if bullet is not None:
                a = bullet.end()
            text = p.text[a:b]
            if not _CONTENT_CHAR.search(text):
                continue
            out.append(Sentence(pi, a, b, text, fold(text)))
    return out


def _chars(text: str) -> str:
    return _PUNCT.sub("", text)


def longest_common(needle: str, hay: str, min_len: int = 1) -> int:
    """Length of the longest substring of `needle` that occurs in `hay` (0 below `min_len`)."""
    n = len(needle)
    best = 0
    for i in range(n):
        # grow from the best length so far: only longer matches can improve it
        length = best + 1
        while i + length <= n and needle[i : i + length] in hay:
            best = length
            length += 1
    return best if best >= min_len else 0


def suffix_match(frame_left: str, hay: str) -> int:
    """Length of the longest suffix of `frame_left` found in `hay`."""
    for k in range(len(frame_left), 0, -1):
        if frame_left[-k:] in hay:
            return k
    return 0


def prefix_match(frame_right: str, hay: str) -> int:
    """Length of the longest prefix of `frame_right` found in `hay`."""
    for k in range(len(frame_right), 0, -1):
        if frame_right[:k] in hay:
            return k
    return 0


def _term_present(term: str, folded: str, cross: bool) -> float:
    if term in folded:
        return 1.0
    if cross and not term.isdigit():
        # an English term over Chinese text: present through one of its dictionary translations
        return 1.0 if any(len(w) > 1 and w in folded for w in translations(term)) else 0.0
    if not term.isascii() and len(term) > 1:
        share = sum(ch in folded for ch in term) / len(term)
        return 0.5 * share if share >= 0.5 else 0.0
    return 0.0


def weighted_overlap(query: Query, folded: str) -> float:
    """Rarity-weighted share of the question's terms present in `folded` (partial credit for a Chinese word
    whose characters mostly occur; across languages through translations)."""
    total = query.total_weight
    if total <= 0:
        return 0.0
    cross = query.lang == "en" and is_cjk(folded)
    return sum(query.weights[t] * _term_present(t, folded, cross) for t in query.terms) / total


def _bigrams(text: str) -> set[str]:
    t = _chars(text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


def _has_unit(query: Query, folded: str) -> bool:
    return any(re.search(rf"\d\s*(?:多|余)?\s*(?:万|亿)?\s*{re.escape(u)}", folded) for u in query.units)


SENTENCE_FEATURES: tuple[str, ...] = (
    "kind",  # index into qa.query.kinds.KINDS (a categorical feature)
    "overlap",
    "specific_overlap",
    "specific_exact",
    "specific_bigrams",
    "specific_chars",
    "in_hit",
    "hit_rank_reciprocal",
    "subject_share",
    "overlap_context",
    "bigram_recall",
    "lcs",
    "frame_left",
    "frame_right",
    "frame_gap",
    "novel",
    "previous_specific",
    "next_specific",
    "numbers_in_sentence",
    "numbers_in_passage",
    "document_start",
    "log_offset",
    "log_length",
    "heading",
    "rank_reciprocal",
    "fused_share",
    "dense",
    "dense_gap",
    "bm25_rank_reciprocal",
    "both_retrievers",
    *(f"has_{t}" for t in SENTENCE_TYPES),
)


@dataclass(frozen=True, slots=True)
class _PassageContext:
    folded: str
    # the question's terms its document's title names: they tell which document, not which sentence
    subject: frozenset[str]
    attribute_weight: float
    overlap: float
    numbers: float
    rank_reciprocal: float
    fused_share: float
    dense: float
    dense_gap: float
    bm25_rank_reciprocal: float
    both: float


def _passage_contexts(query: Query, passages: Sequence[Passage]) -> list[_PassageContext]:
    top_fused = max((p.score for p in passages), default=0.0)
    top_dense = max((p.signals.dense for p in passages if p.signals.dense is not None), default=0.0)
    out: list[_PassageContext] = []
    for i, p in enumerate(passages):
        folded = fold(f"{p.title}\n{p.text}")
        title = fold(p.title)
        subject = frozenset(t for t in query.terms if title and t in title)
        dense = p.signals.dense or 0.0
        out.append(
            _PassageContext(
                folded=folded,
                subject=subject,
                attribute_weight=sum(query.weights[t] for t in query.terms if t not in subject),
                overlap=weighted_overlap(query, folded),
                numbers=_numbers_share(query, folded),
                rank_reciprocal=1.0 / (1.0 + i),
                fused_share=p.score / top_fused if top_fused > 0 else 0.0,
                dense=dense,
                dense_gap=top_dense - dense if p.signals.dense is not None else 1.0,
                # the keyword rank, not its score: a BM25 score's scale depends on the store (Milvus's analyzer and
                # statistics give the same passages 0.7-1.6x the embedded store's scores) and on the collection
                bm25_rank_reciprocal=1.0 / p.signals.bm25_rank if p.signals.bm25_rank else 0.0,
                both=1.0 if (p.signals.dense is not None and p.signals.bm25 is not None) else 0.0,
            )
        )
    return out


def _numbers_share(query: Query, folded: str) -> float:
    if not query.numbers:
        return 1.0
    return sum(n in folded for n in query.numbers) / len(query.numbers)


def _term_spread(
    query: Query, passages: Sequence[Passage], sentences: Sequence[Sentence]
) -> dict[str, dict[str, float]]:
    """Per document, the share of its candidate sentences that hold each question term. A term in most of a
    document's sentences names what the document is about (an article's subject, a report's town); it tells
    which document, not which sentence, answers."""
    counts: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for s in sentences:
        doc = passages[s.passage].doc_id
        totals[doc] = totals.get(doc, 0) + 1
        per_doc = counts.setdefault(doc, {})
        for t in query.terms:
            if t in s.folded:
                per_doc[t] = per_doc.get(t, 0) + 1
    return {doc: {t: n / totals[doc] for t, n in per_doc.items()} for doc, per_doc in counts.items()} | {
        p.doc_id: {} for p in passages if p.doc_id not in counts
    }


def _frame_gap(left: str, right: str, plain: str) -> float:
    """Whether the question's words before and after its interrogative both occur in order with a short gap
    between them: the gap is where the sentence puts what the question asks ("X的体重是[?]" ↔ "X体重约8公斤")."""
    k = suffix_match(left, plain) if left else 0
    if not right:
        return 1.0 if k >= 2 and plain.find(left[-k:]) + k < len(plain) else 0.0
    r = prefix_match(right, plain)
    if k < 2 or r < 1:
        return 0.0
    a = plain.find(left[-k:]) + k
    b = plain.find(right[:r], a)
    return 1.0 if 0 < b - a <= 40 else 0.0


def sentence_features(query: Query, passages: Sequence[Passage], sentences: Sequence[Sentence]) -> list[list[float]]:
    """One row of `SENTENCE_FEATURES` per sentence."""
    contexts = _passage_contexts(query, passages)
    body = _chars(query.frame[0] + query.frame[1]) or _chars(query.folded)
    q_bigrams = _bigrams(body)
    q_chars = set(body)
    left, right = _chars(query.frame[0]), _chars(query.frame[1])
    kind = float(KINDS.index(query.kind))
    total = query.total_weight
    spread = _term_spread(query, passages, sentences)
    bigram_spread = _bigram_spread(q_bigrams, passages, sentences)
    char_spread = _bigram_spread(q_chars, passages, sentences)
    cross = query.lang == "en"
    # weights that depend on the sentence's document only, computed once a document
    per_doc: dict[str, tuple[dict[str, float], float, dict[str, float], float, dict[str, float], float]] = {}
    for doc in {p.doc_id for p in passages}:
        specific = {t: query.weights[t] * (1.0 - spread.get(doc, {}).get(t, 0.0)) for t in query.terms}
        bigram = {g: 1.0 - bigram_spread.get(doc, {}).get(g, 0.0) for g in q_bigrams}
        char = {c: 1.0 - char_spread.get(doc, {}).get(c, 0.0) for c in q_chars}
        # fsum: the question's bigrams and characters are sets, whose order changes with the hash seed; a plain
        # sum in that order changes in the last bits from run to run, and so did the fitted models
        per_doc[doc] = (
            specific,
            sum(specific.values()),
            bigram,
            math.fsum(bigram.values()),
            char,
            math.fsum(char.values()),
        )
    rows: list[dict[str, float]] = []
    for s in sentences:
        ctx = contexts[s.passage]
        doc = passages[s.passage].doc_id
        f = s.folded
        plain = _chars(f)
        present = {t: _term_present(t, f, cross and is_cjk(f)) for t in query.terms}
        overlap = sum(query.weights[t] * v for t, v in present.items()) / total if total > 0 else 0.0
        specific_weights, specific_total, bigram_weights, bigram_total, char_weights, char_total = per_doc[doc]
        # a question bigram is a bigram of the sentence exactly when it occurs in the sentence's characters
        shared = {g for g in q_bigrams if g in plain}
        offset = passages[s.passage].start + s.start
        hit_ranks = [h.rank for h in passages[s.passage].hits if h.start < offset + len(s.text) and h.end > offset]
        types = {span.type for span in typed_spans(f) if span.type in _FORM_TYPES}
        row = {
            "kind": kind,
            "overlap": overlap,
            "specific_overlap": (
                sum(specific_weights[t] * v for t, v in present.items()) / specific_total
                if specific_total > 0
                else overlap
            ),
            # whole words only: "镇长" half-matched by 镇 and 长 is not a mayor
            "specific_exact": (
                sum(specific_weights[t] for t, v in present.items() if v >= 1.0) / specific_total
                if specific_total > 0
                else float(all(v >= 1.0 for v in present.values()))
            ),
            "specific_bigrams": math.fsum(bigram_weights[g] for g in shared) / bigram_total
            if bigram_total > 0
            else 0.0,
            "specific_chars": (
                math.fsum(char_weights[c] for c in q_chars.intersection(plain)) / char_total if char_total > 0 else 0.0
            ),
            "in_hit": 1.0 if hit_ranks or not passages[s.passage].hits else 0.0,
            "hit_rank_reciprocal": 1.0 / (1.0 + min(hit_ranks)) if hit_ranks else 0.0,
            "subject_share": (sum(present[t] for t in ctx.subject) / len(ctx.subject) if ctx.subject else 1.0),
            "overlap_context": ctx.overlap,
            "bigram_recall": len(shared) / len(q_bigrams) if q_bigrams else 0.0,
            "lcs": longest_common(body, plain) / len(body) if body else 0.0,
            "frame_left": suffix_match(left, plain) / len(left) if left else 0.0,
            "frame_right": prefix_match(right, plain) / len(right) if right else 0.0,
            "frame_gap": _frame_gap(left, right, plain),
            "novel": sum(ch not in q_chars for ch in plain) / len(plain) if plain else 0.0,
            "numbers_in_sentence": _numbers_share(query, f),
            "numbers_in_passage": ctx.numbers,
            "document_start": 1.0 if offset == 0 else 0.0,
            "log_offset": math.log1p(offset),
            "log_length": math.log1p(len(plain)),
            "heading": 0.0 if _TERMINAL.search(s.text) or len(plain) > 40 else 1.0,
            "rank_reciprocal": ctx.rank_reciprocal,
            "fused_share": ctx.fused_share,
            "dense": ctx.dense,
            "dense_gap": ctx.dense_gap,
            "bm25_rank_reciprocal": ctx.bm25_rank_reciprocal,
            "both_retrievers": ctx.both,
            **{f"has_{t}": 1.0 if t in types else 0.0 for t in SENTENCE_TYPES[:-1]},
            "has_unit": 1.0 if _has_unit(query, f) else 0.0,
        }
        rows.append(row)
    # a sentence right after one about the question's specifics often carries the answer with a pronoun
    for i, s in enumerate(sentences):
        same_prev = i > 0 and sentences[i - 1].passage == s.passage
        same_next = i + 1 < len(sentences) and sentences[i + 1].passage == s.passage
        rows[i]["previous_specific"] = rows[i - 1]["specific_overlap"] if same_prev else 0.0
        rows[i]["next_specific"] = rows[i + 1]["specific_overlap"] if same_next else 0.0
    return [[row[name] for name in SENTENCE_FEATURES] for row in rows]


def _bigram_spread(
    bigrams: set[str], passages: Sequence[Passage], sentences: Sequence[Sentence]
) -> dict[str, dict[str, float]]:
    """Like `_term_spread`, for the question's character n-grams (robust to word-boundary differences)."""
    counts: dict[str, dict[str, int]] = {p.doc_id: {} for p in passages}
    totals: dict[str, int] = {}
    for s in sentences:
        doc = passages[s.passage].doc_id
        totals[doc] = totals.get(doc, 0) + 1
        per_doc = counts[doc]
        for g in bigrams:
            if g in s.folded:
                per_doc[g] = per_doc.get(g, 0) + 1
    return {doc: {g: n / totals[doc] for g, n in per_doc.items()} for doc, per_doc in counts.items()}


__all__ = [
    "SENTENCE_FEATURES",
    "Sentence",
    "candidate_sentences",
    "longest_common",
    "prefix_match",
    "sentence_features",
    "suffix_match",
    "weighted_overlap",
]
