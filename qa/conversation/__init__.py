"""Conversations: turn a follow-up question into the standalone question retrieval needs.

"那执法权限呢?" means nothing to a retriever; after "房寺镇下放了多少项权力?" it means "how many law-enforcement
powers were delegated to 房寺镇". A `Condenser` reads the question with the earlier turns and returns the
question actually searched for: unchanged when it stands alone (a new topic must not drag the old one in).

Two implementations: `TermCarry` (no LLM: carries the previous question's subject and constraint words into a
follow-up that lacks them, with a model fitted on dialogues) and `LLMCondenser` (a condense-question prompt,
falling back to `TermCarry` when the LLM is slow, down or answers with something that is not a question).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of a conversation."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Standalone:
    """The question retrieval uses. `method`: "asked" (used as asked), "terms" (words carried from earlier
    turns) or "llm" (rewritten by the LLM); `warnings` say why a rewrite fell back."""

    question: str
    method: str = "asked"
    warnings: tuple[str, ...] = ()


class Condenser(Protocol):
    async def run(self, question: str, history: Sequence[Turn]) -> Standalone:
        """The standalone form of `question` given the earlier turns (oldest first)."""
        ...


def user_questions(history: Sequence[Turn]) -> list[str]:
    """The user's earlier questions, oldest first (blank ones skipped)."""
    return [t.content.strip() for t in history if t.role == "user" and t.content.strip()]


__all__ = ["Condenser", "Role", "Standalone", "Turn", "user_questions"]
