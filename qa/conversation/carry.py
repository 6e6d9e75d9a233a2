"""Follow-ups without an LLM: carry the previous question's subject and constraint words into a follow-up.

Each content word (or noun phrase) of the previous, already standalone, question that the follow-up lacks is
a candidate. A logistic model scores it from two kinds of evidence:

- the words: how rare the candidate is and where it sits in the previous question; whether the follow-up
  names a rare word, proper noun or number the conversation has not seen (a new topic, or a word that
  replaces this one), shares words with the previous question, holds a pronoun;
- retrieval: the follow-up searched alone, against the documents the previous question found. A follow-up
  that lacks its subject still finds those documents among its best, or nothing much better; a question on a
  new topic finds its own documents far ahead of them.

When no word scores at or above the model's threshold, the question stands alone and is used as asked.
Otherwise the carried words are put where the follow-up needs them:

- a follow-up with no interrogative of its own ("那执法权限呢?", "2017年4月呢？") asks the previous question
  again about other words: its words take the place of the previous question's word they stand parallel to,
  chosen by a second logistic model (the parallel model), so the standalone question keeps the previous one's
  frame ("房寺镇下放了多少执法权限?"). The carry model is not asked;
- a follow-up with a pronoun gets the carried words in the pronoun's place ("它的原名是什么？" → "X的原名是什么？");
- any other follow-up gets them in front.

Both models are fitted on dialogues (`python -m qa.conversation.fit`, see evals/followup/README.md), never on
the held-out evaluation dialogues, and ship as `carry_model.json` and `parallel_model.json` next to this module.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from qa.conversation import Standalone, Turn, user_questions
from qa.conversation.terms import EN_POSSESSIVES, ZIPF_TOP, Reading, Term, is_english_name, read
from qa.query.kinds import interrogative_span
from qa.text import detect_lang, fold, is_wide
from qa.types import Passage

MODEL_FILE = Path(__file__).with_name("carry_model.json")
PARALLEL_FILE = Path(__file__).with_name("parallel_model.json")
# Earlier user questions read back when resolving the previous one: a follow-up leans on the last few turns.
WINDOW = 4
# The previous question's documents: those of its best few passages.
PREVIOUS_PASSAGES = 3

# "Who is/was X?": X is the person a following he or she refers to
_WHO_IS = re.compile(r"^who\s+(?:is|was|are|were)\s+(.+?)\s*[?？]*$", re.IGNORECASE)
_EN_PERSONAL = frozenset("he him his she her".split())
_WORD_AFTER = re.compile(r"\s+[A-Za-z]")
# lower-case words running to the end of a question ("… lime kiln?"), after "is the" ("How tall is the …")
_COPULA_THE = re.compile(r"\b(?:is|are|was|were)\s+the\s+$", re.IGNORECASE)
_CLOSING_WORDS = re.compile(r"((?:\s+[a-z][a-z-]*)+)\s*[?？.!]*\s*$")
# the conjunction an English follow-up opens with: "And in 2010?"
_EN_OPENER = re.compile(r"^\s*(?:(?:and|but|so|then)\s+)+", re.IGNORECASE)
# "What about …?" asks nothing of its own: it is the previous question again about other words, as "And …?" is
_EN_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(?=\S)", re.IGNORECASE)
# a name's something: "Lyon's population", "St. Mary's Hospital's founder"
_EN_NAME_OF = re.compile(r"\b[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*)*['’]s\s+[a-z]")
# the parts of speech of time: numerals ("2010"), measure words (the tagger's "年" after a year), time words (去年)
_TIME_TAGS = ("m", "q", "t")
# Retrieval for a text: passages best first, each with its dense and BM25 ranks in `signals`.
Search = Callable[[str], Sequence[Passage]]

WORD_FEATURES = (
    "t_weight",
    "t_weight_share",
    "t_position",
    "t_proper",
    "t_number",
    "t_overlap",
    "t_like_novel",
    "t_chars_novel",
    "t_number_and_q_number",
    "t_proper_and_q_proper",
    "t_position_and_q_all_novel",
    "t_substituted",
    "t_proper_and_q_opens_novel_proper",
)
QUESTION_FEATURES = (
    "q_max_weight",
    "q_novel_weight",
    "q_shared",
    "q_terms",
    "q_pronoun",
    "q_novel_proper",
    "q_novel_number",
    "q_all_novel",
    "q_opens_novel_proper",
)
RETRIEVAL_FEATURES = ("r_top_in_previous", "r_dense_rank", "r_bm25_rank", "r_dense_gap")
FEATURES = WORD_FEATURES + QUESTION_FEATURES + RETRIEVAL_FEATURES
# a word of the previous question against the words of an elliptical follow-up ("X呢?"): is it the one X replaces?
PARALLEL_FEATURES = (
    "p_same_kind",
    "p_same_tag",
    "p_same_head_tag",
    "p_weight_close",
    "p_chars",
    "p_proper",
    "p_number",
    "p_weight_share",
    "p_position",
    "p_before_asked",
    "p_from_asked",
    "p_proper_and_q_proper",
    "p_number_and_q_number",
    "p_length",
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """The follow-up searched alone, against the previous question's documents: whether its best passage is in
    one of them, the log rank of their first passage in its dense and in its BM25 ranking (log of depth + 1
    when absent), and how much better its best dense match is than theirs."""

    top_in_previous: float = 0.0
    dense_rank: float = 0.0
    bm25_rank: float = 0.0
    dense_gap: float = 0.0

    @classmethod
    def of(cls, asked: Sequence[Passage], previous: Sequence[Passage]) -> Evidence:
        if not asked:
            return cls()
        theirs = {p.doc_id for p in previous[:PREVIOUS_PASSAGES]}
        mine = [p for p in asked if p.doc_id in theirs]
        absent = float(len(asked) + 1)

        def first_rank(signal: str) -> float:
            ranks = [float(r) for p in mine if (r := getattr(p.signals, signal)) is not None]
            return math.log(min(ranks, default=absent))

        dense = [p.signals.dense for p in asked if p.signals.dense is not None]
        their_dense = [p.signals.dense for p in mine if p.signals.dense is not None]
        gap = max(dense) - max(their_dense, default=min(dense)) if dense else 0.0
        return cls(float(asked[0].doc_id in theirs), first_rank("dense_rank"), first_rank("bm25_rank"), gap)

    def row(self) -> list[float]:
        return [self.top_in_previous, self.dense_rank, self.bm25_rank, self.dense_gap]


def _chars_jaccard(a: str, b: str) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def _in_question(term: Term, question: Reading) -> bool:
    """Whether the question already names `term` (or its rarest piece, for a phrase)."""
    folded = fold(question.text)
    key = term.key or term.text
    return term.text in folded or key in folded or any(key in t.text for t in question.terms)


def _kind(term: Term) -> int:
    return 2 if term.number else 1 if term.proper else 0


def _likeness(a: Term, b: Term) -> float:
    """How much `b` looks like a replacement for `a`: the same kind (number, proper noun, other), similar rarity."""
    if _kind(a) != _kind(b):
        return 0.0
    return max(0.0, 1.0 - abs(a.weight - b.weight) / ZIPF_TOP)


@dataclass(frozen=True, slots=True)
class Difference:
    """Where a follow-up and the previous question differ once their common beginning (`prefix` characters)
    and common end (`suffix`) are set aside: `previous_span` and `question_span` are the differing middles."""

    prefix: int
    suffix: int
    previous_span: tuple[int, int]
    question_span: tuple[int, int]

    @classmethod
    def of(cls, previous: str, question: str) -> Difference:
        limit = min(len(previous), len(question))
        p = 0
        while p < limit and previous[p] == question[p]:
            p += 1
        s = 0
        while s < limit - p and previous[-1 - s] == question[-1 - s]:
            s += 1
        return cls(p, s, (p, len(previous) - s), (p, len(question) - s))

    def substituted(self, term: Term, previous: Reading, question: Reading) -> float:
        """The share of the previous question the follow-up repeats around the words it says in place of a
        stretch that holds `term` ("六耳铃分布在哪些地区？" after "狭叶艾纳香分布在哪些地区？": 8 of 13
        characters): a follow-up that restates the question about another subject stands alone. 0 when `term`
        is not in what changed, or a pronoun took its place (which refers to it)."""
        a, b = self.previous_span
        qa, qb = self.question_span
        if qb <= qa or not (term.start < b and a < term.end):
            return 0.0
        pronoun = question.pronoun_at
        if pronoun is not None and pronoun[0] < qb and qa < pronoun[1]:
            return 0.0
        return (self.prefix + self.suffix) / max(len(previous.text), 1)


def opens_with_name(question: Reading) -> bool:
    """The question opens with a proper noun (behind at most one leading mark) and refers back by no pronoun."""
    return not question.pronoun and bool(question.terms) and question.terms[0].proper and question.terms[0].start <= 1


def features(
    question: Reading, previous: Reading, earlier: Sequence[Reading], evidence: Evidence
) -> list[tuple[Term, list[float]]]:
    """One feature row (in `FEATURES` order) per candidate word of `previous`; `earlier` holds every earlier
    question of the conversation (including `previous`), to tell the follow-up's new words from known ones."""
    seen = {t.key or t.text for r in earlier for t in r.terms} | {t.text for r in earlier for t in r.terms}
    novel = [t for t in question.terms if not any((t.key or t.text) in s or s in t.text for s in seen)]
    all_novel = float(bool(question.terms) and len(novel) == len(question.terms))
    novel_proper = float(any(t.proper for t in novel))
    novel_number = float(any(t.number for t in novel))
    # a question that opens with a name of its own and refers back to nothing ("永兴街道…" after "星海街道…") is
    # about that subject
    opens = float(opens_with_name(question) and bool(novel) and question.terms[0] is novel[0])
    q_weight = sum(t.weight for t in question.terms)
    shared = sum(t.weight for t in question.terms if previous.has(t.key or t.text))
    q_row = [
        question.max_weight,
        max((t.weight for t in novel), default=0.0),
        shared / q_weight if q_weight else 0.0,
        float(len(question.terms)),
        float(question.pronoun),
        novel_proper,
        novel_number,
        all_novel,
        opens,
    ]
    top = previous.max_weight or 1.0
    length = max(len(previous.text), 1)
    difference = Difference.of(previous.text, question.text)
    rows: list[tuple[Term, list[float]]] = []
    for term in previous.terms:
        if _in_question(term, question):
            continue
        position = term.start / length
        t_row = [
            term.weight,
            term.weight / top,
            position,
            float(term.proper),
            float(term.number),
            max((_chars_jaccard(term.text, t.text) for t in question.terms), default=0.0),
            max((_likeness(term, t) for t in novel), default=0.0),
            max((_chars_jaccard(term.text, t.text) for t in novel), default=0.0),
            float(term.number) * novel_number,
            float(term.proper) * novel_proper,
            position * all_novel,
            difference.substituted(term, previous, question),
            float(term.proper) * opens,
        ]
        rows.append((term, t_row + q_row + evidence.row()))
    return rows


def threshold_class(row: Sequence[float], features: Sequence[str], classes: Sequence[str]) -> int:
    """Which of `classes` (feature names, checked in order) decides the threshold for `row`: the index of the
    first one set, `len(classes)` when none is (the default threshold)."""
    return next((k for k, name in enumerate(classes) if row[features.index(name)] > 0), len(classes))


@dataclass(frozen=True, slots=True)
class Logistic:
    """A logistic model over named features: p = σ(((x − mean) / scale) · coef + intercept), with the threshold
    it was fitted to decide at (the carry model carries a word when p ≥ threshold). `thresholds` overrides it for
    rows of a kind, the first of its features that is set deciding: the carry model has one for follow-ups with a
    pronoun, which refer back by their very words, and one for questions that open with a name of their own."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    thresholds: tuple[tuple[str, float], ...] = ()

    def threshold_of(self, row: Sequence[float]) -> float:
        k = threshold_class(row, self.features, [name for name, _ in self.thresholds])
        return self.thresholds[k][1] if k < len(self.thresholds) else self.threshold

    def probability(self, row: Sequence[float]) -> float:
        z = self.intercept + sum(
            (x - m) / s * c for x, m, s, c in zip(row, self.mean, self.scale, self.coef, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_dict(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "coef": [round(v, 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            "threshold": round(self.threshold, 4),
            **({"thresholds": {name: round(t, 4) for name, t in self.thresholds}} if self.thresholds else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object], expected: tuple[str, ...] = FEATURES) -> Logistic:
        names = tuple(str(f) for f in data["features"])  # type: ignore[attr-defined]
        if names != expected:
            raise ValueError(f"the model was fitted on features {names}, the code computes {expected}")
        unknown = sorted(set(data.get("thresholds", {})) - set(names))  # type: ignore[call-overload]
        if unknown:
            raise ValueError(f"the model has thresholds for features it does not have: {unknown}")

        def floats(key: str) -> tuple[float, ...]:
            return tuple(float(v) for v in data[key])  # type: ignore[attr-defined]

        return cls(
            names,
            floats("mean"),
            floats("scale"),
            floats("coef"),
            float(data["intercept"]),  # type: ignore[arg-type]
            float(data["threshold"]),  # type: ignore[arg-type]
            tuple((str(k), float(v)) for k, v in data.get("thresholds", {}).items()),  # type: ignore[attr-defined]
        )


@cache
def packaged_model() -> Logistic:
    return Logistic.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


@cache
def packaged_parallel() -> Logistic:
    return Logistic.from_dict(json.loads(PARALLEL_FILE.read_text(encoding="utf-8")), PARALLEL_FEATURES)


def _noun_phrase(question: str, name: Term) -> str:
    """An English name as the phrase it heads: "How tall is the Ostvale lime kiln?" names the kiln, not the town.
    After "is the" (the question's subject, which closes it) the name runs on over the words to the question's
    end; elsewhere those words may be its verb ("Where was Harwick Kestrel Works founded?", "How far can the
    Kestrel K2 fly?")."""
    rest = _CLOSING_WORDS.match(question, name.end)
    if rest and _COPULA_THE.search(question[: name.start]):
        return question[name.start : rest.end(1)]
    return question[name.start : name.end]


def _timed(term: Term) -> bool:
    """A year, a date's number or a time word: what narrows a question to a time rather than naming a topic."""
    return term.number or term.tag.startswith(_TIME_TAGS)


# the words that bound a time on one side ("2016年以前", "去年以来", "1993年4月起"): a closed class of localizers,
# which jieba tags with the spatial ones ("东部", "以上") or as verbs ("起")
_TIME_BOUNDS = frozenset({"以前", "以后", "以来", "之前", "之后", "前", "后", "起", "以内", "期间", "前后"})


def _bound(terms: Sequence[Term], i: int) -> bool:
    """Whether `terms[i]` (if there is one) bounds the time word right before it."""
    if not 0 < i < len(terms):
        return False
    return terms[i].text in _TIME_BOUNDS and terms[i - 1].end == terms[i].start and _timed(terms[i - 1])


def _time_only(reading: Reading) -> bool:
    """Whether a question gives nothing but a time: time words, and the localizers that bound one, which narrow the
    time rather than name a topic."""
    terms = reading.terms
    return bool(terms) and all(_timed(term) or _bound(terms, i) for i, term in enumerate(terms))


def _has_time(reading: Reading, asked: tuple[int, int]) -> bool:
    """Whether a question names a time outside its interrogative at `asked`: the number in "有几个村" asks, it
    does not narrow the question to a time a follow-up's year could stand in for."""
    return any(_time_word(reading, term) and not asked[0] <= term.start < asked[1] for term in reading.terms)


def _with_time(question: str, previous: str, said: Reading) -> str:
    """The previous question narrowed to the time a follow-up gives: Chinese puts the time first ("2010年房寺镇的人口是
    多少？"), English after the question ("What is the population of Millbrook in 2010?", with the follow-up's own
    preposition, "in" when it has none)."""
    first, last = said.terms[0].start, said.terms[-1].end
    if detect_lang(question) != "en":
        return _join([question[first:last], previous.strip()])
    phrase = _EN_OPENER.sub("", question).strip().rstrip("?？.! ")
    # every word of it but the time is a function word, capitalised only for opening the follow-up ("In 2010?")
    phrase = f"in {phrase}" if phrase[:1].isdigit() else phrase[:1].lower() + phrase[1:]
    return f"{previous.strip().rstrip('?？.! ')} {phrase}?"


# the grains a Chinese time is told in, coarsest first: a year, a part of one, a quarter, a month, a day
_YEAR, _PART, _QUARTER, _MONTH, _DAY = range(5)
# the parts of a year ("2018年上半年", "去年底"), read before 年 itself; a word may hold both ("去年底")
_PARTS_OF_YEAR = ("上半年", "下半年", "半年", "年初", "年底", "年末", "年中")
_GRAIN_MARKS = (("季", _QUARTER), ("月", _MONTH), ("日", _DAY), ("号", _DAY))
# the grains that stand for one another: a half, a quarter and a month are each a part of a year, so "上半年呢？"
# after "…一季度…" asks for the half instead of the quarter (not for the first quarter of the half), as a year stands
# for a year; a day is a part of a month and is added to one
_SLOTS = {_YEAR: 0, _PART: 1, _QUARTER: 1, _MONTH: 1, _DAY: 2}
# "去年同期" and "2017年同期" are the previous question's part of the year in another year: the year alone, standing
# for the previous question's, keeps that part
_SAME_PERIOD = re.compile(r"(?<=年)同期(?=[\s呢吧啊?？。]*$)")
# what joins the two ends of a time range ("1996年到1997年")
_RANGE_WORDS = frozenset({"到", "至", "-", "~", "～", "－", "–"})
# a year written as a number has three digits or more: "50年来" is a duration
_YEAR_DIGITS = 3


def _grains(reading: Reading, term: Term) -> frozenset[int]:
    """The grains a time word tells: those its own characters name ("去年", "上半年", "一季度", "4月"; "去年底" a year
    and a part of it), or, for a bare number, the mark right after it ("2018" of "2018年"). Empty for a time
    without one ("近期", a decade's "90年代", a duration's "50年")."""
    if "年代" in reading.text[term.start : term.end + 2]:
        return frozenset()
    text = term.text
    if text.isdigit():
        after = fold(reading.text[term.end : term.end + 1])  # 號 is 号
        if after == "年":
            return frozenset({_YEAR}) if len(text) >= _YEAR_DIGITS else frozenset()
        text += after
    grains = {grain for mark, grain in _GRAIN_MARKS if mark in text}
    year = False
    for part in _PARTS_OF_YEAR:
        if part in text:
            grains.add(_PART)
            # "去年底" tells the year before its end: the part took that year's 年 with it
            year = year or (part.startswith("年") and not text.startswith(part))
            text = text.replace(part, "")
    if year or "年" in text:
        grains.add(_YEAR)
    return frozenset(grains)


def _time_word(reading: Reading, term: Term) -> bool:
    """A time word of a question: a numeral, measure or time word, or a set phrase that ends in its grain (the
    tagger's "第一季度")."""
    return _timed(term) or (term.tag == "l" and bool(_grains(reading, term)) and fold(term.text)[-1] in "年季度月日号")


def _retimed(previous: Reading, question: Reading, asked: tuple[int, int]) -> str | None:
    """The previous question with its time of the follow-up's grain in the follow-up's time ("去年呢？" after
    "房寺镇2018年的财政总收入是多少？" → "房寺镇去年的财政总收入是多少？"; "二季度呢？" after "…2018年一季度…" →
    "…2018年二季度…"), or, with none of that grain, the follow-up's time put where its grain goes ("去年呢？" after
    "北白象镇一季度…" → "北白象镇去年一季度…"; "上半年呢？" after "…2018年…" → "…2018年上半年…"). Word parallels alone
    put "去年" in the town's place. None when the previous question's times are not one run ("2018年比2017年…") or a
    time's grain is not told."""
    told = [_grains(question, t) for t in question.terms if _timed(t)]
    if not told or not all(told):
        return None
    said = frozenset().union(*told)
    run = [i for i, t in enumerate(previous.terms) if _time_word(previous, t) and not asked[0] <= t.start < asked[1]]
    if not run:
        return None
    between = previous.terms[run[0] : run[-1] + 1]
    if any(not _time_word(previous, t) and t.text not in _RANGE_WORDS for t in between):
        return None
    grains = [_grains(previous, previous.terms[i]) for i in run]
    if not all(grains):
        return None
    text = question.text[question.terms[0].start : question.terms[-1].end]
    slots = {_SLOTS[g] for g in said}
    same = [i for i, g in zip(run, grains, strict=True) if {_SLOTS[x] for x in g} & slots]
    if same:
        start, end = previous.terms[same[0]].start, previous.terms[same[-1]].end
        after = same[-1] + 1
        if _bound(question.terms, len(question.terms) - 1) and _bound(previous.terms, after):
            # "2016年以后呢？" after "…2018年以前…": the follow-up's bound takes the place of the previous one's
            end = previous.terms[after].end
        rest = previous.text[end:]
        return previous.text[:start] + text + rest[_overlap(text, rest) :]
    coarsest = min(said)
    finer = [i for i, g in zip(run, grains, strict=True) if min(g) > coarsest]
    at = previous.terms[finer[0]].start if finer else previous.terms[run[-1]].end
    return previous.text[:at] + text + previous.text[at:]


def _join(pieces: Sequence[str]) -> str:
    """Pieces of text in order: Chinese next to Chinese without a space (as it is written), else with one."""
    out = ""
    for piece in pieces:
        if out and not (is_wide(out[-1]) and is_wide(piece[0])):
            out += " "
        out += piece
    return out


def _spans(previous: Reading, chosen: Sequence[Term]) -> list[str]:
    """The chosen words as they are written in the previous question, neighbours joined into one phrase."""
    out: list[str] = []
    last_end = -1
    for term in sorted(chosen, key=lambda t: t.start):
        text = previous.text[term.start : term.end]
        if out and not previous.text[last_end : term.start].strip():
            out[-1] += previous.text[last_end : term.start] + text
        else:
            out.append(text)
        last_end = term.end
    return out


def _interrogative(text: str) -> tuple[int, int] | None:
    """Where the text's own interrogative sits (the closed class `qa.query.kinds` reads), if it has one. Both
    languages' interrogatives count: "MIT OpenCourseWare指什么？" is counted as English by its letters, yet
    asks its own question."""
    folded = fold(text)
    lang = detect_lang(text)
    other = "en" if lang == "zh" else "zh"
    return interrogative_span(folded, lang) or interrogative_span(folded, other)


def ellipsis_frame(question: str, previous: str) -> tuple[int, int] | None:
    """Where the previous question's interrogative sits, when `question` is an ellipsis of it: a follow-up with
    no interrogative of its own after a question that has one asks that question again about other words.
    None otherwise."""
    return _interrogative(previous) if _interrogative(question) is None else None


def parallel_features(previous: Reading, question: Reading, asked: tuple[int, int]) -> list[tuple[int, list[float]]]:
    """One row (in `PARALLEL_FEATURES` order) per word of `previous` that an elliptical follow-up could replace
    (not one it repeats, not the interrogative at `asked`), keyed by the word's index in `previous.terms`."""
    length = max(len(previous.text), 1)
    top = previous.max_weight or 1.0
    q_proper = float(any(t.proper for t in question.terms))
    q_number = float(any(t.number for t in question.terms))
    rows: list[tuple[int, list[float]]] = []
    for i, term in enumerate(previous.terms):
        if _in_question(term, question) or asked[0] <= term.start < asked[1]:
            continue
        centre = (term.start + term.end) / 2
        rows.append(
            (
                i,
                [
                    max(float(_kind(term) == _kind(t)) for t in question.terms),
                    max(float(term.tag[:1] == t.tag[:1]) for t in question.terms),
                    # the follow-up's last word heads its phrase ("执法权限": 权限, a noun): the same part of
                    # speech in full, a name (nr, ns) not being a common noun (n)
                    float(term.tag == question.terms[-1].tag),
                    max(1.0 - abs(term.weight - t.weight) / ZIPF_TOP for t in question.terms),
                    max(_chars_jaccard(term.text, t.text) for t in question.terms),
                    float(term.proper),
                    float(term.number),
                    term.weight / top,
                    term.start / length,
                    float(term.end <= asked[0]),
                    abs(centre - (asked[0] + asked[1]) / 2) / length,
                    float(term.proper) * q_proper,
                    float(term.number) * q_number,
                    min(len(term.text), 10) / 10,
                ],
            )
        )
    return rows


def centred(rows: Sequence[Sequence[float]]) -> list[list[float]]:
    """One question's candidate rows, each minus their mean row: the parallel model (fitted on such rows by
    `qa.conversation.fit`) learns what sets the replaced word apart from the other words of the same question, a
    conditional choice, not what replaced words share across questions (mostly their place at the start, in
    questions that name their subject first)."""
    mean = [sum(column) / len(rows) for column in zip(*rows, strict=True)]
    return [[v - m for v, m in zip(row, mean, strict=True)] for row in rows]


def _framed(previous: Reading, question: Reading, asked: tuple[int, int], model: Logistic) -> tuple[str, Term] | None:
    """The previous question (its interrogative at `asked`) with the follow-up's words in place of the previous
    word they stand parallel to (the parallel model's most probable one), widened over neighbouring words the
    follow-up repeats ("1992年4月" → "2017年4月"), and that word. None when the follow-up has no words or
    `previous` no such word."""
    if not question.terms:
        return None
    rows = parallel_features(previous, question, asked)
    if not rows:
        return None
    scored = zip((i for i, _ in rows), centred([row for _, row in rows]), strict=True)
    best = max(scored, key=lambda r: model.probability(r[1]))[0]
    terms = previous.terms

    def joined(left: int, right: int) -> bool:
        """`terms[left]` and `terms[right]` are neighbours with no interrogative between them."""
        return not (terms[left].end <= asked[0] and asked[1] <= terms[right].start)

    first = last = best
    while first > 0 and _in_question(terms[first - 1], question) and joined(first - 1, first):
        first -= 1
    while last + 1 < len(terms) and _in_question(terms[last + 1], question) and joined(last, last + 1):
        last += 1
    said = question.text[question.terms[0].start : max(t.end for t in question.terms)]
    rest = previous.text[terms[last].end :]
    # what the follow-up's words end with may be what follows the replaced word: "2015年" for "2013" read apart
    # from "年美网" ("2013年美网") is "2015年美网", not "2015年年美网"
    rest = rest[_overlap(said, rest) :]
    return previous.text[: terms[first].start] + said + rest, terms[best]


def _narrowed(previous: Reading, question: Reading, asked: tuple[int, int]) -> str | None:
    """The previous question with the follow-up's noun phrase in place of its head word, when the follow-up is
    one phrase that ends with a word of the previous question and puts common words before it: "农村人口呢？"
    after "北白象镇的人口是多少？" asks for the town's rural population. A Chinese noun phrase ends with its head,
    so such a phrase narrows that word rather than standing for the question's subject, where the parallel model
    (which sets aside words the follow-up repeats) put it ("农村人口是多少？"). A phrase with a name in front
    ("杭州人口呢？" after "北京的人口是多少？") may switch the subject instead, and goes to the model as before."""
    if len(question.terms) != 1:
        return None
    phrase = question.terms[0]
    if len(phrase.pieces) < 2 or phrase.proper or phrase.number:
        return None
    head = phrase.pieces[-1]
    for term in previous.terms:
        if asked[0] <= term.start < asked[1] or term.proper or term.text == phrase.text:
            continue
        if term.pieces[-1:] == (head,):
            said = question.text[phrase.start : phrase.end]
            return previous.text[: term.start] + said + previous.text[term.end :]
    return None


def _misplaced(question: Reading, replaced: Term) -> bool:
    """Whether the parallel model put a follow-up that names no name and no number in a name's place: a common
    noun ("人口", "户籍人口") stands parallel to a common noun, and where the previous question offers none beside
    its subject, the follow-up asks about that subject rather than replacing it."""
    return replaced.proper and not any(t.proper or t.number for t in question.terms)


def _overlap(said: str, rest: str) -> int:
    """The length of the longest end of `said` (short of all of it) that `rest` opens with."""
    return next((k for k in range(len(said) - 1, 0, -1) if rest.startswith(said[-k:]) and said[-k:].strip()), 0)


class TermCarry:
    """The no-LLM condenser over one collection: `search` retrieves from it."""

    method = "terms"

    def __init__(self, search: Search, model: Logistic | None = None, parallel: Logistic | None = None) -> None:
        self.search = search
        self.model = model or packaged_model()
        self.parallel = parallel or packaged_parallel()
        self._found: dict[str, Sequence[Passage]] = {}

    def _search(self, text: str) -> Sequence[Passage]:
        if text not in self._found:
            self._found[text] = self.search(text)
        return self._found[text]

    def carried(self, question: str, previous: str, earlier: Sequence[str] = ()) -> list[Term]:
        """The words of `previous` that `question` needs from it (none when it stands alone)."""
        q, prev = read(question), read(previous)
        if not [t for t in prev.terms if not _in_question(t, q)]:
            return []
        evidence = Evidence.of(self._search(question), self._search(previous))
        known = [read(e) for e in earlier] or [prev]
        rows = features(q, prev, known, evidence)
        return [t for t, row in rows if self.model.probability(row) >= self.model.threshold_of(row)]

    def rewrite(self, question: str, previous: str, earlier: Sequence[str] = ()) -> str:
        q, prev = read(question), read(previous)
        english = detect_lang(question) == "en"
        # the last English name the previous question gave, as the phrase it heads
        names = [t for t in prev.terms if is_english_name(t)] if english else []
        named = _noun_phrase(previous, names[-1]) if names else None
        if q.pronoun_at is not None and english:
            # English refers back to the last name it mentioned ("When was it founded?" after "Who founded the
            # Harbor Light Foundation?"): a rule of the language, where the carry model, fitted on Chinese
            # dialogues, weighs single words. It comes before the ellipsis frame: "And its population?" after
            # "Where is Millbrook Harbour?" asks for the harbour's population, not where a population is
            start, end = q.pronoun_at
            pronoun = question[start:end].lower()
            # "When did she take over?" after "Who is the director of X?": a person is the one asked about
            asked_who = _WHO_IS.match(previous.strip()) if pronoun in _EN_PERSONAL else None
            if asked_who or named:
                name = asked_who.group(1) if asked_who else str(named)
                # "her" is possessive before a word ("her role"), the object otherwise ("Who hired her?")
                if pronoun in EN_POSSESSIVES and (pronoun != "her" or _WORD_AFTER.match(question, end)):
                    name += "'s"
                return question[:start] + name + question[end:]
        about = _EN_ABOUT.match(question) if english else None
        if about is not None:
            # "What about Lyon?" after "Where is Paris?" is "Where is Lyon?": read as "And Lyon?"
            question = "And " + question[about.end() :]
            q = read(question)
        if not english and _SAME_PERIOD.search(question):
            question = _SAME_PERIOD.sub("", question)
            q = read(question)
        asked = ellipsis_frame(question, previous)
        if asked is not None and english and len(prev.terms) == 1 and _EN_NAME_OF.search(question):
            # "And Lyon's population?" after "Where is Paris?", which names nothing but its subject: the follow-up
            # names both what it asks about and what of it, and stands alone (the frame made it "Where is Lyon's
            # population?"). After "When was Paris founded?" the frame keeps what is asked: "When was Lyon's
            # cathedral founded?"
            return question
        if asked is not None and named and q.terms and not any(is_english_name(t) or t.number for t in q.terms):
            # "And the budget?" after "Who founded the Harbor Light Foundation?" names nothing and no year: it asks
            # about what the previous question named. English marks a word's part of speech too seldom for the
            # parallel model (fitted on Chinese dialogues) to find the word it stands for, which put "budget" in the
            # place of "founded"
            return f"{question.strip().rstrip('?？ ')} of {named}?"
        if asked is not None and _time_only(q):
            if not _has_time(prev, asked):
                # "2010年呢？" after "房寺镇的人口是多少？" narrows the question to a year: with no time in the
                # previous question for the year to stand in for, the frame put it in the place of the town
                # ("2010年的人口是多少？")
                return _with_time(question, previous, q)
            # a time for the previous question's time: the one of the same grain, which the parallel model, reading
            # words, does not tell from a town ("去年" is no number, "2018" is)
            retimed = None if english else _retimed(prev, q, asked)
            if retimed is not None:
                return retimed
        if asked is not None and (narrowed := _narrowed(prev, q, asked)) is not None:
            return narrowed
        framed = _framed(prev, q, asked, self.parallel) if asked is not None else None
        if framed is not None and q.pronoun_at is None and _misplaced(q, framed[1]):
            # "那人口呢？" after "莫扎伊斯克距离莫斯科多远？" is no word of it said again of another name, though the
            # parallel model, given only the town to replace, made it "人口远？": a follow-up naming no name and
            # no number asks about the previous question's subject, whose words the carry model brings
            framed = None
        if framed is not None:
            text, replaced = framed
            if q.pronoun_at is None or replaced is not prev.terms[0]:
                return text
            # "那它的面积呢？" after "X位于哪里？": the frame's only place for 面积 is X, the question's topic (a
            # Chinese question names it first), which is what the pronoun refers back to: the pronoun takes X
            start, end = q.pronoun_at
            return question[:start] + previous[replaced.start : replaced.end] + question[end:]
        chosen = self.carried(question, previous, earlier)
        if not chosen:
            return question
        carried = _join(_spans(prev, chosen))
        if q.pronoun_at is not None:
            start, end = q.pronoun_at
            return question[:start] + carried + question[end:]
        return _join([carried, question.strip()])

    def resolve(self, question: str, asked_before: Sequence[str]) -> str:
        """`question` made standalone after the user's earlier questions (oldest first), each of which is made
        standalone first, so a third turn can lean on what the second one leaned on."""
        resolved: list[str] = []
        for asked in asked_before[-WINDOW:]:
            resolved.append(self.rewrite(asked, resolved[-1], resolved) if resolved else asked)
        if not resolved:
            return question
        return self.rewrite(question, resolved[-1], resolved)

    async def run(self, question: str, history: Sequence[Turn]) -> Standalone:
        # tagging, word weights and the probe searches are CPU work: keep them off the event loop
        standalone = await asyncio.to_thread(self.resolve, question, user_questions(history))
        return Standalone(standalone, self.method if standalone != question else "asked")
