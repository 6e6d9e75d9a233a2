"""The interface every answerer implements, so the service can swap extractive and LLM answering."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from qa.query import Query
from qa.types import Answer, Passage


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    """A piece of answer text as it is produced (streaming). Markers may arrive split across deltas."""

    text: str


AnswerEvent = AnswerDelta | Answer
"""A stream yields zero or more deltas, then exactly one final `Answer` (with verified citations)."""


class Answerer(Protocol):
    async def run(self, query: Query, passages: Sequence[Passage]) -> Answer:
        """Answer `query` from `passages` (best first). Never raises for an LLM outage."""
        ...

    def stream(self, query: Query, passages: Sequence[Passage]) -> AsyncIterator[AnswerEvent]:
        """Like `run`, yielding text deltas first and the final `Answer` last."""
        ...
