"""Follow-ups with an LLM: a condense-question prompt (prompts/condense_<lang>.*.md) rewrites the last question
of the conversation into a standalone one.

The rewrite is one short generation with its own deadline (`QA_CONDENSE_TIMEOUT_S`, well under the answer's):
a user waits for it before retrieval starts. The fallback condenser (`TermCarry`, no LLM) works meanwhile, and
decides instead when the LLM is down or slow, when its reply is not one question (an answer, an explanation,
several lines) or drops words the user asked with (the small local model sometimes repeats the previous
question instead), and when the rewrite adds no word of the conversation (the question left as it is, or only
rephrased): a small model misses follow-ups that lack their subject ("研究内容是什么？") more often than the
fitted carry model does, and a rephrased topic switch must still be searched for as asked.
A fallback the user should know about (the LLM failed) is reported in the answer's warnings as a code,
`rewrite_without_llm`; why it failed goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from string import Template

from qa.config import Settings
from qa.conversation import Condenser, Standalone, Turn, user_questions
from qa.conversation.terms import read
from qa.errors import LLMUnavailable, QAError
from qa.text import fold, is_cjk

log = logging.getLogger(__name__)

REWRITE_WITHOUT_LLM = "rewrite_without_llm"

Messages = list[dict[str, str]]
Complete = Callable[[Messages], Awaitable[str]]

# The turns shown to the model (the last few carry what a follow-up leans on), each cut to this many characters:
# the 1.5B local model reads ~50-100 prompt tokens a second on two busy cores.
SHOWN_MESSAGES = 6
SHOWN_CHARS = 240
# The rewrite is one question: a reply longer than this many times the longest question it could draw on is an
# answer or an explanation, not a rewrite.
MAX_GROWTH = 3
_MARKER = re.compile(r"\[\d+\]")
_LABEL = re.compile(r"^\s*(?:改写|独立问题|问题|rewrite|standalone question|question)\s*[:：]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’「」『』`"
_ROLES = {"zh": {"user": "用户", "assistant": "助手"}, "en": {"user": "User", "assistant": "Assistant"}}


class CondensePromptsNotFound(QAError):
    code = "prompts_not_found"
    status = 500


@dataclass(frozen=True, slots=True)
class CondensePrompt:
    system: str
    user: Template
    language: str


def load_prompt(language: str, prompts_dir: Path | None) -> CondensePrompt:
    """`condense_<language>.{system,user}.md` from QA_PROMPTS_DIR, else from the packaged prompts."""
    from qa.answer.prompts import prompts_dir_candidates

    names = [f"condense_{language}.system.md", f"condense_{language}.user.md"]
    searched = prompts_dir_candidates(prompts_dir)
    for folder in searched:
        files = [folder / name for name in names]
        if all(f.is_file() for f in files):
            system, user = (f.read_text(encoding="utf-8").strip() for f in files)
            return CondensePrompt(system, Template(user), language)
    where = ", ".join(str(p) for p in searched)
    raise CondensePromptsNotFound(
        f"Prompt templates {', '.join(names)} not found in: {where}. Set QA_PROMPTS_DIR to a folder that has them."
    )


def _shorten(text: str) -> str:
    text = " ".join(_MARKER.sub("", text).split())
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def build_messages(question: str, history: Sequence[Turn], prompt: CondensePrompt) -> Messages:
    roles = _ROLES[prompt.language]
    shown = [t for t in history if t.content.strip()][-SHOWN_MESSAGES:]
    transcript = "\n".join(f"{roles[t.role]}: {_shorten(t.content)}" for t in shown)
    user = prompt.user.safe_substitute(history=transcript, question=question.strip())
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]


def parse_rewrite(raw: str, question: str, asked_before: Sequence[str]) -> str:
    """The rewritten question from the model's reply; LLMUnavailable when the reply is not one question."""
    lines = [line for line in (_LABEL.sub("", ln).strip().strip(_QUOTES).strip() for ln in raw.splitlines()) if line]
    if not lines:
        raise LLMUnavailable("the question rewrite was empty")
    if len(lines) > 1:
        raise LLMUnavailable("the question rewrite was several lines, not one question")
    rewrite = lines[0]
    if not any(ch.isalnum() for ch in rewrite):
        raise LLMUnavailable("the question rewrite has no words in it")
    longest = max([len(question), *(len(q) for q in asked_before)])
    if len(rewrite) > MAX_GROWTH * longest:
        raise LLMUnavailable(f"the question rewrite is {len(rewrite)} characters long: an answer, not a question")
    return rewrite


def keeps_asked_words(rewrite: str, question: str) -> bool:
    """Whether every content word of the question (the rarest piece of each phrase) is still in the rewrite."""
    folded = fold(rewrite)
    return all((t.key or t.text) in folded for t in read(question).terms)


def brings_context(rewrite: str, question: str, history: Sequence[Turn]) -> bool:
    """Whether the rewrite adds a word of the earlier turns: one that adds none only rephrases the question (or
    makes something up), which is no reason to search for anything but the question as asked."""
    asked = fold(question)
    earlier = fold(" ".join(t.content for t in history))
    words = {w for t in read(rewrite).terms for w in (t.pieces or (t.text,))}
    return any(w not in asked and w in earlier for w in words)


def is_question_like(rewrite: str, question: str) -> bool:
    """A question that ends with a question mark is rewritten into one that does too: a rewrite ending as a
    statement is the model answering (the small local model sometimes states an answer from the history)."""
    marks = "?？"
    return not question.rstrip().endswith(tuple(marks)) or rewrite.rstrip().endswith(tuple(marks))


class LLMCondenser:
    """Rewrites with the LLM, `fallback` deciding when the LLM can't."""

    method = "llm"

    def __init__(self, settings: Settings, fallback: Condenser, complete: Complete | None = None) -> None:
        self.settings = settings
        self.fallback = fallback
        self._complete = complete or llm_complete(settings)

    async def run(self, question: str, history: Sequence[Turn]) -> Standalone:
        asked_before = user_questions(history)
        if not asked_before:
            return Standalone(question)
        fallback = asyncio.ensure_future(self.fallback.run(question, history))
        try:
            prompt = load_prompt("zh" if is_cjk(question) else "en", self.settings.prompts_dir)
            raw = await self._complete(build_messages(question, history, prompt))
            rewrite = parse_rewrite(raw, question, asked_before)
        except LLMUnavailable as exc:
            decided = await fallback
            # the reply names a code, like the answer's own fallbacks; the detail (the LLM's address, its error
            # page) is for operators, not for every client of the service
            log.warning("question rewrite without the LLM: %s", exc.message)
            return replace(decided, warnings=(*decided.warnings, REWRITE_WITHOUT_LLM))
        except BaseException:
            fallback.cancel()
            raise
        usable = is_question_like(rewrite, question) and keeps_asked_words(rewrite, question)
        if not (usable and brings_context(rewrite, question, history)):
            return await fallback
        fallback.cancel()
        return Standalone(rewrite, self.method)


def llm_complete(settings: Settings) -> Complete:
    """The configured LLM endpoint, with the rewrite's own deadline and no retries (a retry would outlast it)."""
    from qa.answer.llm import LLMAnswerer

    condensing = settings.model_copy(
        update={"llm_timeout_s": settings.condense_timeout_s, "llm_max_retries": 0, "llm_temperature": 0.0}
    )
    client = LLMAnswerer(condensing)

    async def complete(messages: Messages) -> str:
        return await client.complete(messages, max_tokens=settings.condense_max_tokens)

    return complete
