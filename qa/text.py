"""Scripts and language: the one place that says what counts as Chinese text.

Every stage that tells Chinese from other scripts (cleaning, chunking, retrieval, answering) uses these, so a
character counts the same everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache

# CJK unified ideographs: extension A, the basic block, the compatibility ideographs, and the supplementary
# planes' extensions B–F (rare characters of personal and place names, such as 𠮷 in 𠮷野家).
IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
CJK_CHAR = re.compile(f"[{IDEOGRAPHS}]")

# Scripts written without spaces between words (Chinese, Japanese), with their punctuation and full-width
# forms: two pieces of such text join without a space (CJK radicals through the unified ideographs — CJK
# punctuation, kana and bopomofo lie in between — the compatibility ideographs, half- and full-width forms,
# the supplementary ideographs). Korean is not among them: it puts spaces between words.
WIDE_CHARS = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0002ebef"
_WIDE_CHAR = re.compile(f"[{WIDE_CHARS}]")
LATIN_LETTER = re.compile(r"[A-Za-z]")

# A Chinese character carries about a word; English spends about five letters a word.
_LETTERS_PER_CJK_CHAR = 5


def is_wide(ch: str) -> bool:
    """Whether `ch` (one character) is text that joins its neighbours without a space."""
    return bool(_WIDE_CHAR.match(ch))


@lru_cache(maxsize=1)
def _to_simplified() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


def _fold_char(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch).lower()
    return folded if len(folded) == 1 else ch.lower() if len(ch.lower()) == 1 else ch


# Characters the fold table keeps: every CJK and Latin character a corpus uses fits many times over, and text
# made of rare code points cannot grow the table past it (they are folded each time instead).
_FOLD_TABLE_MAX = 65536


class _FoldTable(dict[int, str]):
    """`str.translate` table that folds each character the first time it is seen: translation then runs in C,
    which matters because the answer stage folds every candidate sentence of every request."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(self) < _FOLD_TABLE_MAX:
            self[code] = folded
        return folded


@cache
def _fold_table() -> _FoldTable:
    return _FoldTable()


def fold(text: str) -> str:
    """The form every matching step compares, with exactly one character per character of `text`.

    Full-width digits and letters become ASCII, Latin letters lower case, traditional Chinese characters
    simplified. Traditional and simplified Chinese are one language in two scripts; folding both to one lets
    a question in either script match text in either with one vocabulary. Length is kept, so an offset into
    the folded text is an offset into the original: characters whose normal form is longer (①, ㎡) stay."""
    return simplified_in_place(text.translate(_fold_table()))


def simplified_in_place(text: str) -> str:
    """`text` with traditional Chinese characters simplified and exactly one character per character, so an
    offset into the result is an offset into `text`."""
    simplified = to_simplified(text)
    if len(simplified) != len(text):  # a phrase rule changed the length: convert character by character
        simplified = "".join(_to_simplified()(ch) for ch in text)
    return simplified


def to_simplified(text: str) -> str:
    """`text` with traditional Chinese characters simplified (OpenCC t2s, phrase-aware), everything else as it
    is. Unlike `fold`, it keeps case and width and may change the length: for text a model reads, not offsets."""
    return _to_simplified()(text) if CJK_CHAR.search(text) else text


@lru_cache(maxsize=1)
def _to_traditional() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("s2t").convert


def is_traditional(text: str) -> bool:
    """Whether Chinese `text` is written in traditional script: more of its characters are traditional forms
    (which simplifying changes) than simplified ones (which the converse changes; it also turns some characters
    both scripts share into variants, 台 → 臺, so neither count alone tells)."""
    if not CJK_CHAR.search(text):
        return False
    traditional = sum(a != b for a, b in zip(text, simplified_in_place(text), strict=True))
    converse = _to_traditional()(text)
    simplified = sum(a != b for a, b in zip(text, converse, strict=True)) if len(converse) == len(text) else 0
    return traditional > simplified


def in_script_of(text: str, sample: str) -> str:
    """Chinese `text` (written in simplified script) in the script `sample` is written in."""
    return _to_traditional()(text) if is_traditional(sample) else text


def is_cjk(text: str) -> bool:
    """Whether `text` has any Chinese character."""
    return bool(CJK_CHAR.search(text))


def detect_lang(text: str) -> str:
    """'zh' when Chinese characters carry the text, else 'en' (the service's two answer languages).

    Counted in words, not characters: "GDP增长多少" is Chinese, an English sentence quoting one Chinese name is
    English.
    """
    cjk = len(CJK_CHAR.findall(text))
    latin = len(LATIN_LETTER.findall(text))
    return "zh" if cjk > 0 and cjk * _LETTERS_PER_CJK_CHAR >= latin else "en"
