"""Short-answer candidates inside an answer sentence, and what the fitted span scorer weighs.

The short answer is the minimal span that answers a factoid question: "42公分" inside "全长可达42公分",
"莫瓦桑" inside "它首先由莫瓦桑于1905年制得". Candidates are the spans an answer takes: typed spans (a
number with its unit, a date, a title, a name), the clauses of the sentence and short runs of them, the
words the question's frame leaves open ("X的体重是[?]" ↔ "X体重约[8公斤]"), short word runs near that
gap and right after each question word, and the sentence itself. Each is measured against the question
(how much of it repeats the question, how well the words around it match the question's words around its
interrogative, what kind of span it is, which kinds of typed span it holds); `qa.answer.model` holds the
weights that rank them, fitted on data.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter

from qa.answer.entities import SPAN_TYPES, typed_spans
from qa.answer.evidence import prefix_match, suffix_match
from qa.query import Query
from qa.query.kinds import KINDS
from qa.segment import words
from qa.text import is_wide

ORIGINS = ("typed", "clause", "frame", "words", "after", "sentence")
_CLAUSE_MARK = re.compile(r"[，,；;：:、]")
# a comma or colon inside a figure, not between clauses: a thousands separator ("1,100": at most three digits before
# it, three after), a clock's or a ratio's colon ("9:30", "1：7": one or two digits on either side). Folding makes the
# Chinese comma "," too, and "12038，2018年" or "附件1：2019年" are still two clauses
_IN_FIGURE = re.compile(r"(?<=\d)(?<!\d{4}),(?=\d{3}(?!\d))|(?<=\d)(?<!\d{3})[:：](?=\d{1,2}(?!\d))")
_TRIM = " \t\n\u3000，,；;：:、。.！!？?）)」』”’\"'（(「『“‘"
_OPENERS = "（(「『“‘\"'"
_CLOSERS = "）)」』”’\"'"
_MAX_WORDS = 4
_MAX_CLAUSES = 3
# word runs are started at this many words after a question term
_AFTER_STARTS = 2
_PUNCT = re.compile(r"[\W_]+")

SPAN_FEATURES: tuple[str, ...] = (
    "kind",
    *(f"origin_{o}" for o in ORIGINS),
    *(f"type_{t}" for t in SPAN_TYPES),
    "log_length",
    "length_share",
    "question_chars",
    "holds_term",
    "left_context",
    "right_context",
    "frame_overlap",
    "frame_start",
    "frame_end",
    "frame_left_chars",
    "frame_right_chars",
    "distance_to_term",
    "after_term",
    "next_after_term",
    "before_term",
    "label_before",
    "label_lead",
    "label_after",
    "label_after_lead",
    "clause_start",
    "clause_end",
    "relative_start",
    "holds_unit",
    "type_prior",
    "inner_type_prior",
    "inner_typed",
    "sentence_rank",
    "sentence_score",
    "sentence_margin",
)


@dataclass(frozen=True, slots=True)
class SpanCandidate:
    """A span of sentence `sentence` (index into the answer's sentences), offsets into that sentence."""

    sentence: int
    start: int
    end: int
    origin: str
    type: str = ""


def _latin(ch: str) -> bool:
    """A letter or digit of a script that spaces its words (Müller, Zürich, Ελλάδα): not Chinese or Japanese."""
    return ch.isalnum() and not is_wide(ch)


def _number_mark(text: str, i: int) -> bool:
    """Whether `text[i]` is a thousands separator, decimal point or colon inside a number, a time or a ratio
    ("1,100", "3.5", "9:30", "1：7")."""
    if not (0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()):
        return False
    return text[i] == "." or _IN_FIGURE.match(text, i) is not None


def _joined(text: str, i: int) -> bool:
    """Whether `text[i - 1]` and `text[i]` belong to one word or one number (no span may start or end between)."""
    if _latin(text[i - 1]) and _latin(text[i]):
        return True
    return _number_mark(text, i - 1) or _number_mark(text, i)


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """`text[a:b]` without the punctuation and spaces around it, and widened to whole Latin words and whole
    numbers: frames and word runs are matched by characters, which is right for Chinese but would cut
    "Greenfield" after its "f", or "1,100" after its comma."""
    while 0 < a < len(text) and _joined(text, a):
        a -= 1
    while 0 < b < len(text) and _joined(text, b):
        b += 1
    while a < b and text[a] in _TRIM:
        # keep an opening bracket or quote whose closer is inside the span: 《…》-like units stay whole
        if text[a] in _OPENERS and _CLOSERS[_OPENERS.index(text[a])] in text[a + 1 : b]:
            break
        a += 1
    while b > a and text[b - 1] in _TRIM:
        if text[b - 1] in _CLOSERS and _OPENERS[_CLOSERS.index(text[b - 1])] in text[a : b - 1]:
            break
        b -= 1
    return a, b


def clause_spans(text: str) -> list[tuple[int, int]]:
    cuts = [0, *(m.end() for m in _CLAUSE_MARK.finditer(text) if not _IN_FIGURE.match(text, m.start())), len(text)]
    return [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1) if text[cuts[i] : cuts[i + 1]].strip(_TRIM)]


# how far before or after a candidate its label is looked for (characters)
_LABEL_REACH = 16


def _adjacent_label(left: str, before: str) -> int:
    """How many characters `left` and `before` end with alike, up to two characters aside at the end of each (a
    copula or verb: "户籍人口是|多少" against "…，户籍人口|41.3万人" or "…收入为|45,620元")."""
    a, b = left[::-1], before[::-1]
    best = 0
    for i in range(min(3, len(a))):
        for j in range(min(3, len(b))):
            if a[i] != b[j]:
                continue
            k = 1
            while i + k < len(a) and j + k < len(b) and a[i + k] == b[j + k]:
                k += 1
            best = max(best, k)
    return best


def _leads(values: Sequence[float], sentence_of: Sequence[int]) -> list[float]:
    """Each candidate's value less the best value of the other candidates in its sentence (0 when alone)."""
    best: dict[int, tuple[float, int, float]] = {}  # sentence -> (best value, its candidate, second best)
    for i, (value, sentence) in enumerate(zip(values, sentence_of, strict=True)):
        top, at, second = best.get(sentence, (0.0, -1, 0.0))
        best[sentence] = (value, i, top) if at < 0 or value > top else (top, at, max(second, value))
    out: list[float] = []
    for i, (value, sentence) in enumerate(zip(values, sentence_of, strict=True)):
        top, at, second = best[sentence]
        out.append(value - (second if i == at else top))
    return out


def _plain(text: str) -> str:
    return _PUNCT.sub("", text)


@dataclass(frozen=True, slots=True)
class FrameGap:
    """The part of a sentence the question's frame leaves open, and how many characters of the frame's left
    and right parts matched around it."""

    start: int
    end: int
    left: int
    right: int


def frame_gap(query: Query, folded: str) -> FrameGap | None:
    """The part of `folded` the question's frame leaves open: after the best match of the words before the
    interrogative, up to the match of the words after it (or the end of that clause)."""
    left, right = query.frame
    a = k = r = 0
    if left:
        k = suffix_match(left, folded)
        if k < 2:
            return None
        a = folded.find(left[-k:]) + k
    b = -1
    if right:
        r = prefix_match(right, folded[a:])
        b = folded.find(right[:r], a) if r >= 1 else -1
    if b <= a:
        r = 0
        b = next((e for s, e in clause_spans(folded) if s <= a < e), len(folded))
    a, b = _trim(folded, a, b)
    return FrameGap(a, b, k, r) if b > a else None


def _word_bounds(text: str) -> list[tuple[int, int]]:
    """Where each word of `text` (default segmentation) starts and ends."""
    pos = 0
    out: list[tuple[int, int]] = []
    for w in words(text):
        start = text.find(w, pos)
        if start < 0:
            continue
        pos = start + len(w)
        out.append((start, pos))
    return out


def span_candidates(query: Query, sentences: Sequence[str]) -> list[SpanCandidate]:
    """Every candidate span of the given (folded) sentences, without duplicates."""
    seen: set[tuple[int, int, int]] = set()
    out: list[SpanCandidate] = []

    def add(si: int, a: int, b: int, origin: str, kind: str = "") -> None:
        a, b = _trim(sentences[si], a, b)
        if b > a and (si, a, b) not in seen:
            seen.add((si, a, b))
            out.append(SpanCandidate(si, a, b, origin, kind))

    for si, text in enumerate(sentences):
        add(si, 0, len(text), "sentence")
        for span in typed_spans(text):
            add(si, span.start, span.end, "typed", span.type)
        clauses = clause_spans(text)
        for i in range(len(clauses)):
            for j in range(i, min(len(clauses), i + _MAX_CLAUSES)):
                add(si, clauses[i][0], clauses[j][1], "clause")
        word_bounds = _word_bounds(text)
        gap = frame_gap(query, text)
        if gap is not None:
            add(si, gap.start, gap.end, "frame")
            # the words at the start of the gap: "被[耶律金山]所杀" when the gap runs on
            bounds = [(a, b) for a, b in word_bounds if gap.start <= a < gap.end + 1]
            for i in range(min(len(bounds), 6)):
                for j in range(i, min(len(bounds), i + _MAX_WORDS)):
                    add(si, bounds[i][0], bounds[j][1], "words")
        # the words right after a question term, which the frame misses where the sentence words the question
        # otherwise: "…最主要的经济是[旅游业]" against "…最主要的经济产业是什么"
        word_starts = [a for a, _ in word_bounds]
        for end in sorted({p + len(t) for t in query.terms for p in _occurrences(t, text)}):
            first = bisect_left(word_starts, end)
            for i in range(first, min(len(word_bounds), first + _AFTER_STARTS)):
                for j in range(i, min(len(word_bounds), i + _MAX_WORDS)):
                    add(si, word_bounds[i][0], word_bounds[j][1], "after")
    return out


# the type of a candidate that is not a typed span, in a `TypePrior`
UNTYPED = "none"
TypePrior = Mapping[str, Mapping[str, float]]
"""kind of question → type of answer span → share of gold answers of that kind that are (or hold) a span of
that type, fitted on data (`qa.answer.fit.fit_type_prior`)."""


def unstated_typed(query: Query, sentences: Sequence[str], candidates: Sequence[SpanCandidate]) -> list[SpanCandidate]:
    """The typed spans among `candidates` that the question does not itself state (the town a question names is
    no answer to it)."""
    return [c for c in candidates if c.origin == "typed" and sentences[c.sentence][c.start : c.end] not in query.folded]


def offered_types(query: Query, sentences: Sequence[str], candidates: Sequence[SpanCandidate]) -> set[str]:
    """The types of the typed spans among `candidates` that the question does not itself state."""
    return {c.type for c in unstated_typed(query, sentences, candidates)}


def _occurrences(needle: str, text: str) -> Iterator[int]:
    """Where `needle` starts in `text`, occurrences not overlapping (as `re.finditer` of the escaped needle finds
    them, without compiling a pattern for every question term)."""
    if not needle:
        return
    at = text.find(needle)
    while at >= 0:
        yield at
        at = text.find(needle, at + len(needle))


def span_features(
    query: Query,
    sentences: Sequence[str],
    candidates: Sequence[SpanCandidate],
    sentence_scores: Sequence[float],
    prior: TypePrior,
) -> list[list[float]]:
    """One row of `SPAN_FEATURES` per candidate. `sentence_scores` are the sentence scorer's scores of the
    given sentences, best first; `prior` how often answers to this kind of question have each span type."""
    kind_prior = prior.get(query.kind, {})
    body = _plain(query.frame[0] + query.frame[1]) or _plain(query.folded)
    q_chars = set(body)
    left, right = _plain(query.frame[0]), _plain(query.frame[1])
    kind = float(KINDS.index(query.kind))
    gaps = [frame_gap(query, text) for text in sentences]
    # where the question's terms start and end in each sentence (each found once)
    term_spans = [[(p, p + len(t)) for t in query.terms for p in _occurrences(t, text)] for text in sentences]
    term_positions = [sorted(a for a, _ in spans) for spans in term_spans]
    term_ends = [sorted(b for _, b in spans) for spans in term_spans]
    clause_bounds = [
        ({a for a, _ in clause_spans(text)} | {0}, {b for _, b in clause_spans(text)} | {len(text)})
        for text in sentences
    ]
    # typed spans inside a longer candidate: a clause that holds the number a quantity question asks for is a
    # worse short answer than the number itself (spans the question states are no answer)
    typed: list[list[tuple[int, int, float]]] = [[] for _ in sentences]
    for c in unstated_typed(query, sentences, candidates):
        typed[c.sentence].append((c.start, c.end, kind_prior.get(c.type, 0.0)))
    typed_starts = [sorted(a for a, _, _ in spans) for spans in typed]
    # a figure in a list ("床位数8,420张，执业医师5,130人，注册护士6,975人") is told from its neighbours by the label
    # right before it, or, in English, right after it ("6,975 nurses"): how much of the question's left part ends
    # right before each candidate, how much of its right part starts right after, and the lead of each over the
    # best other candidate of its sentence
    # (candidates share their starts and ends: each is measured once)
    # (so is the question's context right before and right after each)
    label_at: dict[tuple[int, int], float] = {}
    trailing_at: dict[tuple[int, int], float] = {}
    left_at: dict[tuple[int, int], float] = {}
    right_at: dict[tuple[int, int], float] = {}
    for c in candidates:
        text = sentences[c.sentence]
        if (c.sentence, c.start) not in left_at:
            before = _plain(text[max(0, c.start - 12) : c.start])
            left_at[c.sentence, c.start] = suffix_match(left, before) / len(left) if left else 0.0
            if left:
                ahead = _plain(text[max(0, c.start - _LABEL_REACH) : c.start])
                label_at[c.sentence, c.start] = _adjacent_label(left, ahead) / len(left)
        if (c.sentence, c.end) not in right_at:
            after = _plain(text[c.end : c.end + 12])
            right_at[c.sentence, c.end] = prefix_match(right, after) / len(right) if right else 0.0
            if right:
                behind = _plain(text[c.end : c.end + _LABEL_REACH])
                trailing_at[c.sentence, c.end] = _adjacent_label(right[::-1], behind[::-1]) / len(right)
    labels = [label_at.get((c.sentence, c.start), 0.0) for c in candidates]
    trailing = [trailing_at.get((c.sentence, c.end), 0.0) for c in candidates]
    sentence_of = [c.sentence for c in candidates]
    label_leads, trailing_leads = _leads(labels, sentence_of), _leads(trailing, sentence_of)
    rows: list[list[float]] = []
    for index, c in enumerate(candidates):
        inner = [p for a, b, p in typed[c.sentence] if c.start <= a and b <= c.end and (a, b) != (c.start, c.end)]
        text = sentences[c.sentence]
        span = text[c.start : c.end]
        plain = _plain(span)
        gap = gaps[c.sentence]
        inter = max(0, min(c.end, gap.end) - max(c.start, gap.start)) if gap else 0
        union = max(c.end, gap.end) - min(c.start, gap.start) if gap else 1
        positions = term_positions[c.sentence]
        distance = _distance(positions, c.start, c.end, len(text))
        starts, ends = clause_bounds[c.sentence]
        # direction matters: a label comes before its value ("注册护士6,975人"), so the value right after a term
        # is read apart from the one right before the next term ("执业医师5,130人，注册护士")
        term_end = term_ends[c.sentence]
        led = bisect_right(term_end, c.start)
        lead_end = term_end[led - 1] if led else -1
        following = bisect_left(positions, c.end)
        next_term = positions[following] if following < len(positions) else len(text)
        starts_typed = typed_starts[c.sentence]
        between = lead_end >= 0 and bisect_left(starts_typed, lead_end) < bisect_left(starts_typed, c.start)
        rest = {
            "log_length": math.log1p(len(plain)),
            "length_share": len(span) / len(text) if text else 0.0,
            "question_chars": sum(ch in q_chars for ch in plain) / len(plain) if plain else 1.0,
            "holds_term": 1.0 if any(t in span for t in query.terms) else 0.0,
            "left_context": left_at[c.sentence, c.start],
            "right_context": right_at[c.sentence, c.end],
            "frame_overlap": inter / union if union > 0 else 0.0,
            "frame_start": 1.0 if gap and c.start == gap.start else 0.0,
            "frame_end": 1.0 if gap and c.end == gap.end else 0.0,
            "frame_left_chars": float(gap.left) if gap else 0.0,
            "frame_right_chars": float(gap.right) if gap else 0.0,
            "distance_to_term": math.log1p(distance),
            "after_term": math.log1p(c.start - lead_end) if lead_end >= 0 else -1.0,
            "next_after_term": 1.0 if lead_end >= 0 and not between else 0.0,
            "before_term": math.log1p(next_term - c.end),
            "label_before": labels[index],
            "label_lead": label_leads[index],
            "label_after": trailing[index],
            "label_after_lead": trailing_leads[index],
            "clause_start": 1.0 if c.start in starts or (c.start > 0 and text[c.start - 1] in _TRIM) else 0.0,
            "clause_end": 1.0 if c.end in ends or (c.end < len(text) and text[c.end] in _TRIM) else 0.0,
            "relative_start": c.start / len(text) if text else 0.0,
            "holds_unit": 1.0 if any(u in span for u in query.units) else 0.0,
            "type_prior": kind_prior.get(c.type or UNTYPED, 0.0),
            "inner_type_prior": max(inner, default=0.0),
            "inner_typed": math.log1p(len(inner)),
            "sentence_rank": float(c.sentence),
            "sentence_score": float(sentence_scores[c.sentence]),
            "sentence_margin": float(sentence_scores[c.sentence] - sentence_scores[0]),
        }
        rows.append([kind, *_one_hot(c.origin, c.type), *_rest_of(rest)])
    return rows


def _distance(positions: Sequence[int], start: int, end: int, default: int) -> int:
    """How far the nearest term start in `positions` (sorted) is from a span: from its start for a term before
    it, from its end for one inside or after it (`default` when there is none)."""
    if not positions:
        return default
    i = bisect_left(positions, start)
    best = start - positions[i - 1] if i > 0 else None
    # among the terms from the span's start on, the nearest to its end: the last one up to it or the first past it
    j = bisect_right(positions, end)
    for p in (positions[j - 1] if j > i else None, positions[j] if j < len(positions) else None):
        if p is not None and (best is None or abs(p - end) < best):
            best = abs(p - end)
    return default if best is None else best


@cache
def _one_hot(origin: str, kind: str) -> tuple[float, ...]:
    """The origin and type columns of a candidate's row."""
    return (*(1.0 if origin == o else 0.0 for o in ORIGINS), *(1.0 if kind == t else 0.0 for t in SPAN_TYPES))


# the columns after the origin and type ones, in row order
_rest_of = itemgetter(*SPAN_FEATURES[1 + len(ORIGINS) + len(SPAN_TYPES) :])
