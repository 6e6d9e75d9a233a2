"""The extractive answerer: the short answer and the sentences that hold it, quoted and cited.

No generation means no invented facts: every word of the answer, apart from a fixed lead-in for English
questions over Chinese text, is a slice of a stored document. All the choices are the fitted answer model's
(`qa.answer.model`): the sentence ranker orders the candidate sentences of the retrieved passages, the
refusal classifier decides whether they answer at all, the span ranker picks the short answer inside the
best sentences, and sentences are quoted, most probable first, until their probability adds up to the
model's coverage. An answer looks like "42公分[1] — 全长可达42公分，…[1]".
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.answer.base import AnswerDelta, AnswerEvent
from qa.answer.citations import refusal_answer
from qa.answer.evidence import Sentence, candidate_sentences, sentence_features
from qa.answer.grounding import MARKER_RE
from qa.answer.model import AnswerModel
from qa.answer.refusal import refusal_features
from qa.answer.spans import SpanCandidate, offered_types, span_candidates, span_features
from qa.query import Query, analyze
from qa.text import detect_lang, is_cjk
from qa.types import Answer, Citation, Passage, ShortAnswer

if TYPE_CHECKING:
    from qa.answer.processes import AnswerProcesses

MODE = "extractive"
# the short answer is looked for in this many of the best sentences (the span ranker is fitted on as many)
SPAN_SENTENCES = 2
# the span score of a question with no span candidate at all (below any ranker's output)
NO_SPAN_SCORE = -10.0
# at most this many sentences are quoted, however spread the ranker's probability is
MAX_QUOTED = 3
# Question kinds whose answer is an explanation: the best sentence is quoted with the sentences right before and
# after it in its passage, where a cause or a circumstance is stated ("…；因此，畜牧业发达。"). Chosen over the
# kinds on cmrc2018-trial (cross-validated fold models; it is a development set): for "reason" the answer holds
# the gold 0.740 -> 0.918 (73 questions), against +0.00-0.04 for the other kinds at as many more characters; on
# CMRC 2018 dev half B, never fitted on: 0.928 -> 0.959 (97 questions). bench/RESULTS.md, 2026-12-03.
EXPLAINED_KINDS = frozenset({"reason"})
# a short answer this close to its whole sentence is not repeated in front of the quote
_LEAD_MAX_SHARE = 0.8
_TRAILING = " ,，;；:：、"
# what opens an item of a list, one item a line: a bullet, or a number, letter or counting word in the forms
# documents number items with ("1.", "2、", "（三）", "a)", "④")
_ITEM = re.compile(
    r"[ \t\u3000]*(?:[-*•·●○▪■◆]\s|(?:\d{1,2}|[a-zA-Z])(?:[.、)）](?!\d))"
    r"|[（(](?:\d{1,2}|[一二三四五六七八九十]{1,3})[)）]|[一二三四五六七八九十]{1,3}、|[\u2460-\u2473])"
)
# the label of a key：value line, as infoboxes, forms and flattened table rows write facts: a phrase without
# punctuation up to a colon ("设计者：", "Born: "; an ASCII colon only before a space, so "10:30" is no label),
# not inside a title or a quotation ("《战争与和平：第一卷》")
_LABEL = re.compile(r"[^，。；、,;：:！？!?\n《〈“‘「『\"]+(?:：|:(?=\s))\s*")
# between a list's announcing sentence and its first item: the line break, and at most one blank line
_TO_FIRST_ITEM = re.compile(r"[ \t\u3000]*\n(?:[ \t\u3000]*\n)?")
_LINE_BREAKS = re.compile(r"\s*\n\s*")
# where a sentence ends for good: a full stop, or a line's end
_FULL_STOP = re.compile(r"[。！？!?]|\.(?=\s|$)|(?=\n)")


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the answer model makes of one question's passages."""

    sentences: list[Sentence]
    rows: list[list[float]]
    scores: np.ndarray
    probabilities: np.ndarray
    span: SpanCandidate | None  # sentence index is into `order`
    span_score: float
    order: np.ndarray  # sentence indices, best first
    answerable: float  # the refusal classifier's probability that the passages answer

    def span_sentence(self) -> Sentence | None:
        return self.sentences[int(self.order[self.span.sentence])] if self.span is not None else None


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / max(temperature, 1e-6)
    e = np.exp(z - z.max())
    return np.asarray(e / e.sum())


class ExtractiveAnswerer:
    """Implements `qa.answer.base.Answerer` by quoting and citing passage sentences."""

    def __init__(
        self, model: AnswerModel, prompts_dir: Path | None = None, processes: AnswerProcesses | None = None
    ) -> None:
        self.model = model
        self.prompts_dir = prompts_dir
        # `qa serve` answers in worker processes (qa.answer.processes); without them, in a thread of this one
        self.processes = processes

    def warm_up(self) -> None:
        """Answer two small questions, so the first user's does not wait for what answering loads on first use
        (the fitted boosters, the segmenter's, tagger's and English dictionaries: 1.3 s on these cores)."""
        warm = Passage(0, "warm", "warm", "预热", "预热一下。Warm up.", 0, 16, 1.0)
        for question in ("预热一下?", "warm up?"):
            self.answer(analyze(question), [warm])

    async def run(self, query: Query, passages: Sequence[Passage]) -> Answer:
        if self.processes is not None:
            return await self.processes.answer(query, passages)
        # segmentation and scoring are CPU-bound: keep the event loop free for other requests
        return await asyncio.to_thread(self.answer, query, passages)

    async def stream(self, query: Query, passages: Sequence[Passage]) -> AsyncIterator[AnswerEvent]:
        answer = await self.run(query, passages)
        yield AnswerDelta(answer.answer)
        yield answer

    # -- synchronous core -----------------------------------------------------------------------------
    def assess(self, query: Query, passages: Sequence[Passage]) -> Assessment | None:
        """Score the candidate sentences and spans; None when the passages have no sentence at all."""
        sentences = candidate_sentences(passages)
        if not sentences:
            return None
        rows = sentence_features(query, passages, sentences)
        scores = self.model.sentence.score(rows)
        probabilities = softmax(scores, self.model.temperature)
        order = np.argsort(-scores, kind="stable")
        top = [int(i) for i in order[:SPAN_SENTENCES]]
        folded = [sentences[i].folded for i in top]
        candidates = span_candidates(query, folded)
        span: SpanCandidate | None = None
        best: int | None = None
        span_score = NO_SPAN_SCORE
        if candidates:
            span_rows = span_features(query, folded, candidates, [scores[i] for i in top], self.model.type_prior)
            span_scores = self.model.span.score(span_rows)
            best = int(np.argmax(span_scores))
            span, span_score = candidates[best], float(span_scores[best])
        row = refusal_features(
            query,
            passages,
            rows,
            scores,
            probabilities,
            span,
            span_score,
            offered_types(query, folded, candidates),
            self.model.type_prior.get(query.kind, {}),
        )
        answerable = float(self.model.refusal.score([row])[0])
        return Assessment(sentences, rows, scores, probabilities, span, span_score, order, answerable)

    def answers(self, assessment: Assessment | None) -> bool:
        return assessment is not None and assessment.answerable >= self.model.threshold

    def answer(self, query: Query, passages: Sequence[Passage]) -> Answer:
        t0 = time.perf_counter()
        result = self.finish(query, passages, self.assess(query, passages))
        result.timings_ms["answer"] = (time.perf_counter() - t0) * 1000.0
        return result

    def finish(self, query: Query, passages: Sequence[Passage], assessment: Assessment | None) -> Answer:
        """The answer for an assessment: a refusal when the model says the passages don't answer."""
        if assessment is None or not self.answers(assessment):
            return refusal_answer(query.text, mode=MODE, prompts_dir=self.prompts_dir)
        return self.compose(query, passages, assessment)

    def quoted(self, assessment: Assessment, passages: Sequence[Passage], kind: str) -> list[int]:
        """Sentence indices to quote: most probable first until the model's coverage, plus the short answer's, and
        for a question asking for an explanation (`EXPLAINED_KINDS`) the best sentence's neighbours. A sentence a
        document repeats word for word is quoted once (as the short answer's, if it is that)."""
        chosen: list[int] = []
        by_text: dict[str, int] = {}  # a quoted sentence's text -> its place in `chosen`
        total = 0.0
        for i in assessment.order[:MAX_QUOTED]:
            text = assessment.sentences[i].text.strip()
            if text not in by_text:
                by_text[text] = len(chosen)
                chosen.append(int(i))
            total += float(assessment.probabilities[i])
            if total >= self.model.coverage:
                break
        if assessment.span is not None:
            holder = int(assessment.order[assessment.span.sentence])
            text = assessment.sentences[holder].text.strip()
            if text in by_text:
                chosen[by_text[text]] = holder
            else:
                chosen.append(holder)
        if kind in EXPLAINED_KINDS:
            for j in _neighbours(assessment.sentences, passages, int(assessment.order[0])):
                if assessment.sentences[j].text.strip() not in by_text:
                    chosen.append(j)
        return chosen

    def compose(self, query: Query, passages: Sequence[Passage], assessment: Assessment) -> Answer:
        """The answer text, its citations (one per quoted sentence) and the short answer."""
        sentences = assessment.sentences
        chosen = self.quoted(assessment, passages, query.kind)
        # reading order: documents by their best quoted sentence, then position in the document
        doc_rank: dict[str, int] = {}
        for i in chosen:
            doc_rank.setdefault(passages[sentences[i].passage].doc_id, len(doc_rank))
        chosen.sort(key=lambda i: (doc_rank[passages[sentences[i].passage].doc_id], _offset(passages, sentences[i])))
        # a sentence announcing a list ("原料包括：" and an item a line) is quoted with the list, whose items (sentences
        # of their own) are then not quoted apart; so is the rest of a list of clauses that a colon opens and
        # semicolons part ("主要包括：新建中小学23所；新增养老床位3000张；…。"), which sentence splitting cuts at each
        # semicolon
        lists = {i: _announced_list(passages[sentences[i].passage].text, sentences[i]) for i in chosen}
        end_of = {i: _quote_end(passages[sentences[i].passage].text, sentences[i], lists[i]) for i in chosen}
        within = {i: _inside(sentences, i, end_of) for i in chosen}
        citations: list[Citation] = []
        ref_of: dict[int, int] = {}
        for i in chosen:
            if within[i] is not None:
                continue
            s = sentences[i]
            p = passages[s.passage]
            ref_of[i] = len(citations) + 1
            citations.append(p.cite(ref_of[i], s.start, end_of[i]))
        for i, holder_of in within.items():
            if holder_of is not None:
                ref_of[i] = ref_of[holder_of]
        chosen = [i for i in chosen if within[i] is None]
        # without the documents' own reference marks ("7种[2]" from an encyclopedia): they would read as citations
        said = {
            i: MARKER_RE.sub(
                "", _LINE_BREAKS.sub(" ", passages[sentences[i].passage].text[sentences[i].start : end_of[i]])
            )
            for i in chosen
        }
        # a sentence quoted with the next one in its passage keeps the mark that parts them in the document
        # ("…的水源；因此，畜牧业发达。"): the two read as the document's own words, not as two sentences
        quotes = []
        for k, i in enumerate(chosen):
            tail = _tail(said[i])
            joined = bool(tail) and k + 1 < len(chosen) and _adjacent(passages, sentences, i, end_of[i], chosen[k + 1])
            quotes.append(f"{_quote(said[i])}[{ref_of[i]}]{tail if joined else _terminal(said[i])}")
        body = ("" if any(is_cjk(q) for q in quotes) else " ").join(quotes)
        short: ShortAnswer | None = None
        lead = ""
        holder = assessment.span_sentence()
        if assessment.span is not None and holder is not None:
            index = sentences.index(holder)
            span = assessment.span
            p = passages[holder.passage]
            a, b = holder.start + span.start, holder.start + span.end
            listed = lists.get(index)
            if listed is not None and not holder.text[span.end :].strip(_TRAILING + "。"):
                # a span running up to the colon ("原料包括") says a list follows: the answer is the list
                a, b = listed
            else:
                # a line's label is no part of the answer: "设计者：李春" answers with 李春, as a table row's value does
                a = _after_label(p.text, a, b, window_at_line_start=p.start == 0)
            text = p.text[a:b]
            ref = ref_of[index]
            short = ShortAnswer(text=text, ref=ref, start=p.start + a, end=p.start + b)
            if len(text) < _LEAD_MAX_SHARE * len(holder.text.strip()):
                lead = f"{text}[{ref}] — "
        answer = f"{lead}{body}"
        if query.lang == "en" and detect_lang(body) == "zh":
            # We cannot translate; the lead-in tells the reader the quotes are the documents' own words.
            answer = f"According to the documents: {answer}"
        return Answer(
            answer=answer,
            found=True,
            citations=citations,
            short_answer=short,
            question=query.text,
            mode=MODE,
        )


def _announced_list(text: str, sentence: Sentence) -> tuple[int, int] | None:
    """The list `sentence` (of passage text `text`) announces, as the passage offsets of its first item's start and
    its last item's end: the lines right after it that each open with an item mark, when it ends with a colon."""
    if not sentence.text.rstrip().endswith(("：", ":")):
        return None
    gap = _TO_FIRST_ITEM.match(text, sentence.end)
    if gap is None:
        return None
    pos = first = gap.end()
    last = None
    while pos < len(text) and _ITEM.match(text, pos):
        line_end = text.find("\n", pos)
        last = len(text) if line_end < 0 else line_end
        pos = last + 1
    if last is None:
        return None
    while text[first].isspace():
        first += 1
    return first, len(text[:last].rstrip())


def _after_label(text: str, a: int, b: int, *, window_at_line_start: bool) -> int:
    """Where the short answer text[a:b] (of a passage window `text`) starts once the label of its line is left out:
    when it starts its line (after any item mark) with a label whose brackets all close, and goes on past it;
    else `a`. Whether the window's first line starts a line of the document is told."""
    line_start = text.rfind("\n", 0, a) + 1
    if line_start == 0 and not window_at_line_start:
        return a
    lead = text[line_start:a]
    if lead.strip() and _ITEM.fullmatch(lead) is None:
        return a
    label = _LABEL.match(text, a, b)
    if label is None or label.end() >= b:
        return a
    key = label.group()
    if key.count("（") + key.count("(") != key.count("）") + key.count(")"):
        return a  # "五月艾（学名：）": the colon is inside a bracket, not after a label
    return label.end()


def _quote_end(text: str, sentence: Sentence, listed: tuple[int, int] | None) -> int:
    """Where the quote of `sentence` ends: after the list it announces (`listed`), or, when it holds a colon and
    ends with a semicolon, at the full stop (or the line's end) that closes the list of clauses it opens; else
    at its own end."""
    if listed is not None:
        return listed[1]
    said = sentence.text.rstrip()
    if not said.endswith(("；", ";")) or not ("：" in said or ":" in said):
        return sentence.end
    stop = _FULL_STOP.search(text, sentence.end)
    return stop.end() if stop is not None else len(text.rstrip())


def _inside(sentences: Sequence[Sentence], i: int, end_of: dict[int, int]) -> int | None:
    """The quoted sentence whose quote, run on past its own end (`end_of`), holds sentence `i`, if any."""
    s = sentences[i]
    for j, end in end_of.items():
        other = sentences[j]
        if j != i and other.passage == s.passage and other.end <= s.start < end:
            return j
    return None


def _neighbours(sentences: Sequence[Sentence], passages: Sequence[Passage], i: int) -> list[int]:
    """The sentences right before and after sentence `i` in its passage (only spaces between), where there are."""
    s = sentences[i]
    text = passages[s.passage].text
    return [
        j
        for j, other in enumerate(sentences)
        if other.passage == s.passage
        and j != i
        and (
            (other.end <= s.start and not text[other.end : s.start].strip())
            or (s.end <= other.start and not text[s.end : other.start].strip())
        )
    ]


def _offset(passages: Sequence[Passage], s: Sentence) -> int:
    return passages[s.passage].start + s.start


def _quote(text: str) -> str:
    """The sentence without its final punctuation (the marker goes before it)."""
    t = text.rstrip()
    end = len(t)
    while end > 0 and (t[end - 1] in "。！？!?；;.…" or t[end - 1] in _TRAILING):
        end -= 1
    return t[:end] if end > 0 else t


def _tail(text: str) -> str:
    """The sentence's own final punctuation, as the document has it (none, a comma, a semicolon, a full stop)."""
    t = text.rstrip()
    return t[len(_quote(t)) :].strip()


def _adjacent(passages: Sequence[Passage], sentences: Sequence[Sentence], i: int, end: int, j: int) -> bool:
    """Whether sentence `j` follows right after the quote of sentence `i`, which ends at `end`, on its line of its
    passage (across a line break the quotes are two sentences, a heading and its text, say)."""
    s = sentences[j]
    if s.passage != sentences[i].passage or end > s.start:
        return False
    gap = passages[s.passage].text[end : s.start]
    return not gap.strip() and "\n" not in gap


def _terminal(text: str) -> str:
    """The mark that ends the sentence's quote when it stands alone: its own full stop, else one in its script."""
    tail = _tail(text).strip(_TRAILING)
    if tail:
        return tail
    return "。" if is_cjk(text) else "."
