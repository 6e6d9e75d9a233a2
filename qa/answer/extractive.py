"""The extractive answerer: quote the sentence(s) of the retrieved passages that answer the question.

No generation means no invented facts: every word of the answer (apart from a fixed lead-in) is a slice of a
stored document. The work is choosing sentences: each is scored on the kind of fact the question wants
(a number with the unit asked for, a date, …), IDF-weighted keyword overlap, dense similarity to the
question when an embedder is available, and the rank of its passage. Complementary facts (two counts in
two sentences) are all given, each cited; the same fact stated again elsewhere is given once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from qa.answer.base import AnswerDelta, AnswerEvent
from qa.answer.citations import finalize_answer, refusal_answer
from qa.answer.grounding import number_values
from qa.answer.question import QuestionInfo, analyze, detect_lang
from qa.answer.relevance import (
    HEADING_FACTOR,
    YEAR_CONFLICT_FACTOR,
    SentenceCandidate,
    assess,
    clauses,
    cue_weight,
    fact_numbers,
    keyword_coverage,
    rescore,
    satisfies_constraints,
    sentence_candidates,
    subject_terms,
    type_cue,
)
from qa.config import Settings
from qa.text import CJK_CHAR
from qa.types import Answer, Passage

if TYPE_CHECKING:
    from qa.embed.base import Embedder

MODE = "extractive"
# weight of the retrieval prior of a sentence's passage next to keyword coverage (0..1) and the answer cue
PRIOR_WEIGHT = 0.2
# how much the attribute share (keywords other than the subject's name) counts next to the focused coverage
# Sentences embedded per question: sentence-transformers runs ~22 passages/s on this CPU class, so this
# bounds the dense step to about a second.
MAX_DENSE_SENTENCES = 16
# with words in common the lexical ranking is good; dense only reorders its top few
MAX_DENSE_SAME_LANG = 8
# how far (chars) a complementary fact may sit from a chosen sentence of the same passage
NEAR_CHARS = 160
# below this keyword coverage the best sentence was chosen without word evidence (e.g. across languages)
NO_LEXICAL_EVIDENCE = 0.2
MAX_PASSAGES = 8
MAX_FACTS = 4
# a sentence longer than this is quoted by its tightest clause window (an English word is ~5 characters
# where a Chinese one is ~2, so English sentences get a larger budget: they are quoted whole far more often)
LONG_SENTENCE_CHARS = 150
CLAUSE_WINDOW_CHARS = 110
LATIN_LENGTH_FACTOR = 2.5
# e5 cosines live in a narrow band; this maps the band to 0..1 for mixing with the other signals
DENSE_FLOOR, DENSE_CEIL = 0.75, 0.92
_TERMINAL = re.compile(r"([。！？；!?;.…]+[”’」』）)\]】》\"']*)$")


def _context(p: Passage) -> str:
    return f"{p.title}\n{p.text}"


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"\s+", "", text.lower())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class ExtractiveAnswerer:
    """Implements `qa.answer.base.Answerer` by quoting and citing passage sentences."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self._settings = settings
        self._embedder = embedder

    async def run(self, question: str, passages: Sequence[Passage]) -> Answer:
        # jieba and the embedder are CPU-bound: keep the event loop free for other requests
        return await asyncio.to_thread(self.answer, question, passages)

    async def stream(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[AnswerEvent]:
        answer = await self.run(question, passages)
        yield AnswerDelta(answer.answer)
        yield answer

    # -- synchronous core -----------------------------------------------------------------------------
    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        t0 = time.perf_counter()
        info = analyze(question)
        passages = list(passages[:MAX_PASSAGES])
        relevance = assess(info, passages)
        if not relevance.answerable:
            result = refusal_answer(question, mode=MODE)
        else:
            chosen = self._choose(info, passages, cross_only=relevance.cross)
            if not chosen:
                result = refusal_answer(question, mode=MODE)
            else:
                raw = self._compose(info, passages, chosen)
                result = finalize_answer(raw, question, passages, mode=MODE)
        result.timings_ms["answer"] = (time.perf_counter() - t0) * 1000.0
        return result

    def _choose(
        self, info: QuestionInfo, passages: Sequence[Passage], cross_only: bool = False
    ) -> list[SentenceCandidate]:
        # a multi-part question's stated periods and numbers belong to its parts: each part checks its own;
        # when only passages in the other language vouched for an answer, the answer comes from them
        cands = [
            c
            for c in sentence_candidates(info, passages, MAX_PASSAGES)
            if (info.parts or satisfies_constraints(info, passages[c.passage_index], passages))
            and (c.cross or not cross_only)
        ]
        if not cands:
            return []
        self._score(info, passages, cands)
        if not info.parts:
            return self._select(info, cands, [])
        # A multi-part question: answer each part on its own, then give all the answers together.
        chosen: list[SentenceCandidate] = []
        for part in info.parts:
            pinfo = analyze(part)
            subjects = subject_terms(pinfo, passages[:MAX_PASSAGES])
            rescored = [
                rescore(pinfo, c, passages[c.passage_index], subjects[c.passage_index])
                for c in cands
                if satisfies_constraints(pinfo, passages[c.passage_index], passages)
            ]
            if not rescored:
                continue
            self._lexical_score(pinfo, rescored, self._passage_prior(passages))
            for c in self._select(pinfo, rescored, chosen, cap=2):
                if not any((c.passage_index, c.start) == (o.passage_index, o.start) for o in chosen):
                    chosen.append(c)
        return chosen[:MAX_FACTS]

    def _select(
        self,
        info: QuestionInfo,
        cands: list[SentenceCandidate],
        already: list[SentenceCandidate],
        cap: int | None = None,
    ) -> list[SentenceCandidate]:
        """The best sentence, plus ones that add facts the question asks for (not the same fact again)."""
        ranked = sorted(cands, key=lambda c: -c.score)
        best = ranked[0]
        chosen = [best]
        facts = set(self._facts(info, best.meaning))
        details = self._all_numbers(best.text)
        grams = [_bigrams(c.text) for c in [*already, best]]
        wants_facts = info.kind in ("number", "date")
        cap = cap or (MAX_FACTS if wants_facts else 2)
        for c in ranked[1:]:
            if len(chosen) >= cap:
                break
            if c.score < 0.75 * best.score or c.coverage < 0.6 * best.coverage:
                break
            g = _bigrams(c.text)
            if any(_jaccard(g, other) >= 0.5 for other in grams):
                continue  # the same sentence again (another copy of the document, a reprint)
            near = any(o.passage_index == c.passage_index and abs(o.start - c.start) <= NEAR_CHARS for o in chosen)
            if not near and c.coverage < 0.95 * best.coverage:
                # a complementary fact sits next to the best one, or matches the question just as well
                continue
            if best.coverage < NO_LEXICAL_EVIDENCE and not (near and c.score >= 0.9 * best.score):
                # across languages only the dense score ranks: take its neighbours only when it rates them alike
                continue
            if wants_facts:
                own = set(self._facts(info, c.meaning))
                # New: a count the question asks for, or the same count with detail the chosen sentences lack
                # (a summary "510项, 其中…64项…413项" next to "18个部门64项…" adds the 18 departments).
                new_detail = bool(own) and not self._all_numbers(c.text) <= details
                if c.cue < min(best.cue, 1.0) or not (own - facts or new_detail):
                    continue  # nothing the chosen sentences don't already say
                facts |= own
                details |= self._all_numbers(c.text)
            elif c.score < 0.9 * best.score:
                continue
            chosen.append(c)
            grams.append(g)
        return chosen

    @staticmethod
    def _all_numbers(text: str) -> set[str]:
        return {value for _, value in number_values(text)}

    @staticmethod
    def _facts(info: QuestionInfo, text: str) -> list[str]:
        """The facts a sentence contributes to a fact-shaped question.

        For "多少项" these are the numbers counted in 项, not the "18个部门" around them: a sentence that only
        repeats counts already given adds nothing, however many other numbers it has.
        """
        return fact_numbers(info, text)

    @staticmethod
    def _passage_prior(passages: Sequence[Passage]) -> list[float]:
        """How strongly retrieval backs each passage (0..1), from its own evidence rather than a re-embedding.

        The fused score is a reciprocal-rank sum, so a passage both retrievers ranked high stands out from one
        only a single retriever found; dividing by the best keeps the prior comparable across questions.
        """
        if not passages:
            return []
        top = max(p.score for p in passages)
        out: list[float] = []
        for i, p in enumerate(passages):
            share = p.score / top if top > 0 else 0.0
            both = 1.0 if ("dense" in p.signals and "bm25" in p.signals) else 0.0
            out.append(0.5 * share + 0.25 * both + 0.25 / (1.0 + 0.5 * i))
        return out

    @staticmethod
    def _lexical_score(
        info: QuestionInfo, cands: Sequence[SentenceCandidate], prior: Sequence[float] | None = None
    ) -> None:
        cw = cue_weight(info)
        for c in cands:
            rank_score = prior[c.passage_index] if prior else 1.0 / (1.0 + 0.25 * c.passage_index)
            length_penalty = 0.1 * max(0.0, len(c.text) / 200.0 - 1.0)
            c.score = c.focused + cw * c.cue + PRIOR_WEIGHT * rank_score - length_penalty
            if info.kind in ("number", "date") and c.cue == 0.0:
                c.score *= 0.5  # the sentence cannot state the number or date asked for
            if c.heading:
                c.score *= HEADING_FACTOR
            if c.year_conflict:
                c.score *= YEAR_CONFLICT_FACTOR

    @staticmethod
    def _dense_bonus(c: SentenceCandidate) -> float:
        if c.dense is None:
            return 0.0
        return 0.6 * min(1.0, max(0.0, (c.dense - DENSE_FLOOR) / (DENSE_CEIL - DENSE_FLOOR)))

    def _score(self, info: QuestionInfo, passages: Sequence[Passage], cands: list[SentenceCandidate]) -> None:
        # No sentence re-embedding: measured on the sample set it changed one answer in a hundred while
        # costing ~0.5 s a question; the retriever's passage evidence is the dense signal that is used.
        self._lexical_score(info, cands, self._passage_prior(passages))

    def _quote(self, info: QuestionInfo, text: str) -> tuple[int, int]:
        """The span of `text` to quote: the whole sentence, or its best clause window when very long."""
        scale = 1.0 if CJK_CHAR.search(text) else LATIN_LENGTH_FACTOR
        if len(text) <= LONG_SENTENCE_CHARS * scale:
            return 0, len(text)
        parts = clauses(text)
        if len(parts) < 2:
            return 0, len(text)
        scores = [keyword_coverage(info, text[a:b]) + type_cue(info, text[a:b]) for a, b in parts]
        i = j = max(range(len(parts)), key=lambda k: scores[k])
        while True:
            options = []
            window = CLAUSE_WINDOW_CHARS * scale
            if i > 0 and parts[j][1] - parts[i - 1][0] <= window and scores[i - 1] > 0:
                options.append((scores[i - 1], i - 1, j))
            if j < len(parts) - 1 and parts[j + 1][1] - parts[i][0] <= window and scores[j + 1] > 0:
                options.append((scores[j + 1], i, j + 1))
            if not options:
                break
            _, i, j = max(options)
        a, b = parts[i][0], parts[j][1]
        while a < b and text[a].isspace():
            a += 1
        return a, b

    def _compose(self, info: QuestionInfo, passages: Sequence[Passage], chosen: list[SentenceCandidate]) -> str:
        """Quoted sentences in reading order (grouped by document, best document first), each with its marker."""
        doc_order: dict[str, int] = {}
        for c in chosen:
            doc_order.setdefault(passages[c.passage_index].doc_id, len(doc_order))
        ordered = sorted(
            chosen,
            key=lambda c: (
                doc_order[passages[c.passage_index].doc_id],
                passages[c.passage_index].start + c.start,
            ),
        )
        pieces: list[str] = []
        for c in ordered:
            a, b = self._quote(info, c.text)
            quote = c.text[a:b].rstrip(" ,，;；:：")
            marker = f"[{c.passage_index + 1}]"
            m = _TERMINAL.search(quote)
            if m:
                pieces.append(f"{quote[: m.start()]}{marker}{m.group(1)}")
            else:
                end = "。" if CJK_CHAR.search(quote) else "."
                pieces.append(f"{quote}{marker}{end}")
        zh_quotes = any(CJK_CHAR.search(p) for p in pieces)
        joiner = "" if zh_quotes else " "
        body = joiner.join(pieces)
        if info.lang == "en" and detect_lang(body) == "zh":
            # We cannot translate; a fixed lead-in tells the reader the quotes are the documents' own words.
            return f"According to the documents: {body}"
        return body
