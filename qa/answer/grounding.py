"""Grounding: every number an answer states must appear in a span it cites.

Numbers are where a generated answer goes wrong most harmfully (a wrong count or sum reads as fact), and
they are cheap to check exactly. Values are compared, not strings, so 1,024 / 1024 / １０２４ / 一千零二十四
all count as the same number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from qa.types import Citation

# Citation markers as any answerer writes them: [1], [1,2], [1-3], 【1】.
# Group 1 (square brackets) or group 2 (【】) holds the list of numbers.
MARKER_RE = re.compile(r"\[\s*(\d+(?:\s*[,，、\-–]\s*\d+)*)\s*\]|【\s*(\d+(?:\s*[,，、\-–]\s*\d+)*)\s*】")

# Digits with optional thousands separators and decimals; the separator form is tried first so 1,024 stays one.
_ARABIC = re.compile(r"(?<![\d.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_CN_RUN = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_SMALL_COUNT = re.compile(
    r"(?<![零〇一二两三四五六七八九十百千万亿第])([两二三四五六七八九])(?=周|天|个月|项|名|位|次|倍|批|座|家|户|条|所|年(?!级))"
)
_CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}


def _canonical(number: str) -> str:
    """One spelling per value: no separators, no leading zeros, no trailing fractional zeros."""
    s = number.replace(",", "")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    s = s.lstrip("0") or "0"
    if s.startswith("."):
        s = "0" + s
    return s


def _parse_cn(run: str) -> int | None:
    """Value of a Chinese numeral like 十八 / 两千三百 / 一万二千; None if it is not a well-formed numeral."""
    total = 0
    section = 0
    digit: int | None = None
    for ch in run:
        if ch in _CN_DIGITS:
            if digit is not None and digit != 0:
                return None  # "一二" is a list, not a number
            digit = _CN_DIGITS[ch]
        elif ch in _CN_SMALL_UNITS:
            section += (1 if digit is None else digit) * _CN_SMALL_UNITS[ch]
            digit = None
        elif ch in _CN_BIG_UNITS:
            section += digit or 0
            if section == 0:
                return None
            total += section * _CN_BIG_UNITS[ch]
            section = 0
            digit = None
    return total + section + (digit or 0)


def _cn_numbers(text: str) -> Iterable[tuple[str, str]]:
    """(surface, canonical value) of Chinese numerals that are clearly quantities.

    Only runs that combine a digit with a place unit (十八, 两千, 三百五十) count: single characters like 一 or
    五 are everywhere in ordinary words (一是, 五个方面), and 千万 is usually an adverb.
    """
    for m in _CN_RUN.finditer(text):
        run = m.group(0)
        has_digit = any(c in _CN_DIGITS and c not in "零〇" for c in run)
        has_unit = any(c in _CN_SMALL_UNITS or c in _CN_BIG_UNITS for c in run)
        if not (has_unit and (has_digit or run[0] == "十") and len(run) >= 2):
            continue
        value = _parse_cn(run)
        if value is not None and value > 0:
            yield run, str(value)
    # a lone digit counting something with a measure word is a quantity too (两周, 三个月, 五项); 一 is left out
    # (一项 mostly just means "a") and so is 个 (五个方面 is a phrase, not a count)
    for m in _CN_SMALL_COUNT.finditer(text):
        yield m.group(1), str(_CN_DIGITS[m.group(1)])


def strip_markers(text: str) -> str:
    return MARKER_RE.sub(" ", text)


def _fold_digits(text: str) -> str:
    """Full-width digits to ASCII. Not full NFKC: that would turn the Chinese list comma ，into a thousands
    separator and read "10，200个" as ten thousand two hundred."""
    return "".join(unicodedata.normalize("NFKC", c) if c in _FULLWIDTH else c for c in text)


_FULLWIDTH = frozenset("０１２３４５６７８９．％")


def number_values(text: str, *, chinese: bool = True, split_groups: bool = False) -> list[tuple[str, str]]:
    """(surface, canonical value) of every number in `text`, in order, markers ignored.

    With `split_groups`, "10,200" also yields 10 and 200: a comma between digits is ambiguous in Chinese text
    (list or thousands), so a span supports either reading.
    """
    text = _fold_digits(strip_markers(text))
    found: list[tuple[str, str]] = []
    for m in _ARABIC.finditer(text):
        surface = m.group(0)
        found.append((surface, _canonical(surface)))
        if split_groups and "," in surface:
            found.extend((part, _canonical(part)) for part in surface.split(","))
    if chinese:
        found.extend(_cn_numbers(text))
    return found


def ungrounded_numbers(answer_text: str, citations: Sequence[Citation]) -> list[str]:
    """Numbers stated in the answer that no cited span contains (as they appear in the answer, deduplicated)."""
    supported: set[str] = set()
    for c in citations:
        supported.update(value for _, value in number_values(c.text, split_groups=True))
    out: list[str] = []
    seen: set[str] = set()
    for surface, value in number_values(answer_text):
        if value in supported or value in seen:
            continue
        seen.add(value)
        out.append(surface)
    return out
