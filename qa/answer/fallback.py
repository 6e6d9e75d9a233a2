"""LLM answering that never fails the user: when the LLM can't answer, the extractive answerer does.

An LLM endpoint is a dependency that goes down, times out or answers garbage; a question should still get
a cited answer. The fallback's answer is marked mode="extractive_fallback" and carries a warning that says
why, so the service can show it and operators can see the LLM is unhealthy.

Streaming: if the LLM fails before its first delta, the fallback's own stream is passed through. If it fails
mid-answer, some LLM text has already gone out; the stream then ends with the fallback's final Answer, whose
text replaces everything streamed before it (the final Answer event is always authoritative).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence

from qa.answer.base import AnswerDelta, Answerer, AnswerEvent
from qa.answer.llm import LLMAnswerer
from qa.answer.question import analyze
from qa.answer.relevance import is_answerable
from qa.errors import QAError
from qa.types import Answer, Passage

log = logging.getLogger(__name__)

FALLBACK_MODE = "extractive_fallback"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, QAError):
        return exc.message
    # not an outage we expected (a bug in a later step): still answer, but leave a trace for operators
    log.exception("LLM answering failed unexpectedly; answering extractively")
    return f"{type(exc).__name__}: {str(exc)[:160]}"


def _ungrounded(answer: Answer) -> list[str]:
    return [w for w in answer.warnings if w.startswith("ungrounded number")]


def _mark(answer: Answer, warning: str, llm_ms: float) -> Answer:
    answer.mode = FALLBACK_MODE
    answer.warnings.append(warning)
    answer.timings_ms.setdefault("llm_failed_ms", llm_ms)
    return answer


class _UngroundedAnswer(Exception):
    pass


class FallbackAnswerer:
    """`primary` (the LLM) first; `fallback` (extractive) when it is down, slow, malformed, or its answer
    states a number its citations don't hold. Never raises for an LLM failure."""

    def __init__(self, primary: LLMAnswerer, fallback: Answerer) -> None:
        self.primary = primary
        self.fallback = fallback

    def _skip_llm(self, question: str, passages: Sequence[Passage]) -> bool:
        """Retrieval shows nothing relevant: the extractive answerer refuses in milliseconds, with the same
        gate, instead of spending seconds of generation on a question the documents don't answer."""
        return not is_answerable(analyze(question), passages)

    async def run(self, question: str, passages: Sequence[Passage]) -> Answer:
        if self._skip_llm(question, passages):
            return await self.fallback.run(question, passages)
        t0 = time.perf_counter()
        try:
            answer = await self.primary.run(question, passages)
            bad = _ungrounded(answer)
            if not bad:
                return answer
            reason = f"its answer had {', '.join(bad)}"
        except Exception as exc:  # every failure, expected or not, must still produce an answer
            reason = _reason(exc)
        llm_ms = (time.perf_counter() - t0) * 1000
        answer = await self.fallback.run(question, passages)
        return _mark(answer, f"LLM unavailable ({reason}): answered extractively", llm_ms)

    async def stream(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[AnswerEvent]:
        if self._skip_llm(question, passages):
            async for event in self.fallback.stream(question, passages):
                yield event
            return
        t0 = time.perf_counter()
        streamed_text = False
        try:
            async for event in self.primary.stream(question, passages):
                if isinstance(event, AnswerDelta):
                    streamed_text = True
                elif bad := _ungrounded(event):
                    # A made-up number must never reach the user as an answer: replace it.
                    raise _UngroundedAnswer(f"its answer had {', '.join(bad)}")
                yield event
            return
        except _UngroundedAnswer as exc:
            reason = str(exc)
        except Exception as exc:
            reason = _reason(exc)
        llm_ms = (time.perf_counter() - t0) * 1000
        if not streamed_text:
            warning = f"LLM unavailable ({reason}): answered extractively"
            async for event in self.fallback.stream(question, passages):
                yield _mark(event, warning, llm_ms) if isinstance(event, Answer) else event
            return
        answer = await self.fallback.run(question, passages)
        yield _mark(
            answer,
            f"LLM failed mid-answer ({reason}): answered extractively; this answer replaces the streamed text",
            llm_ms,
        )


__all__ = ["FALLBACK_MODE", "FallbackAnswerer"]
