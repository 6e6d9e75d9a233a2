"""Grounding: every number an answer states must appear in a span it cites.

Numbers are where a generated answer goes wrong most harmfully (a wrong count or sum reads as fact), and
they are cheap to check exactly. Values are compared, not strings, so 1,024 / 1024 / １０２４ / 一千零二十四
all count as the same number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal

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
    """Numbers stated in the answer that no cited span contains (as they appear in the answer, deduplicated).

    A number is compared with its magnitude: "3.4 million" is not the "3.4萬" of a citation, nor "21.4 billion"
    its "21.4亿" (2.14 billion, which would be grounded). A bare figure in a table whose unit names a magnitude
    ("人口（万人） 3.4") supports that figure with that magnitude."""
    bare: set[str] = set()
    scaled: set[str] = set()
    named: set[Decimal] = set()
    for c in citations:
        text = _fold_digits(strip_markers(c.text))
        bare.update(value for _, value in number_values(c.text))
        bare.update(value for _, value in _en_numbers(text))
        scaled.update(_scale(value, factor) for _, value, factor in _magnified(text))
        named.update(_FACTORS[m.group(1).lower()] for m in _UNIT_MAGNITUDE.finditer(text))
    said = _fold_digits(strip_markers(answer_text))
    out: list[str] = []
    seen: set[str] = set()
    for surface, value, factor in _magnified(said):
        total = _scale(value, factor)
        grounded = total in bare or total in scaled or (factor != 1 and value in bare and factor in named)
        if grounded or total in seen:
            continue
        seen.add(total)
        out.append(surface)
    for surface, value in [*_cn_numbers(said), *_en_numbers(said)]:
        if value in bare or value in scaled or value in seen:
            continue
        seen.add(value)
        out.append(surface)
    return out


def _en_numbers(text: str) -> Iterable[tuple[str, str]]:
    """(surface, value) of English number words from two to ninety-nine ("four", "twenty-five"); "one" is left
    out, as 一 is: it is mostly "a" ("one of the")."""
    for m in _EN_NUMBER.finditer(text):
        tens, ones = (m.group(1) or "").lower(), (m.group(2) or m.group(3) or "").lower()
        value = _EN_TENS.get(tens, 0) + _EN_UNITS.get(ones, 0)
        if value > 1:
            yield m.group(0), str(value)


def _magnified(text: str) -> Iterable[tuple[str, str, Decimal]]:
    """(surface, canonical value, magnitude) of each Arabic number: 3.4萬 → ("3.4", "3.4", 10000)."""
    for m in _ARABIC.finditer(text):
        after = _MAGNITUDE.match(text, m.end())
        factor = _FACTORS[after.group(1).lower()] if after else Decimal(1)
        yield m.group(0), _canonical(m.group(0)), factor


def _scale(value: str, factor: Decimal) -> str:
    if factor == 1:
        return value
    return _canonical(format((Decimal(value) * factor).normalize(), "f"))


_EN_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
}
_EN_TENS = {
    w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1
}
_EN_NUMBER = re.compile(
    rf"(?<![A-Za-z-])(?:({'|'.join(_EN_TENS)})(?:[- ]({'|'.join(list(_EN_UNITS)[1:10])}))?|({'|'.join(_EN_UNITS)}))"
    r"(?![A-Za-z-])",
    re.IGNORECASE,
)
# magnitude words written after a figure, and what they multiply it by
_FACTORS: dict[str, Decimal] = {
    **{w: Decimal(10) ** 12 for w in ("万亿", "萬億", "trillion")},
    **{w: Decimal(10) ** 11 for w in ("千亿", "千億")},
    **{w: Decimal(10) ** 10 for w in ("百亿", "百億")},
    **{w: Decimal(10) ** 9 for w in ("十亿", "十億", "billion", "bn")},
    **{w: Decimal(10) ** 8 for w in ("亿", "億")},
    **{w: Decimal(10) ** 7 for w in ("千万", "千萬")},
    **{w: Decimal(10) ** 6 for w in ("百万", "百萬", "million")},
    **{w: Decimal(10) ** 4 for w in ("万", "萬")},
    **{w: Decimal(10) ** 3 for w in ("千", "thousand")},
}
_MAGNITUDES = "|".join(sorted((re.escape(w) for w in _FACTORS), key=len, reverse=True))
_MAGNITUDE = re.compile(f"\\s*({_MAGNITUDES})(?![A-Za-z])", re.IGNORECASE)
# a unit in brackets, as a table header writes it: （万人）, (亿元), (million tonnes)
_UNIT_MAGNITUDE = re.compile(f"[（(]\\s*({_MAGNITUDES})(?![A-Za-z])[^（()）]{{0,12}}[)）]", re.IGNORECASE)
