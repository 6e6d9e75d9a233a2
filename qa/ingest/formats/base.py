"""What every format loader returns, and the interface it implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RawText:
    """What a loader read. `title` is a headline the format itself declares (HTML metadata, a markdown
    `# heading`, a Word "Title" paragraph, PDF metadata), or None."""

    text: str
    title: str | None = None
    # PDF metadata titles are often a template or file name: use one only when the text has no headline
    title_is_fallback: bool = False


def as_superscript(text: str) -> str | None:
    """`text` in superscript characters ("5" → "⁵", "-3" → "⁻³"), or None when one has none. Formats that raise
    text print an exponent as a digit beside the number, which reads as another number: 10 and 5 as 105."""
    return text.translate(_SUPERSCRIPT_TABLE) if text and all(c in _SUPERSCRIPT for c in text) else None


_SUPERSCRIPT = "0123456789+-−=()n"
_SUPERSCRIPT_TABLE = str.maketrans(_SUPERSCRIPT, "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿ")


class FormatLoader(Protocol):
    """Reads the bytes of one file format into text.

    A loader checks that the bytes really are what the suffix claims (a `.pdf` that is not a PDF, a `.txt`
    that is binary) and raises `UnreadableFile` naming the file, so garbage never reaches the index.
    Boilerplate removal happens later, in `qa.ingest.clean`, the same way for every format.
    """

    @property
    def suffixes(self) -> frozenset[str]:
        """Lower-case file suffixes this loader reads, with the dot (".md")."""
        ...

    def load(self, data: bytes, name: str) -> RawText:
        """The text of `data`; `name` (the file's name or path) is only used in error messages."""
        ...
