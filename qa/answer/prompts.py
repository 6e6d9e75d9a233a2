"""Prompt templates for LLM answering, kept as files in the repo's prompts/ folder so they can be tuned without code.

The prompt is deliberately short: the local 1.5B model on 2 CPU threads processes a prompt at roughly
50-100 tokens/s, so every passage character costs first-token latency. Passages are capped in number and
length here, and the system prompt is fixed per language so llama.cpp's prompt-prefix cache reuses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from qa.errors import QAError
from qa.types import Passage

# What the model is told to say when the passages hold no answer (rule 5 of the system prompts).
REFUSAL_TEXT: dict[str, str] = {
    "zh": "资料中没有找到这个问题的答案。",
    "en": "The documents don't say.",
}
# Substrings that mark a refusal in a raw reply. Broader than REFUSAL_TEXT because a small model paraphrases
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

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_LATIN = re.compile(r"[A-Za-z]")
# sentence ends, so a trimmed passage stops after a whole sentence rather than mid-clause
_SENTENCE_END = re.compile(r"[。!?;!?;]|\.(?=\s)|\n")

DEFAULT_MAX_PASSAGES = 5
DEFAULT_MAX_PASSAGE_CHARS = 500
DEFAULT_MAX_TOTAL_CHARS = 1800
_MAX_TITLE_CHARS = 60


class PromptsNotFound(QAError):
    code = "prompts_not_found"
    status = 500


def question_language(question: str) -> str:
    """'zh' when the question has any CJK ideograph, else 'en': the answer follows the question's language."""
    return "zh" if _CJK.search(question) else "en"


def is_refusal(text: str) -> bool:
    return any(marker.lower() in text.lower() for marker in REFUSAL_MARKERS)


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
            return PromptTemplates(system, refusal, Template(user), language, folder)
    where = ", ".join(str(p) for p in searched)
    raise PromptsNotFound(
        f"Prompt templates {', '.join(names)} not found in: {where}. Set QA_PROMPTS_DIR to a folder that has them."
    )


def passages_language(passages: Sequence[Passage]) -> str:
    """'zh' when CJK ideographs outnumber Latin letters in the passages' text, else 'en'."""
    cjk = latin = 0
    for passage in passages:
        cjk += len(_CJK.findall(passage.text))
        latin += len(_LATIN.findall(passage.text))
    return "zh" if cjk > latin else "en"


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
        blocks.append(f"{header}\n{trim_text(passage.text, max_passage_chars)}")
    return "\n\n".join(blocks)


def build_messages(
    question: str,
    passages: Sequence[Passage],
    prompts_dir: Path | None = None,
    max_passage_chars: int = DEFAULT_MAX_PASSAGE_CHARS,
) -> list[dict[str, str]]:
    """Chat messages for `question` over `passages` (already selected: every one is shown and numbered)."""
    language = question_language(question)
    templates = load_templates(language, prompts_dir)
    system = templates.system
    # The refusal rule only where the model can judge absence: see prompts/README.md for the measurement.
    if passages_language(passages) == language:
        system = f"{system}\n{templates.refusal_rule}"
    user = templates.user.safe_substitute(
        passages=render_passages(passages, max_passage_chars), question=question.strip()
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
