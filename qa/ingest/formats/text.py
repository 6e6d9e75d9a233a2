"""Plain text (.txt): decoded, with hard-wrapped English lines joined."""

from __future__ import annotations

import re

from qa.ingest.formats.base import RawText
from qa.ingest.formats.encoding import decode_text
from qa.text import CJK_CHAR, is_wide

# a line shorter than this ends where the writer ended it, not where the wrap column fell
_WRAP_MIN_CHARS = 40
_LATIN_END = re.compile(r"[A-Za-z0-9,]$")
_LOWER_START = re.compile(r"^[a-z]")
_NUMBER_END = re.compile(r"\d[.,]?$")
_NUMBER_START = re.compile(r"[.,]?\d")


class TextLoader:
    suffixes = frozenset({".txt"})

    def load(self, data: bytes, name: str) -> RawText:
        return RawText(unwrap_english(decode_text(data, name)))


def unwrap_english(text: str) -> str:
    """Join hard-wrapped English lines: a long line that stops mid-sentence (no terminal punctuation)
    followed by one starting in lower case is one sentence. Chinese lines are never joined: a Chinese
    line break is a paragraph break, and wrapped Chinese cannot be told from separate paragraphs."""
    out: list[str] = []
    for line in text.split("\n"):
        if out:
            prev = out[-1].rstrip()
            nxt = line.strip()
            if (
                len(prev.strip()) >= _WRAP_MIN_CHARS
                and _LATIN_END.search(prev)
                and _LOWER_START.match(nxt)
                and not CJK_CHAR.search(prev[-20:])
            ):
                out[-1] = join_wrapped_line(prev, nxt)
                continue
        out.append(line)
    return "\n".join(out)


def join_wrapped_line(left: str, right: str) -> str:
    """Two pieces of one wrapped line: CJK joins without a space, Latin with one (a hyphen at a word break
    is removed)."""
    if not left or not right:
        return left + right
    if left.endswith("-") and left[-2:-1].isalpha() and right[:1].islower():
        return left[:-1] + right
    if is_wide(left[-1]) or is_wide(right[0]):
        return left + right
    if _NUMBER_END.search(left) and _NUMBER_START.match(right) and any(map(is_wide, left[-12:] + right[:12])):
        return left + right  # a number the wrap cut in Chinese text ("面积2," + "468平方公里"): a space would split it
    return left + " " + right
