"""One citation path for every answerer: parse [n] markers, narrow each to the exact supporting sentence(s),
renumber, and check the answer's numbers against what it cites.

A marker names a passage (1-based, as the passages were numbered for the answerer). A passage is a ~200-token
chunk; pointing a reader at the one sentence that says the fact is what makes a citation checkable, so each
marker is narrowed to the passage sentence(s) sharing the most numbers and words with the answer text the
marker closes. Every Citation's text is a slice of the stored document text (`passage.text[a:b]`, offsets
shifted by `passage.start`), never a paraphrase.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.answer.grounding import MARKER_RE, number_values, strip_markers, ungrounded_numbers
from qa.answer.prompts import REFUSAL_MARKERS, refusal_sentence
from qa.chunk.sentences import split_sentences
from qa.text import CJK_CHAR, detect_lang, fold, in_script_of
from qa.types import Answer, Citation, Passage

log = logging.getLogger(__name__)

# Phrases beyond the LLM prompt's own REFUSAL_MARKERS that also mean "not in the passages". They only count
# when the answer cites nothing, since a cited answer may well say "X is not mentioned, but Y [1]".
_EXTRA_REFUSAL_MARKERS = (
    "没有找到",
    "未找到",
    "没有提到",
    "未提到",
    "未提及",
    "没有提及",
    "没有相关信息",
    "无法回答",
    "无法从资料",
    "not mentioned",
    "no information",
    "does not say",
    "don't say",
    "do not contain",
    "doesn't contain",
    "cannot be answered",
    "can't be answered",
    "no passage answers",
)

_REF_PART = re.compile(r"(\d+)\s*[\-–]\s*(\d+)|(\d+)")
_WORD = re.compile(r"[a-z0-9]+")
_MAX_RANGE = 20
_MAX_SPANS_PER_CLAIM = 3


def refusal_answer(question: str, *, mode: str, prompts_dir: Path | None = None) -> Answer:
    """The answer that says the documents hold none, in the question's language."""
    text = in_script_of(refusal_sentence(detect_lang(question), prompts_dir), question)
    return Answer(answer=text, found=False, citations=[], question=question, mode=mode)


def looks_like_refusal(text: str, prompts_dir: Path | None = None) -> bool:
    # folded: an answer in traditional script says the same
    low = fold(text.strip())
    sentences = {fold(refusal_sentence(lang, prompts_dir)) for lang in ("zh", "en")}
    return low in sentences or any(fold(m) in low for m in (*REFUSAL_MARKERS, *_EXTRA_REFUSAL_MARKERS))


def _grams(text: str) -> set[str]:
    """CJK character bigrams (Chinese has no spaces; bigrams survive paraphrase well) plus Latin words, in one
    script: an answer in simplified script cites a traditional-script passage (陈建华, 陳建華) as well."""
    text = unicodedata.normalize("NFKC", fold(text)).lower()
    grams: set[str] = set(_WORD.findall(text))
    cjk = [c if CJK_CHAR.match(c) else " " for c in text]
    for a, b in itertools.pairwise(cjk):
        if a != " " and b != " ":
            grams.add(a + b)
    return grams


def _numbers(text: str) -> set[str]:
    return {v for _, v in number_values(text, split_groups=True)}


@dataclass(frozen=True, slots=True)
class _Sentence:
    start: int  # offsets into passage.text
    end: int
    grams: frozenset[str]
    numbers: frozenset[str]


def _passage_sentences(passage: Passage) -> list[_Sentence]:
    spans = split_sentences(passage.text) or [(0, len(passage.text))]
    out = []
    for a, b in spans:
        t = passage.text[a:b]
        out.append(_Sentence(a, b, frozenset(_grams(t)), frozenset(_numbers(t))))
    return out


def _support(claim_grams: set[str], claim_numbers: set[str], s: _Sentence) -> tuple[float, float, int]:
    """(score, word coverage, shared numbers) of a passage sentence as support for a claim."""
    shared = len(claim_numbers & s.numbers)
    coverage = len(claim_grams & s.grams) / len(claim_grams) if claim_grams else 0.0
    return 2.0 * shared + 3.0 * coverage, coverage, shared


def narrow(claim: str, passage: Passage, sentences: list[_Sentence] | None = None) -> list[tuple[int, int]]:
    """Spans (into passage.text) of the sentence(s) that best support `claim`, adjacent ones merged.

    Greedy cover: the best-matching sentence first, then sentences that bring claim numbers or words the
    chosen ones lack (an answer may join two facts from one passage under one marker). Falls back to the
    whole passage when no sentence shares anything with the claim: a citation must never be dropped silently.
    """
    sents = sentences if sentences is not None else _passage_sentences(passage)
    claim_grams = _grams(claim)
    claim_numbers = _numbers(claim)
    if not sents:
        return [(0, len(passage.text))]
    ranked = sorted(range(len(sents)), key=lambda i: (-_support(claim_grams, claim_numbers, sents[i])[0], i))
    best = ranked[0]
    _, coverage, shared = _support(claim_grams, claim_numbers, sents[best])
    if shared == 0 and coverage < 0.15:
        return [_trim(passage.text, 0, len(passage.text))]
    chosen = [best]
    left_numbers = claim_numbers - sents[best].numbers
    left_grams = claim_grams - sents[best].grams
    for i in ranked[1:]:
        if len(chosen) >= _MAX_SPANS_PER_CLAIM or (not left_numbers and len(left_grams) < 0.3 * len(claim_grams)):
            break
        s = sents[i]
        new_numbers = left_numbers & s.numbers
        new_grams = left_grams & s.grams
        if new_numbers or (claim_grams and len(new_grams) >= max(3, 0.25 * len(claim_grams))):
            chosen.append(i)
            left_numbers -= s.numbers
            left_grams -= s.grams
    chosen.sort()
    spans: list[tuple[int, int]] = []
    for i in chosen:
        a, b = sents[i].start, sents[i].end
        if spans and i - 1 in chosen and passage.text[spans[-1][1] : a].strip() == "":
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def parse_refs(group: str) -> list[int]:
    refs: list[int] = []
    for m in _REF_PART.finditer(group):
        if m.group(3) is not None:
            refs.append(int(m.group(3)))
        else:
            lo, hi = int(m.group(1)), int(m.group(2))
            if 0 < hi - lo <= _MAX_RANGE:
                refs.extend(range(lo, hi + 1))
            else:
                refs.extend((lo, hi))
    return list(dict.fromkeys(refs))


def _claim_sentences(claim: str) -> list[str]:
    text = claim.strip(" \t\n,，;；:：")
    if not text:
        return []
    parts = [text[a:b] for a, b in split_sentences(text)]
    return [p for p in parts if _grams(p) or _numbers(p)] or [text]


def finalize_answer(raw_text: str, question: str, passages: Sequence[Passage], *, mode: str) -> Answer:
    """Turn an answerer's raw text with [n] markers into an `Answer` with verified, sentence-level citations."""
    text = raw_text.strip()
    dropped: list[int] = []
    matches = list(MARKER_RE.finditer(text))
    any_valid = any(1 <= r <= len(passages) for m in matches for r in parse_refs(m.group(1) or m.group(2) or ""))
    if not strip_markers(text).strip():
        return refusal_answer(question, mode=mode)
    if not any_valid and looks_like_refusal(text):
        return refusal_answer(question, mode=mode)

    sentence_cache: dict[int, list[_Sentence]] = {}
    keys: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    out: list[str] = []
    cursor = 0
    prev_claim = ""
    for m in matches:
        claim = text[cursor : m.start()]
        out.append(claim)
        cursor = m.end()
        if strip_markers(claim).strip(" \t\n,，;；:：。.") == "":
            # "[1][2]" or "…。[1] [2]": the second marker closes the same claim as the first.
            claim = prev_claim
        prev_claim = claim
        new_refs: list[int] = []
        for ref in parse_refs(m.group(1) or m.group(2) or ""):
            if not 1 <= ref <= len(passages):
                dropped.append(ref)
                continue
            passage = passages[ref - 1]
            sents = sentence_cache.setdefault(ref, _passage_sentences(passage))
            spans: list[tuple[int, int]] = []
            for part in _claim_sentences(claim) or [question]:
                for span in narrow(part, passage, sents):
                    if span not in spans:
                        spans.append(span)
            for a, b in _merge_spans(passage.text, spans):
                key = (passage.doc_id, passage.start + a, passage.start + b)
                if key not in keys:
                    keys[key] = len(citations) + 1
                    citations.append(passage.cite(keys[key], a, b))
                if keys[key] not in new_refs:
                    new_refs.append(keys[key])
        if new_refs:
            out.append("".join(f"[{r}]" for r in new_refs))
        elif out:
            out[-1] = out[-1].rstrip(" ")
    out.append(text[cursor:])
    answer_text = re.sub(r"[ \t]+\n", "\n", "".join(out)).strip()
    # A marker that repeats the previous one ("…[1]，…[1]") is fine; identical adjacent groups are not.
    answer_text = re.sub(r"((?:\[\d+\])+)\1", r"\1", answer_text)
    if dropped:
        log.info("dropped citation markers naming no passage: %s", dropped)
    return Answer(
        answer=answer_text,
        found=True,
        citations=citations,
        question=question,
        mode=mode,
        ungrounded_numbers=ungrounded_numbers(answer_text, citations),
    )


def _merge_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort, drop spans inside others, join overlapping or touching ones (whitespace between)."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and (a <= merged[-1][1] or text[merged[-1][1] : a].strip() == ""):
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
            continue
        merged.append((a, b))
    return merged
