"""LLM answering that never fails the user: when the LLM can't answer, the extractive answerer does.

An LLM endpoint is a dependency that goes down, times out or answers garbage; a question should still get
a cited answer. The fallback's answer is marked mode="extractive_fallback" and carries the warning code
`llm_unavailable` (or `llm_ungrounded` when the LLM's answer stated a number its citations don't hold):
clients see only the code, never the upstream message or address, which go to the server log.

Streaming: if the LLM fails before its first delta, the fallback's own stream is passed through. If it fails
mid-answer, some LLM text has already gone out; the stream then ends with the fallback's final Answer, whose
text replaces everything streamed before it (the final Answer event is always authoritative).

The short answer of an LLM answer is the extractive model's, kept only when it lies inside what the LLM
cites: the LLM writes prose, the span ranker finds the minimal span.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence

from qa.answer.base import AnswerDelta, AnswerEvent
from qa.answer.extractive import Assessment, ExtractiveAnswerer
from qa.answer.grounding import number_values, strip_markers
from qa.answer.llm import LLMAnswerer
from qa.errors import QAError
from qa.query import Query
from qa.text import fold
from qa.types import Answer, Passage, ShortAnswer

log = logging.getLogger(__name__)

FALLBACK_MODE = "extractive_fallback"
LLM_UNAVAILABLE = "llm_unavailable"
LLM_UNGROUNDED = "llm_ungrounded"


class _UngroundedAnswer(Exception):
    pass


def _log_failure(exc: BaseException) -> None:
    if isinstance(exc, QAError):
        log.warning("LLM unavailable, answering extractively: %s", exc.message)
    else:  # not an outage we expected (a bug in a later step): still answer, but leave a trace for operators
        log.exception("LLM answering failed unexpectedly; answering extractively")


def _mark(answer: Answer, code: str, llm_ms: float) -> Answer:
    answer.mode = FALLBACK_MODE
    answer.warnings.append(code)
    answer.timings_ms.setdefault("llm_failed_ms", llm_ms)
    return answer


def _short_inside(answer: Answer, passages: Sequence[Passage], extractive: Answer) -> ShortAnswer | None:
    """The extractive short answer re-pointed at the LLM answer's citation that contains it, if any does, and only
    if the LLM's text says it too: a headline figure the answer beside it contradicts misleads twice."""
    short = extractive.short_answer
    if short is None or not _says(answer.answer, short.text):
        return None
    doc = extractive.citations[short.ref - 1].doc_id
    for c in answer.citations:
        if c.doc_id == doc and c.start <= short.start and short.end <= c.end:
            return ShortAnswer(short.text, c.ref, short.start, short.end)
    return None


def _says(text: str, short: str) -> bool:
    """Whether `text` states `short`: its numbers by value (45620 and 45,620 alike), else its words."""
    wanted = {value for _, value in number_values(short)}
    if wanted:
        return wanted <= {value for _, value in number_values(text)}
    return fold(short).strip().lower() in fold(strip_markers(text)).lower()


class FallbackAnswerer:
    """`primary` (the LLM) first; `fallback` (extractive) when the answer model says the passages answer
    nothing (no seconds of generation spent on it), when the LLM is down, slow or malformed, or when its
    answer states a number its citations don't hold. Never raises for an LLM failure."""

    def __init__(self, primary: LLMAnswerer, fallback: ExtractiveAnswerer, *, rest_s: float = 30.0) -> None:
        self.primary = primary
        self.fallback = fallback
        # after the LLM failed (down, or no reply within its timeout), questions are answered extractively at once
        # for this long: a hung endpoint would otherwise cost every question the whole timeout
        self.rest_s = rest_s
        self._resting_until = 0.0

    def _resting(self) -> bool:
        return time.monotonic() < self._resting_until

    def _failed(self, exc: BaseException) -> None:
        _log_failure(exc)
        if self.rest_s > 0:
            self._resting_until = time.monotonic() + self.rest_s
            log.warning("not asking the LLM for %g s (QA_LLM_REST_S)", self.rest_s)

    async def _assess(self, query: Query, passages: Sequence[Passage]) -> tuple[Assessment | None, Answer]:
        """The answer model's reading of the passages and its own answer: the gate, the short answer and the
        fallback all come from this one pass."""

        def both() -> tuple[Assessment | None, Answer]:
            assessment = self.fallback.assess(query, passages)
            return assessment, self.fallback.finish(query, passages, assessment)

        return await asyncio.to_thread(both)

    def _accept(self, answer: Answer, passages: Sequence[Passage], extractive: Answer) -> Answer:
        if answer.ungrounded_numbers:
            raise _UngroundedAnswer(f"stated numbers its citations don't hold: {', '.join(answer.ungrounded_numbers)}")
        if answer.found and not answer.citations:
            # an answer that cites nothing shows the reader nowhere to check it (the small local model sometimes
            # answers from the conversation, or from a passage it names no marker for)
            raise _UngroundedAnswer("cited no passage")
        answer.short_answer = _short_inside(answer, passages, extractive) if answer.found else None
        answer.question = extractive.question
        return answer

    async def run(self, query: Query, passages: Sequence[Passage]) -> Answer:
        assessment, extractive = await self._assess(query, passages)
        if not self.fallback.answers(assessment):
            return extractive
        if self._resting():
            return _mark(extractive, LLM_UNAVAILABLE, 0.0)
        t0 = time.perf_counter()
        try:
            return self._accept(await self.primary.run(query, passages), passages, extractive)
        except _UngroundedAnswer as exc:
            log.warning("LLM answer %s: answering extractively", exc)
            code = LLM_UNGROUNDED
        except Exception as exc:  # every failure, expected or not, must still produce an answer
            self._failed(exc)
            code = LLM_UNAVAILABLE
        return _mark(extractive, code, (time.perf_counter() - t0) * 1000)

    async def stream(self, query: Query, passages: Sequence[Passage]) -> AsyncIterator[AnswerEvent]:
        assessment, extractive = await self._assess(query, passages)
        answers = self.fallback.answers(assessment)
        if not answers or self._resting():
            # as `run`: a refusal is no LLM failure; an answer while the LLM rests says why it is extractive
            answer = _mark(extractive, LLM_UNAVAILABLE, 0.0) if answers else extractive
            yield AnswerDelta(answer.answer)
            yield answer
            return
        t0 = time.perf_counter()
        streamed_text = False
        try:
            async for event in self.primary.stream(query, passages):
                if isinstance(event, AnswerDelta):
                    streamed_text = True
                    yield event
                else:
                    yield self._accept(event, passages, extractive)
            return
        except _UngroundedAnswer as exc:
            log.warning("LLM answer %s: answering extractively", exc)
            code = LLM_UNGROUNDED
        except Exception as exc:
            self._failed(exc)
            code = LLM_UNAVAILABLE
        answer = _mark(extractive, code, (time.perf_counter() - t0) * 1000)
        if not streamed_text:
            yield AnswerDelta(answer.answer)
        yield answer


__all__ = ["FALLBACK_MODE", "LLM_UNAVAILABLE", "LLM_UNGROUNDED", "FallbackAnswerer"]
