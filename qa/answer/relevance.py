"""Sentence-level relevance signals and the refusal gate shared by the extractive and LLM answerers.

Retrieval always returns *something*; the gate decides whether that something answers the question. It
looks for the question's constraints in the passages the way a reader would: a number or year the question
states must appear somewhere, the best sentence must carry most of the question's (IDF-weighted) keywords,
and, when the question and the passages are in different languages so words cannot match, the dense
similarity must be high enough.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from qa.answer.grounding import number_values
from qa.answer.lexicon import pinyin_contains, translations
from qa.answer.question import EN_STOPWORDS, QuestionInfo, analyze, detect_lang, is_cjk
from qa.chunk.sentences import split_sentences
from qa.types import Passage

# Calibrated on real runs (BM25 + e5 + RRF, top 5, 110 answerable / 17 unanswerable questions over the
# sample corpus). Weighted keyword coverage the best sentence (half credit for words found only in its
# passage or title) must reach when question and passages share a language ...
MIN_COVERAGE = 0.6
# ... or, for paraphrased questions, this lower coverage together with a strong dense match of the best
# passage (e5 cosines of on-topic passages sit at 0.88-0.93; off-topic ones below 0.85).
GRAY_COVERAGE = 0.45
GRAY_MIN_DENSE = 0.89
# e5 query-passage cosine the best passage must reach when words cannot match across languages. English
# questions over Chinese text measured 0.736-0.78 when answerable, 0.720 off-topic, but also 0.76-0.78 for
# on-topic questions the text does not answer: across languages this only keeps out off-topic questions.
MIN_CROSS_LINGUAL_DENSE = 0.73
# how much a keyword found only in the sentence's passage/title counts (the sentence says "全镇", the title
# names the town)
CONTEXT_CREDIT = 0.5
# partial credit for a Chinese word whose characters mostly occur (权力 vs 权限), scaled by the share found
PARTIAL_CREDIT = 0.5
# an English keyword whose only translation found is one character (村, 户, 党): common, so half credit
SINGLE_CHAR_CREDIT = 0.5

_NUM = r"(?:\d+(?:[.,]\d+)*|[零〇一二两三四五六七八九十百千万亿]*[十百千万亿][零〇一二两三四五六七八九十百千万亿]*)"
_ANY_UNIT = (
    r"个|项|家|元|块|亿|万|千|百|户|亩|人|名|位|座|所|条|种|次|件|台|辆|只|间|栋|套|篇|部|本|张|份|批|期|"
    r"公里|千米|平方米|平方公里|米|公顷|吨|公斤|千克|克|天|日|小时|分钟|岁|倍|%|％|度|余|多"
)
_NUM_ANY_UNIT = re.compile(rf"{_NUM}\s*(?:{_ANY_UNIT})")
_YEAR_LIKE = re.compile(r"(?<!\d)(?:1[6-9]|20)\d{2}(?!\d)")
_DATE = re.compile(
    r"\d{2,4}\s*年|\d{1,2}\s*月\s*\d{0,2}|\d{1,2}\s*日|\d{4}[-/.]\d{1,2}|"
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b|"
    r"\b(?:in|on|since|by|until)\s+\d{4}\b",
    re.IGNORECASE,
)
_PERSON_ZH = re.compile(
    r"书记|主任|镇长|乡长|市长|县长|区长|局长|部长|厅长|省长|经理|董事长|校长|院长|教授|同志|先生|女士|负责人|担任|主持"
)
_PERSON_EN = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+[A-Z]|\b[A-Z][a-z]+\s+[A-Z][a-z]+\b|\bchair|\bdirector|\bmayor")
_PLACE_ZH = re.compile(r"位于|地处|坐落|地址|在[\u4e00-\u9fff]{1,8}(?:省|市|县|区|镇|乡|村|街道|路)")
_PLACE_EN = re.compile(r"\blocated\b|\bsituated\b|\b(?:in|at|near)\s+[A-Z][a-z]+", re.IGNORECASE)
_DEF_MARK = r"(?:是|为|指|即|包括|称为|叫做|：|:|——)"
_REASON = re.compile(
    r"因为|由于|为了|原因|因此|所以|目的|旨在|以便|从而|导致|\bbecause\b|\bdue to\b|\bsince\b|\bin order to\b|"
    r"\bso that\b|\breasons?\b|\bcaused?\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,，;；:：]")
# "April 12, 2025": the comma between a month-day and its year is not a clause boundary
_MONTH_DAY_END = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}$", re.IGNORECASE
)
# A year as a year (2024年, "in 2024", "2024 Annual Report"), not a count such as "1,940 miles" or 2024万元
_YEAR = re.compile(
    r"(?<![\d,.])((?:19|20)\d{2})(?![\d,.%])(?!\s*(?:万|亿|元|个|人|户|亩|吨|米|公里|项|家|名|座|条|套|台|辆))"
)
# A keyword in the document's title, or in nearly every retrieved chunk of its document, names the subject
# ("Riverbend Water Authority" in a running header), not the fact asked: it counts this much of its weight.
SUBJECT_FACTOR = 0.25
SUBJECT_MIN_CHUNKS = 3
SUBJECT_CHUNK_SHARE = 0.8
# a sentence naming a year other than the one asked is about another period
YEAR_CONFLICT_FACTOR = 0.6
# a heading or running header names a topic; it states no fact
HEADING_FACTOR = 0.3
# across languages in a mixed result list, a passage of the other language must be (nearly) the best dense match
CROSS_DENSE_MARGIN = 0.01
# the share of the non-subject keywords (the attribute asked about) a sentence must carry to answer
MIN_ATTRIBUTE = 0.25

_UNIT_CLASS_PATTERNS = {
    "money": re.compile(
        r"[$¥￥€£]\s*\d|\d\s*(?:多|余)?\s*(?:万|亿|千|百)?\s*(?:元|美元|欧元|英镑|块钱|dollars?\b|yuan\b|usd\b|rmb\b)",
        re.IGNORECASE,
    ),
    "length": re.compile(
        r"\d\s*(?:多|余)?\s*(?:万)?\s*(?:公里|千米|(?<!平方)米|km\b|kilomet(?:er|re)s?\b|miles?\b|met(?:er|re)s?\b|"
        r"feet\b|ft\b)",
        re.IGNORECASE,
    ),
    "area": re.compile(
        r"\d\s*(?:多|余)?\s*(?:万)?\s*(?:平方米|平方公里|平方千米|亩|公顷|㎡|km²|m²|square\s+(?:feet|foot|met|kilomet|mile)|"
        r"sq\.?\s*ft|acres?\b|hectares?\b)",
        re.IGNORECASE,
    ),
    "people": re.compile(
        r"\d\s*(?:多|余)?\s*(?:万|千|百)?\s*(?:人|名|位)|\d\s+(?:\w+\s+)?(?:employees|staff|workers|people|persons|"
        r"members|volunteers|residents)\b",
        re.IGNORECASE,
    ),
}


# a counted noun may follow its number after a classifier and a short modifier: 10个行政村, 53支志愿服务队
_CLASSIFIER = r"(?:个|名|户|家|座|条|项|支|位|所|处|批|类|种)"


@lru_cache(maxsize=256)
def _unit_pattern(unit: str, group: bool = False) -> re.Pattern[str]:
    """A number carrying `unit`: right after it (64项, 3.5万元) or, for a noun, after a classifier (10个行政村)."""
    num = f"({_NUM})" if group else _NUM
    u = re.escape(unit)
    gap = rf"(?:{_CLASSIFIER}[\u4e00-\u9fff]{{0,4}}?)?" if is_cjk(unit) and unit not in _CLASSIFIER else ""
    return re.compile(rf"{num}\s*(?:多|余)?\s*(?:万|亿)?\s*{gap}{u}")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _contains(text_norm: str, keyword: str) -> bool:
    if is_cjk(keyword):
        return keyword in text_norm
    # whole-word match for Latin terms so "us" does not match "business"
    return re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", text_norm) is not None


def _cross_match(info: QuestionInfo, text: str, keyword: str) -> float:
    """How well a Latin keyword is present in Chinese text: 1 for a name read in pinyin or a multi-character
    translation, `SINGLE_CHAR_CREDIT` when only a one-character translation occurs (those are everywhere)."""
    if keyword.isdigit() or not is_cjk(text):
        return 0.0
    if keyword in info.names and pinyin_contains(text, keyword):
        return 1.0
    best = 0.0
    for zh in translations(keyword):
        if zh in text:
            if len(zh) > 1:
                return 1.0
            best = SINGLE_CHAR_CREDIT
    return best


@lru_cache(maxsize=2048)
def _english_glosses(text: str) -> frozenset[str]:
    """Chinese translations of the English words of `text`: what a Chinese keyword is matched against."""
    out: set[str] = set()
    for w in set(re.findall(r"[a-z]{3,}", text.lower())):
        if w not in EN_STOPWORDS:
            out.update(translations(w))
    return frozenset(out)


def _reverse_match(keyword: str, text: str) -> float:
    """How well a Chinese keyword is present in English text, through the dictionary (太阳能 ← solar)."""
    glosses = _english_glosses(text)
    if keyword in glosses:
        return 1.0
    if len(keyword) > 1 and any(len(g) > 1 and (g in keyword or keyword in g) for g in glosses):
        return PARTIAL_CREDIT
    return 0.0


def keyword_credits(info: QuestionInfo, text: str, context: str = "") -> dict[str, float]:
    """How much of each question keyword `text` carries (0..1).

    Keywords found only in `context` (the passage around the sentence, its title) count `CONTEXT_CREDIT`;
    a Chinese keyword whose characters mostly appear counts partially; a keyword of one language counts
    through dictionary translations (or an English name's pinyin reading) in text of the other.
    """
    t = _norm(text)
    c = _norm(context)
    cross = info.lang == "en" and is_cjk(text)
    reverse = info.lang == "zh" and not is_cjk(text)
    years = asked_years(info)
    # an asked year a sentence does not contradict is implied by its section (checked by
    # `satisfies_constraints` before any sentence is scored): it counts as context
    implied_year = CONTEXT_CREDIT if years and not year_conflict(info, text) else 0.0
    out: dict[str, float] = {}
    for k in info.keywords:
        credit = 0.0
        if _contains(t, k):
            credit = 1.0
        elif context and _contains(c, k):
            credit = CONTEXT_CREDIT
        elif cross:
            inside = _cross_match(info, text, k)
            outside = _cross_match(info, context, k) * CONTEXT_CREDIT if context and inside < 1.0 else 0.0
            credit = max(inside, outside)
        elif reverse and is_cjk(k):
            credit = _reverse_match(k, text)
        elif is_cjk(k) and len(k) > 1:
            share = sum(ch in t for ch in k) / len(k)
            if share >= 0.5:
                credit = PARTIAL_CREDIT * share
        if k in years:
            credit = max(credit, implied_year)
        out[k] = credit
    return out


def weighted_share(info: QuestionInfo, credits: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights.get(k, 0.0) for k in info.keywords)
    if total <= 0:
        return 0.0
    return sum(weights.get(k, 0.0) * credits.get(k, 0.0) for k in info.keywords) / total


def keyword_coverage(
    info: QuestionInfo, text: str, context: str = "", weights: Mapping[str, float] | None = None
) -> float:
    """IDF-weighted share of the question's keywords that `text` contains (0..1), see `keyword_credits`.
    `weights` overrides the question's own (per-passage weights that discount the document's subject)."""
    return weighted_share(info, keyword_credits(info, text, context), weights if weights is not None else info.weights)


def _answer_numbers(info: QuestionInfo, text: str) -> set[str]:
    """Numbers in `text` that could be an answer: not the ones the question itself states."""
    asked = {v for n in info.numbers for _, v in number_values(n, chinese=False)}
    return {v for _, v in number_values(text) if v not in asked}


def fact_numbers(info: QuestionInfo, text: str) -> list[str]:
    """Values of the numbers in `text` that answer a number/date question: those carrying a unit the
    question names, else those with any unit, else every number the question does not state itself."""
    t = unicodedata.normalize("NFKC", text)
    asked = {v for n in info.numbers for _, v in number_values(n, chinese=False)}
    if info.kind == "number":
        patterns = [_unit_pattern(u, group=True) for u in info.units] or [re.compile(rf"({_NUM})\s*(?:{_ANY_UNIT})")]
        for pattern in patterns:
            found = [v for m in pattern.finditer(t) for _, v in number_values(m.group(1)) if v not in asked]
            if found:
                return list(dict.fromkeys(found))
    return list(dict.fromkeys(v for _, v in number_values(t) if v not in asked))


def type_cue(info: QuestionInfo, text: str) -> float:
    """How well a sentence has the *kind* of fact the question wants (0..1); 0 for kinds with no cue."""
    kind = info.kind
    t = unicodedata.normalize("NFKC", text)
    if kind == "number":
        nums = _answer_numbers(info, t)
        if not nums:
            return 0.0
        if info.unit_class:
            # the attribute fixes the unit's kind: a number in another kind of unit is another fact
            return 1.0 if has_class_unit(info, t) else 0.3
        if info.count_noun and not is_cjk(t):
            return 1.0 if counts_noun(info, t) else 0.3
        for unit in info.units:
            if _unit_pattern(unit).search(t):
                return 1.0
        if _NUM_ANY_UNIT.search(t):
            return 0.7 if not info.units else 0.5
        # a bare number (maybe a year) is a weak cue
        non_year = [n for n in nums if not _YEAR_LIKE.fullmatch(n)]
        return 0.4 if non_year else 0.15
    if kind == "date":
        return 1.0 if _DATE.search(t) else 0.0
    if kind == "person":
        if _PERSON_ZH.search(t):
            return 0.6
        # a capitalised pair naming someone, not the question's own words ("General Manager", "Water Authority")
        for m in _PERSON_EN.finditer(t):
            if not all(w.lower() in info.keywords for w in re.findall(r"[A-Za-z]+", m.group(0))):
                return 0.6
        return 0.0
    if kind == "place":
        return 0.6 if (_PLACE_ZH.search(t) or _PLACE_EN.search(t)) else 0.0
    if kind == "reason":
        return 1.0 if _REASON.search(t) else 0.0
    if kind == "definition":
        low = _norm(t)
        for k in info.keywords:
            if k in low and re.search(rf"{re.escape(k)}[^,，。;；]{{0,6}}{_DEF_MARK}", low):
                return 1.0
        return 0.3 if re.search(_DEF_MARK, t) else 0.0
    return 0.0


def has_class_unit(info: QuestionInfo, text: str) -> bool:
    """Whether `text` gives a number in the kind of unit the question's attribute implies (True when none)."""
    pattern = _UNIT_CLASS_PATTERNS.get(info.unit_class)
    return pattern is None or pattern.search(unicodedata.normalize("NFKC", text)) is not None


def counts_noun(info: QuestionInfo, text: str) -> bool:
    """Whether English `text` gives a number of the things the question counts ("65,000 books",
    "3,140 lead service lines"); True when the question counts nothing in particular or the text is Chinese."""
    if not info.count_noun or is_cjk(text):
        return True
    stem = re.escape(info.count_noun[:-1] if info.count_noun.endswith("s") else info.count_noun)
    return re.search(rf"\d[\d,.]*\s+(?:[A-Za-z-]+\s+){{0,3}}?{stem}(?:s|es)?\b", text, re.IGNORECASE) is not None


def years_in(text: str) -> set[str]:
    return {m.group(1) for m in _YEAR.finditer(unicodedata.normalize("NFKC", text))}


def asked_years(info: QuestionInfo) -> set[str]:
    return {n for n in info.numbers if _YEAR_LIKE.fullmatch(n)}


def year_conflict(info: QuestionInfo, text: str) -> bool:
    """A sentence that names years, none of them the one asked: it reports another period
    ("In 2025 the Authority plans …" for a question about 2024)."""
    asked = asked_years(info)
    if not asked:
        return False
    stated = years_in(text)
    return bool(stated) and not stated & asked


_TERMINAL_PUNCT = re.compile(r"[。！？!?；;.…:：”\"')）]\s*$")
_ZH_SECTION = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|第[一二三四五六七八九十\d]+[章节部分篇])"
)


def is_heading(text: str, title: str = "") -> bool:
    """A heading, title or running header: names a topic and states no fact, so it never answers.

    Short, without closing punctuation, and either the document's own title, a numbered section head
    (一、… / （二）…) or an English line of capitalised words with no digits. Table rows ("| … |") and list
    items ("- Dana Whitfield, General Manager") are content.
    """
    t = unicodedata.normalize("NFKC", text).strip()
    if not t:
        return True
    if title:
        nt, ti = _norm(t), _norm(title)
        if nt == ti or (len(nt) >= 8 and nt in ti) or (len(ti) >= 8 and ti in nt and len(nt) <= len(ti) + 12):
            return True
    if t.startswith(("|", "-", "*", "•", "·")) or _TERMINAL_PUNCT.search(t):
        return False
    if is_cjk(t):
        # Chinese sub-headings often state the fact ("轨道交通：运营里程由46公里增至128公里"): only numbered
        # section heads without figures are headings
        digits = [d for d in re.findall(r"\d+(?:\.\d+)?", t) if not _YEAR_LIKE.fullmatch(d)]
        return len(t) <= 30 and bool(_ZH_SECTION.match(t)) and not digits
    words = re.findall(r"[A-Za-z][A-Za-z'’-]*", t)
    if not words or len(words) > 10 or re.search(r"\d", t):
        return False
    capital = sum(w[0].isupper() for w in words if len(w) > 3)
    long_words = sum(len(w) > 3 for w in words)
    return long_words == 0 or capital / long_words >= 0.6


def cue_weight(info: QuestionInfo) -> float:
    """How much the answer-kind cue matters for ranking: strong for facts with a recognisable shape."""
    return {"number": 0.45, "date": 0.45, "reason": 0.3, "definition": 0.3, "person": 0.2, "place": 0.2}.get(
        info.kind, 0.0
    )


@dataclass(slots=True)
class SentenceCandidate:
    """A sentence of a retrieved passage, with offsets into that passage's text."""

    passage_index: int  # 0-based into the passages given
    start: int
    end: int
    text: str
    coverage: float
    cue: float
    dense: float | None = None
    score: float = 0.0
    # the passage is in the other language than the question (words cannot match directly)
    cross: bool = False
    heading: bool = False
    year_conflict: bool = False
    # share of the keywords that do not name the passage document's subject (1.0 when all of them do): the
    # attribute asked about must be there, not just the name of what it belongs to
    attribute: float = 1.0
    # keyword coverage with the subject discounted, for ranking sentences
    focused: float = 0.0
    # what the sentence says, for scoring: a table row with its column headers and units ("东湖区 36个 …")
    signal: str = ""

    @property
    def meaning(self) -> str:
        return self.signal or self.text


def _mentions(info: QuestionInfo, text: str, keyword: str) -> bool:
    t = _norm(text)
    if _contains(t, keyword):
        return True
    return info.lang == "en" and is_cjk(text) and _cross_match(info, text, keyword) >= 1.0


def subject_terms(info: QuestionInfo, passages: Sequence[Passage]) -> list[set[str]]:
    """Per passage, the question's keywords that name the passage document's subject.

    A word in the document's title, or in nearly all of its retrieved chunks (a running header), is true of
    every sentence of that document: it tells which document, not which fact, so it must not carry a
    sentence (or a refusal decision) on its own.
    """
    by_doc: dict[str, list[Passage]] = {}
    for p in passages:
        by_doc.setdefault(p.doc_id, []).append(p)
    subjects: dict[str, set[str]] = {}
    for doc_id, ps in by_doc.items():
        title = ps[0].title.replace("_", " ")
        subj = {k for k in info.keywords if title and _mentions(info, title, k)}
        if len(ps) >= SUBJECT_MIN_CHUNKS:
            for k in info.keywords:
                if sum(_mentions(info, p.text, k) for p in ps) >= SUBJECT_CHUNK_SHARE * len(ps):
                    subj.add(k)
        subjects[doc_id] = subj
    return [subjects[p.doc_id] for p in passages]


def discounted(info: QuestionInfo, subject: set[str]) -> dict[str, float]:
    return {k: w * (SUBJECT_FACTOR if k in subject else 1.0) for k, w in info.weights.items()}


def attribute_share(info: QuestionInfo, credits: Mapping[str, float], subject: set[str]) -> float:
    rest = {k: w for k, w in info.weights.items() if k not in subject}
    return weighted_share(info, credits, rest) if sum(rest.values()) > 0 else 1.0


def rescore(info: QuestionInfo, cand: SentenceCandidate, passage: Passage, subject: set[str]) -> SentenceCandidate:
    """The candidate's signals for another reading of the question (one part of a multi-part question)."""
    credits = keyword_credits(info, cand.meaning, f"{passage.title}\n{passage.text}")
    return replace(
        cand,
        coverage=weighted_share(info, credits, info.weights),
        cue=type_cue(info, cand.meaning),
        attribute=attribute_share(info, credits, subject),
        focused=weighted_share(info, credits, discounted(info, subject)),
        year_conflict=year_conflict(info, cand.text),
    )


_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|[\s:|-]+\|\s*$")
_HEADER_UNIT = re.compile(r"[（(]\s*([^()（）]{1,6}?)\s*[)）]\s*$")
_CELL_NUMBER = re.compile(r"^[\d.,]+%?$")
_LABEL_UNIT_VALUE = re.compile(r"([^\s；;，,：:（(]{1,12})[（(]([^()（）\d]{1,6})[)）]\s*[:：]?\s*(\d[\d,.]*)(?![\d%])")


def _table_header(text: str, row_start: int) -> list[str] | None:
    """The header cells of the table a row at `row_start` belongs to: the line above its |---| rule or, for
    tables written without one, the block's first row when no cell of it is a number."""
    lines = text[:row_start].splitlines()
    first: str | None = None
    for i in range(len(lines) - 1, -1, -1):
        if i > 0 and _TABLE_RULE.match(lines[i]) and _TABLE_ROW.match(lines[i - 1]):
            first = lines[i - 1]
            break
        if not _TABLE_ROW.match(lines[i]):
            break
        first = lines[i]
    if first is None:
        return None
    cells = [c.strip() for c in first.strip().strip("|").split("|")]
    if any(_CELL_NUMBER.match(c) for c in cells):
        return None
    return cells


def table_row_meaning(text: str, start: int, end: int) -> str:
    """A table row read with its header: each number with the unit its column names, then the column names.

    "| 东湖区 | 36 | 4,215 |" under "| 区 | 小区数（个） | 居民户数（户） |" says 东湖区 has 36 小区 and 4,215 户:
    without the header the row has neither the words nor the units of the question it answers.
    """
    row = text[start:end]
    if _LABEL_UNIT_VALUE.search(row) and not _TABLE_ROW.match(row):
        # "小区数（个） 36": a table flattened to label-value text keeps the unit before the number
        return _LABEL_UNIT_VALUE.sub(lambda m: f"{m.group(1)} {m.group(3)}{m.group(2)}", row)
    if not _TABLE_ROW.match(row) or _TABLE_RULE.match(row):
        return ""
    header = _table_header(text, start)
    if not header:
        return ""
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    if len(cells) != len(header):
        return ""
    parts: list[str] = []
    for cell, head in zip(cells, header, strict=True):
        m = _HEADER_UNIT.search(head)
        if m and _CELL_NUMBER.match(cell):
            parts.append(f"{cell}{m.group(1)}")
        else:
            parts.append(cell)
    return f"{' '.join(parts)} | {' '.join(header)}"


def passage_is_cross(info: QuestionInfo, passage: Passage) -> bool:
    return detect_lang(passage.text) != info.lang


def sentence_candidates(
    info: QuestionInfo, passages: Sequence[Passage], max_passages: int = 8
) -> list[SentenceCandidate]:
    """Every sentence of the top passages with its lexical and answer-kind signals.

    A sentence repeated in overlapping chunks of one document is kept once (from the better-ranked chunk).
    """
    seen: set[tuple[str, int, int]] = set()
    out: list[SentenceCandidate] = []
    top = list(passages[:max_passages])
    subjects = subject_terms(info, top)
    for pi, p in enumerate(top):
        focus_weights = discounted(info, subjects[pi])
        context = f"{p.title}\n{p.text}"
        cross = passage_is_cross(info, p)
        for a, b in split_sentences(p.text):
            key = (p.doc_id, p.start + a, p.start + b)
            if key in seen:
                continue
            seen.add(key)
            s = p.text[a:b]
            if not (is_cjk(s) or re.search(r"[A-Za-z0-9]", s)):
                continue
            signal = table_row_meaning(p.text, a, b)
            meaning = signal or s
            credits = keyword_credits(info, meaning, context)
            out.append(
                SentenceCandidate(
                    passage_index=pi,
                    start=a,
                    end=b,
                    text=s,
                    coverage=weighted_share(info, credits, info.weights),
                    cue=type_cue(info, meaning),
                    attribute=attribute_share(info, credits, subjects[pi]),
                    focused=weighted_share(info, credits, focus_weights),
                    cross=cross,
                    heading=is_heading(s, p.title),
                    year_conflict=year_conflict(info, s),
                    signal=signal,
                )
            )
    return out


def clauses(text: str) -> list[tuple[int, int]]:
    """Comma/semicolon clauses of a sentence as spans (for quoting the tight part of a very long sentence)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _CLAUSE.finditer(text):
        # never split inside a number written with a separator (1,024)
        if (
            m.group(0) == ","
            and 0 < m.start() < len(text) - 1
            and text[m.start() - 1].isdigit()
            and text[m.start() + 1].isdigit()
        ):
            continue
        # nor between a month-day and its year ("April 12, 2025")
        if m.group(0) == "," and _MONTH_DAY_END.search(text[: m.start()]) and re.match(r"\s*\d{4}\b", text[m.end() :]):
            continue
        if text[start : m.end()].strip():
            spans.append((start, m.end()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def satisfies_constraints(info: QuestionInfo, passage: Passage, siblings: Sequence[Passage] | None = None) -> bool:
    """Whether the passage (or its title) names every period and contains every number/year the question
    states. Across languages only years count: "top 1,000" may be written 千强.

    A year may also be implied: a passage naming no year at all can continue a section headed by the year in
    the chunk before. Given the other retrieved passages (`siblings`), that holds only when its document
    speaks of the asked year somewhere in them."""
    if not (info.numbers or info.qualifiers):
        return True
    whole = f"{passage.title} {passage.text}"
    low = _norm(whole)
    for forms in info.qualifiers:
        if not any(_norm(f) in low for f in forms):
            return False
    cross = info.lang == "en" and is_cjk(passage.text)
    present = {v for _, v in number_values(whole, split_groups=True)}
    stated_years: set[str] | None = None
    for n in info.numbers:
        if cross and not _YEAR_LIKE.fullmatch(n):
            continue
        values = {v for _, v in number_values(n, chinese=False)}
        if values and not values & present:
            if _YEAR_LIKE.fullmatch(n):
                # A chunk may continue a section whose heading ("一、2024年工作回顾") sits in the chunk before:
                # a passage that names no year at all does not contradict the one asked.
                if stated_years is None:
                    stated_years = years_in(passage.text)
                if not stated_years and (
                    siblings is None
                    or any(
                        values & {v for _, v in number_values(f"{o.title} {o.text}", chinese=False)}
                        for o in siblings
                        if o.doc_id == passage.doc_id and o is not passage
                    )
                ):
                    continue
            return False
    return True


@dataclass(frozen=True, slots=True)
class Relevance:
    answerable: bool
    reason: str
    best_coverage: float
    top_dense: float | None
    # the evidence came from passages in the other language than the question's: answer from those
    cross: bool = False


def assess(info: QuestionInfo, passages: Sequence[Passage]) -> Relevance:
    """The refusal gate with its reason, for logs and warnings."""
    if not passages:
        return Relevance(False, "no passages retrieved", 0.0, None)
    dense_values = [p.signals["dense"] for p in passages if "dense" in p.signals]
    top_dense = max(dense_values) if dense_values else None
    # A number or year the question states is a hard constraint: only passages that contain all of them
    # can answer ("2030年的目标" is not answered by a passage about 2018).
    # (a multi-part question's parts each bring their own: a passage serving any one part may stay)
    part_infos = [analyze(part) for part in info.parts] or [info]
    keep = [p for p in passages if any(satisfies_constraints(pi, p, passages) for pi in part_infos)]
    if not keep:
        missing = ", ".join(info.numbers)
        return Relevance(False, f"the question's {missing} appears in no retrieved passage", 0.0, top_dense)

    cands = [c for c in sentence_candidates(info, keep) if not c.heading]
    # for a number or date the answer must be a sentence that has the kind of fact asked for (and, when the
    # attribute implies a kind of unit, a number in that kind of unit)
    if info.kind in ("number", "date"):
        bearing = [
            c
            for c in cands
            if c.cue > 0.15
            and (info.kind != "number" or (has_class_unit(info, c.meaning) and counts_noun(info, c.meaning)))
        ]
    else:
        bearing = cands
    # a sentence about another year does not answer for the year asked
    bearing = [c for c in bearing if not c.year_conflict]
    # Language is judged per passage: one passage in the other language must neither switch the whole list to
    # cross-lingual judging nor stop the same-language ones from being judged by their words.
    same = [c for c in bearing if not c.cross and c.attribute >= MIN_ATTRIBUTE]
    cross = [c for c in bearing if c.cross]
    best = max((c.coverage for c in same), default=0.0)
    if same and info.keywords:
        if best >= MIN_COVERAGE:
            return Relevance(True, "keywords found", best, top_dense)
        if best >= GRAY_COVERAGE and top_dense is not None and top_dense >= GRAY_MIN_DENSE:
            return Relevance(True, "some keywords and a strong dense match", best, top_dense)
    if cross:
        cross_best = max(c.coverage for c in cross)
        cross_dense = max((keep[c.passage_index].signals.get("dense", 0.0) for c in cross), default=0.0)
        same_dense = max((p.signals.get("dense", 0.0) for p in keep if not passage_is_cross(info, p)), default=0.0)
        if top_dense is None:
            return Relevance(False, "no dense signal to compare across languages", cross_best, None)
        if cross_best >= MIN_COVERAGE:
            return Relevance(True, "keywords found across languages", cross_best, top_dense, cross=True)
        if not any(not passage_is_cross(info, p) for p in passages):
            # every passage is in the other language: the best dense match vouches for the topic
            cross_dense = top_dense
        # alongside passages in the question's language, one in the other language must be the best match
        if cross_dense >= MIN_CROSS_LINGUAL_DENSE and cross_dense >= same_dense - CROSS_DENSE_MARGIN:
            return Relevance(True, "dense similarity", cross_best, top_dense, cross=True)
        if not same:
            return Relevance(False, f"dense similarity {cross_dense:.3f} too low", cross_best, top_dense)
    if not bearing:
        return Relevance(False, f"no sentence has the {info.kind} asked for", best, top_dense)
    return Relevance(False, f"best sentence covers {best:.2f} of the question's keywords", best, top_dense)


def is_answerable(question: QuestionInfo, passages: Sequence[Passage]) -> bool:
    """False when retrieval shows nothing that answers `question` (refuse rather than guess)."""
    return assess(question, passages).answerable
