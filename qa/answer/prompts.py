"""Prompt templates for LLM answering, kept as files in the repo's prompts/ folder so they can be tuned without code.

The prompt is deliberately short: the local 1.5B model on 2 CPU threads processes a prompt at roughly
50-100 tokens/s, so every passage character costs first-token latency. Passages are capped in number and
length here, and the system prompt is fixed per language so llama.cpp's prompt-prefix cache reuses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from qa.errors import QAError
from qa.text import detect_lang
from qa.types import Passage

# Substrings that mark a refusal in a raw reply. Broader than the refusal sentence because a small model paraphrases
# ("资料中未提及…", "The documents do not say how many …"); the citation step decides `found` with these.
REFUSAL_MARKERS: tuple[str, ...] = (
    "资料中没有找到",
    "资料中未找到",
    "资料中没有提到",
    "资料中未提及",
    "资料中没有提及",
    "资料中没有相关",
    "资料未提及",
    "The documents don't say",
    "The documents do not say",
    "The documents don't mention",
    "The documents do not mention",
    "The passages don't say",
    "The passages do not say",
)

# sentence ends, so a trimmed passage stops after a whole sentence rather than mid-clause
_SENTENCE_END = re.compile(r"[。!?;!?;]|\.(?=\s)|\n")

DEFAULT_MAX_PASSAGES = 5
DEFAULT_MAX_PASSAGE_CHARS = 500
DEFAULT_MAX_TOTAL_CHARS = 1800
_MAX_TITLE_CHARS = 60


class PromptsNotFound(QAError):
    code = "prompts_not_found"
    status = 500


def packaged_prompts_dir() -> Path:
    """The templates that come with the code: `qa/prompts/` in an installed package (setup.py ships the
    top-level prompts/ folder there), else the top-level prompts/ folder of the source checkout."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "prompts"
    return installed if installed.is_dir() else package.parent / "prompts"


def prompts_dir_candidates(configured: Path | None) -> list[Path]:
    """Where templates are looked for, first match wins: QA_PROMPTS_DIR, then the packaged templates."""
    candidates = [configured] if configured is not None else []
    candidates.append(packaged_prompts_dir())
    return candidates


@lru_cache(maxsize=16)
def refusal_sentence(language: str, prompts_dir: Path | None = None) -> str:
    """The one sentence that says the documents hold no answer, in `language` ('zh' or 'en'): what the
    extractive answerer replies and what the LLM is told to reply (`refusal_<language>.txt`)."""
    name = f"refusal_{language}.txt"
    searched = prompts_dir_candidates(prompts_dir)
    for folder in searched:
        if (folder / name).is_file():
            return (folder / name).read_text(encoding="utf-8").strip()
    where = ", ".join(str(p) for p in searched)
    raise PromptsNotFound(f"{name} not found in: {where}. Set QA_PROMPTS_DIR to a folder that has it.")


@dataclass(frozen=True, slots=True)
class PromptTemplates:
    system: str
    refusal_rule: str
    user: Template
    language: str
    source: Path


def load_templates(language: str, prompts_dir: Path | None = None) -> PromptTemplates:
    """Read `answer_<language>.{system,refusal,user}.md` from the first folder that has them all."""
    names = [f"answer_{language}.{part}.md" for part in ("system", "refusal", "user")]
    searched = prompts_dir_candidates(prompts_dir)
    for folder in searched:
        files = [folder / name for name in names]
        if all(f.is_file() for f in files):
            system, refusal, user = (f.read_text(encoding="utf-8").strip() for f in files)
            rule = Template(refusal).safe_substitute(refusal=refusal_sentence(language, prompts_dir))
            return PromptTemplates(system, rule, Template(user), language, folder)
    where = ", ".join(str(p) for p in searched)
    raise PromptsNotFound(
        f"Prompt templates {', '.join(names)} not found in: {where}. Set QA_PROMPTS_DIR to a folder that has them."
    )


def passages_language(passages: Sequence[Passage]) -> str:
    return detect_lang("\n".join(p.text for p in passages))


def select_passages(
    passages: Sequence[Passage],
    max_passages: int = DEFAULT_MAX_PASSAGES,
    max_total_chars: int = DEFAULT_MAX_TOTAL_CHARS,
) -> list[Passage]:
    """The passages the prompt shows, best first. Their order defines the [n] numbers the model cites."""
    chosen: list[Passage] = []
    total = 0
    for passage in passages[:max_passages]:
        # always keep the best passage, however long; later ones only while the budget lasts
        if chosen and total >= max_total_chars:
            break
        chosen.append(passage)
        total += len(passage.text)
    return chosen


def trim_text(text: str, max_chars: int) -> str:
    """Cut at the last sentence end within `max_chars` (or hard-cut when a sentence is longer) and mark it."""
    text = re.sub(r"\s*\n\s*", "\n", re.sub(r"[ \t\u3000]+", " ", text)).strip()
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    cut = ends[-1] if ends and ends[-1] >= max_chars // 2 else max_chars
    return head[:cut].rstrip() + "…"


def _from_first_hit(passage: Passage) -> str:
    """A widened passage's text from the sentence where its best retrieved chunk starts: the prompt's
    character budget goes to what retrieval found, not to the context before it."""
    if not passage.hits:
        return passage.text
    first = min(passage.hits, key=lambda h: h.rank)
    offset = max(0, first.start - passage.start)
    ends = [m.end() for m in _SENTENCE_END.finditer(passage.text, 0, offset)]
    return passage.text[ends[-1] if ends else 0 :]


def render_passages(
    passages: Sequence[Passage],
    max_passage_chars: int = DEFAULT_MAX_PASSAGE_CHARS,
) -> str:
    blocks = []
    for number, passage in enumerate(passages, start=1):
        title = " ".join(passage.title.split())
        if len(title) > _MAX_TITLE_CHARS:
            title = title[:_MAX_TITLE_CHARS] + "…"
        header = f"[{number}] 《{title}》" if title else f"[{number}]"
        blocks.append(f"{header}\n{trim_text(_from_first_hit(passage), max_passage_chars)}")
    return "\n\n".join(blocks)


def build_messages(
    question: str,
    passages: Sequence[Passage],
    prompts_dir: Path | None = None,
    max_passage_chars: int = DEFAULT_MAX_PASSAGE_CHARS,
) -> list[dict[str, str]]:
    """Chat messages for `question` over `passages` (already selected: every one is shown and numbered)."""
    language = detect_lang(question)
    templates = load_templates(language, prompts_dir)
    system = templates.system
    # The refusal rule only where the model can judge absence: see prompts/README.md for the measurement.
    if passages_language(passages) == language:
        system = f"{system}\n{templates.refusal_rule}"
    user = templates.user.safe_substitute(
        passages=render_passages(passages, max_passage_chars), question=question.strip()
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
