"""The query stage: read a question once, before retrieval, into the `Query` every later stage uses.

Retrieval needs its keyword-search terms (and, for an English question over Chinese text, their translations);
answering needs the kind of answer asked for, the weighted content words, the numbers the question states
and the words around its interrogative. Reading the question in one place means no stage re-analyses it
and all of them agree on what was asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from qa.query.kinds import answer_kind, interrogative_span
from qa.query.terms import (
    EN_DIMENSION_UNITS,
    EN_LETTER_UNITS,
    EN_MEASURE_WORDS,
    ZH_DIMENSION_UNITS,
    ZH_MEASURE_WORDS,
    content_terms,
    term_weight,
)
from qa.segment import index_terms, words
from qa.text import detect_lang, fold

__all__ = ["Query", "analyze"]

_STATED_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
# a year as a Chinese question writes it: four digits before 年, or the first year of a range ("2019—2023年")
_ZH_YEAR = re.compile(r"(?<![\d.])(1[5-9]\d\d|20\d\d)(?=\s*(?:年|[-—–~至到]\s*(?:1[5-9]|20)\d\d\s*年))")
# written in Chinese numerals ("二〇二三年"): digit by digit
_ZH_NUMERAL_YEAR = re.compile(r"([一二〇零三四五六七八九]{4})(?=年)")
_ZH_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
# in English, a four-digit number standing alone that no unit follows ("in 2023", not "2,000 m" or "1500 meters")
_EN_YEAR = re.compile(r"(?<![\d.,])\b(1[5-9]\d\d|20\d\d)\b(?![.,]\d)(?:\s*([%°a-z]+))?")
_QUESTION_END = re.compile(r"[\s?？。.!！]+$")
# a quantity's adjective after 多, as `qa.query.kinds` reads it, unless a noun of time makes the question one of
# a duration ("多长时间")
_DIMENSION = re.compile(rf"多([{''.join(ZH_DIMENSION_UNITS)}])(?!时间)")
_EN_DIMENSION = re.compile(rf"\bhow ({'|'.join(EN_DIMENSION_UNITS)})\b")


@dataclass(frozen=True, slots=True)
class Query:
    """A question, read once.

    `folded` is the question as every matching step compares it (`qa.text.fold`: NFKC, lower case,
    simplified script, same length as `text`). `terms` are its content words (interrogatives and function
    words removed), `weights` their rarity, `numbers` the numbers it states (constraints on the evidence),
    `units` the measure words a quantity question names, `frame` the folded question before and after its
    interrogative, `keywords` its keyword-search terms (`qa.segment.index_terms`, as the collection's text is
    indexed), `expansions` extra keyword-search terms (translations of an English question's words), and
    `names` the words of an English question that are Chinese names in pinyin (fangsi), which keyword search
    finds through the collection's own words that read so (房寺), and `years` the calendar years it names (a
    question about 2022 is not answered by a text about other years: `qa.retrieve.stating_years`).
    """

    text: str
    folded: str
    lang: str
    kind: str
    terms: tuple[str, ...]
    keywords: tuple[str, ...]
    weights: Mapping[str, float] = field(default_factory=dict)
    numbers: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    frame: tuple[str, str] = ("", "")
    expansions: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    years: tuple[int, ...] = ()

    @property
    def total_weight(self) -> float:
        return sum(self.weights.get(t, 0.0) for t in self.terms)


def _units(folded: str, tokens: Sequence[str], kind: str) -> tuple[str, ...]:
    if kind != "number":
        return ()
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if tok in ("多少", "几") and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            if nxt in ("万", "亿", "千", "百") and i + 2 < len(tokens):
                out.append(nxt)
                nxt = tokens[i + 2]
            if len(nxt) <= 2 and not nxt.isascii():
                out.append(nxt)
    if re.search(r"比例|百分之|百分比|占比|percent|proportion", folded):
        out.append("%")
    # "多高" asks for a length, in whichever unit the text gives it
    for m in _DIMENSION.finditer(folded):
        out.extend(ZH_DIMENSION_UNITS[m.group(1)])
    for m in _EN_DIMENSION.finditer(folded):
        out.extend(EN_DIMENSION_UNITS[m.group(1)])
    return tuple(dict.fromkeys(out))


def _glued(folded: str, tokens: Sequence[str], span: tuple[int, int]) -> str:
    """The word that starts with the interrogative and runs on past it: segmentation glues a quantity's
    interrogative to its measure word ("几层", "几岁"), which makes no content word of the question (its rest is
    the unit asked for). Empty when the interrogative stands alone."""
    pos = 0
    for token in tokens:
        start = folded.find(token, pos)
        if start < 0:
            continue
        pos = start + len(token)
        if start == span[0]:
            return token if pos > span[1] else ""
    return ""


def _is_unit(word: str) -> bool:
    return word in EN_MEASURE_WORDS or (len(word) == 1 and word in EN_LETTER_UNITS)


def _years(folded: str, lang: str) -> tuple[int, ...]:
    found = [int(y) for y in _ZH_YEAR.findall(folded)]
    found += [int(y.translate(_ZH_DIGITS)) for y in _ZH_NUMERAL_YEAR.findall(folded)]
    if lang == "en":
        found += [int(y) for y, unit in _EN_YEAR.findall(folded) if not _is_unit(unit)]
    return tuple(dict.fromkeys(found))


def analyze(question: str) -> Query:
    """Read `question` into a `Query` (language, answer kind, weighted terms, stated numbers, frame)."""
    folded = fold(question)
    lang = detect_lang(question)
    kind = answer_kind(folded, lang)
    span = interrogative_span(folded, lang)
    body = _QUESTION_END.sub("", folded)
    if span is not None:
        frame = (body[: span[0]].strip(), body[span[1] :].strip())
        asked = folded[span[0] : span[1]]
    else:
        frame = (body, "")
        asked = ""
    # segmented once: the units, the glued interrogative and the content terms all read these words
    tokens = words(folded)
    units = _units(folded, tokens, kind)
    glued = _glued(folded, tokens, span) if span is not None and kind == "number" else ""
    rest = glued[len(asked) :]
    # "多长" glued into one word asks a quantity of 长, which the answer's sentence says ("全长1122米") where it never
    # says "多长": the adjective is the question's word, as it is when segmentation keeps 多 apart ("多|高")
    adjective = rest if asked == "多" and rest else ""
    if rest not in ZH_MEASURE_WORDS and not adjective:  # "几何" is no interrogative
        glued = ""
    elif rest and not adjective:
        units = (rest, *(u for u in units if u != rest))
    numbers = tuple(dict.fromkeys(n.replace(",", "") for n in _STATED_NUMBER.findall(folded)))
    terms = list(
        dict.fromkeys(
            adjective if t == glued and adjective else t
            for t in content_terms(tokens)
            if t not in units and t not in asked and (t != glued or adjective) and (not t.isdigit() or t in numbers)
        )
    )
    terms.extend(n for n in numbers if n not in terms)
    expansions: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    if lang == "en":
        from qa.query.lexicon import chinese_terms, is_name_word

        expansions = tuple(chinese_terms(terms))
        names = tuple(t for t in terms if is_name_word(t))
    return Query(
        text=question,
        folded=folded,
        lang=lang,
        kind=kind,
        terms=tuple(terms),
        weights={t: term_weight(t) for t in terms},
        numbers=numbers,
        units=units,
        frame=frame,
        keywords=tuple(index_terms(question)),
        expansions=expansions,
        names=names,
        years=_years(folded, lang),
    )
