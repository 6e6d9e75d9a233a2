"""Typed spans of a sentence: the shapes a factoid answer takes.

A quantity question is answered by a number with its unit, a when-question by a date, "《…》是谁写的" by a
name. These recognisers find such spans by their form (digits and measure words, date patterns, title
and quotation marks, part-of-speech tags for names) so the answer stage can offer them as
short-answer candidates and weigh their kind against the kind of answer the question asks for. All
offsets are into the sentence given (folded text, see `qa.text.fold`, has the same offsets as the
original).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from qa.query.terms import EN_LETTER_UNITS, EN_MEASURE_WORDS, ZH_MEASURE_WORDS
from qa.segment import tagged
from qa.text import IDEOGRAPHS

SPAN_TYPES = ("number", "date", "title", "quote", "person", "place", "org", "proper", "latin")

_CN = "零〇一二两三四五六七八九十百千万亿"
# a magnitude alone is no number: "亿元" in a table's label "（亿元）" is a unit, whatever figure the row gives
_CN_NUMERAL = rf"(?=[{_CN}]*[零〇一二两三四五六七八九十])[{_CN}]*[十百千万亿][{_CN}]*"
# a comma groups thousands only in threes ("1,100", "12,345,678"): folding makes the Chinese comma "," too, and
# "分别为12，15，18个" or "12038，2018年" are several numbers
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)*"
_NUM = rf"(?:{_DIGITS}|{_CN_NUMERAL}|[一二两三四五六七八九])"
# a Chinese amount may run over several magnitudes ("2万1千", "3亿5000万")
_AMOUNT = rf"(?:{_NUM}(?:[万亿千百]\d+(?:\.\d+)?)*)"
# longest first, so "元人民币" is not cut to "元"; 个 may stand before a unit of time ("26个月", "3个小时"), and only
# before one: in "23个项目" the measure word is 个, and 项 begins the noun
_MEASURE = "(?:个(?:月|小时|星期|钟头|工作日)|" + "|".join(sorted(ZH_MEASURE_WORDS, key=len, reverse=True)) + ")"
_EN_MEASURE = "|".join(re.escape(w) for w in sorted(EN_MEASURE_WORDS, key=len, reverse=True))
_EN_UNIT = rf"(?:\s*(?:{_EN_MEASURE})|\s+[{EN_LETTER_UNITS}])(?![a-z])"
_APPROX = r"(?:约|近|逾|超过|大约|将近|达|共|多达)?"
# an amount with its magnitude ("3万", "2万1千", "1.5亿"), alone or as the ends of a range ("3万至5万"), and the
# approximation after it ("3000多", "380来户": 来 only before a measure word, as it is read so)
# (whitespace is taken only with what follows it: an optional part ending in spaces would keep a one-letter unit,
# which must follow a space, from matching)
_QUANTITY = rf"{_AMOUNT}(?:\s*(?:多|余|来(?={_MEASURE})))?(?:\s*(?:万|亿|千|百))?"
_NUMBER = re.compile(
    rf"(?<![a-z]){_APPROX}(?:[$€£¥]\s*)?{_QUANTITY}(?:(?:\s*{_MEASURE})?\s*[-－–~～至到]\s*{_QUANTITY})?"
    rf"(?:\s*{_MEASURE})?(?:{_EN_UNIT})?(?:\s+(?:{_EN_MEASURE})(?![a-z]))?",
    re.IGNORECASE,
)
_EN_RANGE_TO = re.compile(r"\s+to\s+")
_EN_RANGE_AND = re.compile(r"\s+and\s+")
_BETWEEN = re.compile(r"\bbetween\s+$")
# a time of day on a clock ("9:30", "14：00：05", "9:00 a.m.", "10 a.m."), after the part of the day it is in
# ("下午3:00"), alone or as the ends of a range ("14:00-16:00"): one time, not the numbers 14, 00-16 and 00
_CLOCK = r"(?:\d{1,2}[:：][0-5]\d(?:[:：][0-5]\d)?(?!\d)(?:\s*[ap]\.?m\b\.?)?|\d{1,2}\s*[ap]\.?m\b\.?)"
_DAY_PART = "(?:凌晨|早上|上午|中午|下午|傍晚|晚上|夜间)"
_CLOCK_TO = r"(?:\s*[-－–~～至到]\s*|\s+to\s+)"
# and as Chinese writes it: an hour after the part of the day ("下午3点", "上午九点半"), or with its minutes
# ("15时30分", "8点20分"), or the formal "14时"; a figure and 点 alone are points ("提出3点意见")
_ZH_CLOCK = (
    rf"{_DAY_PART}\s*[\d一二两三四五六七八九十]{{1,3}}\s*[点时](?:\s*\d{{1,2}}\s*分|半|整|许)?"
    r"|(?<![\d.])\d{1,2}\s*[点时]\s*\d{1,2}\s*分|(?<![\d.])\d{1,2}时(?:许|整)?"
)
_TIME_OF_DAY = rf"(?:{_DAY_PART}\s*)?(?<![\d:：.]){_CLOCK}(?:{_CLOCK_TO}(?:{_DAY_PART}\s*)?{_CLOCK})?|{_ZH_CLOCK}"
# a date in digits, as web pages date their articles ("2022-03-30", "2019/05/20", "2021.3.15"), with the time after
# it if one is given
# (the separator is the pattern's first group wherever this stands first)
_DIGIT_DATE = r"\d{4}([-/.])\d{1,2}\1\d{1,2}(?!\d|\.\d)"
_NUMERIC_DATE = rf"(?<![\d.]){_DIGIT_DATE}(?:\s+{_CLOCK})?"
# its month and day, to tell a date from a version or a code of the same shape ("2021.13.45")
_NUMERIC_DATE_PARTS = re.compile(r"\d{4}[-/.](\d{1,2})[-/.](\d{1,2})")
# a year, with its month and day if given ("1511年", "2009年3月17日")
_YEAR_DATE = r"(?:公元前?|西元前?)?\d{1,4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?"
_DATE = re.compile(
    rf"{_NUMERIC_DATE}|{_TIME_OF_DAY}|"
    rf"\d{{2,4}}\s*年代|{_YEAR_DATE}|\d{{1,2}}\s*月\s*\d{{1,2}}\s*[日号]|"
    r"\d{1,2}\s*月(?!份?\d)|[一二三四五六七八九十〇零]{2,4}年|"
    rf"[{IDEOGRAPHS}]{{1,3}}[元一二三四五六七八九十]{{1,3}}年|"
    r"\d{1,2}\s*世纪|"
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b"
    r"(?:\s+\d{1,2})?(?:,?\s+\d{4})?|\b(?:19|20)\d{2}\b",
    re.IGNORECASE,
)
# the end of a range of dates, after its start: in full ("1998年至2003年", "2022-03-30 - 2022-04-02"), or without the
# year, or the year and month, it shares with the start ("2019年3月至5月", "2008年12月11日至22日")
_DATE_RANGE_END = re.compile(
    rf"\s*[-－–~～至到]\s*(?:{_DIGIT_DATE}|{_YEAR_DATE}|\d{{1,2}}\s*月(?:\s*\d{{1,2}}\s*[日号])?|\d{{1,2}}\s*[日号])"
)
# a ratio or a score ("1：7", "3:2", "25:23"), where the colon is no clock's: one figure
_RATIO = re.compile(r"(?<![\d.:：])\d+(?:\.\d+)?[:：]\d+(?:\.\d+)?(?![\d:：])")
# what reads a bare "21:19" as a score or a ratio rather than a time: a word of comparing just before it, or an hour
# no clock has
_RATIO_CUE = re.compile(r"比|score|ratio", re.IGNORECASE)
_RATIO_CUE_REACH = 4
_BARE_CLOCK = re.compile(r"(\d{1,2})[:：]\d\d")
_TITLE = re.compile(r"《[^《》]{1,40}》")
_QUOTE = re.compile(r"「[^「」]{1,40}」|“[^“”]{1,40}”|『[^『』]{1,40}』|\"[^\"]{1,40}\"")
_POS_TYPES = {"nr": "person", "nrfg": "person", "nrt": "person", "ns": "place", "nt": "org", "nz": "proper"}


@dataclass(frozen=True, slots=True)
class TypedSpan:
    start: int
    end: int
    type: str


# the tagger's numerals and measure words: it reads "万人次", "架次", "多名" as one quantity word
_QUANTITY_FLAGS = frozenset({"m", "q"})


def _measure_end(tagged: Sequence[tuple[int, int, str]], text: str, b: int) -> int:
    """Where a number's measure words end: past the quantity word the pattern stopped inside ("2.1万人" of
    "2.1万人次") and the quantity words right after it ("26个" + "月"), which the tagger's dictionary knows
    beyond any list here. A word with digits of its own is another number."""
    for start, end, flag in tagged:
        if end <= b:
            continue
        if start > b or flag not in _QUANTITY_FLAGS or any(ch.isdigit() for ch in text[max(start, b) : end]):
            break
        b = end
    return b


def _pos_spans(tagged: Sequence[tuple[int, int, str]], text: str) -> Iterator[TypedSpan]:
    """Names by part of speech: runs of tokens jieba's tagger (rjieba's port) marks as a person, place,
    organisation or other proper noun (adjacent tokens of one kind are one name: 艾伦·劳埃德 …), and
    Latin-script words."""
    run: tuple[int, int, str] | None = None
    for start, end, flag in tagged:
        word = text[start:end]
        kind = _POS_TYPES.get(flag) or ("latin" if flag == "eng" else None)
        if kind is None and run is not None and word == "·" and run[2] == "person":
            run = (run[0], end, run[2])
            continue
        if kind is not None and run is not None and run[2] == kind and start == run[1]:
            run = (run[0], end, kind)
            continue
        if run is not None:
            yield TypedSpan(*run)
        run = (start, end, kind) if kind is not None else None
    if run is not None:
        yield TypedSpan(*run)


# the tagger's nouns: a numeral written onto one is part of a name, not an amount of it
_NOUN_FLAGS = frozenset({"n", *_POS_TYPES})
_BARE_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def _names_numeral(tagged: Sequence[tuple[int, int, str]], text: str, a: int, b: int) -> bool:
    """Whether the figure `text[a:b]`, in digits with no measure word or magnitude, is the numeral of a name:
    written right onto a noun ("309工业项目区", "985高校", "12345热线"), as no amount is written in Chinese (an
    amount takes a measure word: "309个项目区"). Such a figure answers no how-many question."""
    if not _BARE_DIGITS.fullmatch(text, a, b):
        return False
    return any(start == b and flag in _NOUN_FLAGS for start, _, flag in tagged)


def _plausible(m: re.Match[str]) -> bool:
    """A date in digits names a month and a day of one: "2021.13.45" is a version number or a code."""
    parts = _NUMERIC_DATE_PARTS.match(m.group())
    return parts is None or (1 <= int(parts.group(1)) <= 12 and 1 <= int(parts.group(2)) <= 31)


def _score_or(text: str, m: re.Match[str], kind: str) -> str:
    """`kind`, or "number" for a bare clock time that is a score or a ratio: "比分为21:19", "配比1:10", "25:23"."""
    bare = _BARE_CLOCK.fullmatch(m.group())
    if kind != "date" or bare is None:
        return kind
    if int(bare.group(1)) > 24 or _RATIO_CUE.search(text, max(0, m.start() - _RATIO_CUE_REACH), m.start()):
        return "number"
    return kind


@lru_cache(maxsize=16384)
def typed_spans(text: str) -> tuple[TypedSpan, ...]:
    """Every typed span of `text` (folded), possibly overlapping, in order of start. Cached: the sentence features
    and the short-answer candidates both read a request's best sentences, and the same passages come back for
    the questions users ask about them (tagging was a quarter of the answer stage's CPU)."""
    out: list[TypedSpan] = []
    for pattern, kind in ((_DATE, "date"), (_TITLE, "title"), (_QUOTE, "quote")):
        found = (m for m in pattern.finditer(text) if m.end() > m.start() and _plausible(m))
        out.extend(TypedSpan(m.start(), m.end(), _score_or(text, m, kind)) for m in found)
    # a range of dates is one date too, its end written without what it shares with its start
    for d in [s for s in out if s.type == "date"]:
        to = _DATE_RANGE_END.match(text, d.end)
        if to is not None:
            out.append(TypedSpan(d.start, to.end(), "date"))
    # spans whose figures are no numbers of their own: dates, the scores among the clock-like spans, and ratios
    wholes = [(s.start, s.end) for s in out if s.type in ("date", "number")]
    ratios: list[tuple[int, int]] = []
    for m in _RATIO.finditer(text):
        # "附件1：2019年" is a label and a year, not a ratio
        if not any(da < m.end() and m.start() < db for da, db in wholes):
            out.append(TypedSpan(m.start(), m.end(), "number"))
            wholes.append((m.start(), m.end()))
            ratios.append((m.start(), m.end()))
    words = tagged(text)
    for m in _NUMBER.finditer(text):
        a, b = m.start(), m.end()
        while b > a and text[b - 1].isspace():
            b -= 1
        if b <= a or not any(ch.isdigit() or ch in "零〇一二两三四五六七八九十百千万亿" for ch in text[a:b]):
            continue
        if any(da <= a and b <= db for da, db in wholes) or any(da == a for da, _ in wholes):
            continue  # a year inside a date is the date, and a span from a date on a date range ("1998年到2003年")
        if any(ra < a < rb for ra, rb in ratios):
            continue  # the figure after a ratio's colon is no number of its own: "1:7人" is no "7人"
        if b - a == 1 and not text[a].isdigit():
            continue  # a lone 一/十 is a word, not a number
        end = _measure_end(words, text, b)
        if end == b and _names_numeral(words, text, a, b):
            continue
        out.append(TypedSpan(a, end, "number"))
    numbers = [s for s in out if s.type == "number"]
    for first, second in itertools.pairwise(numbers):
        # English writes a range in words: "between 30,000 and 50,000 people", "3 to 5 km"
        gap = text[first.end : second.start]
        if _EN_RANGE_TO.fullmatch(gap) or (_EN_RANGE_AND.fullmatch(gap) and _BETWEEN.search(text, 0, first.start)):
            out.append(TypedSpan(first.start, second.end, "number"))
    out.extend(_pos_spans(words, text))
    return tuple(sorted(out, key=lambda s: (s.start, -s.end)))
