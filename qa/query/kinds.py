"""The kind of answer a question asks for, read from its interrogative words.

Interrogatives are a closed class of any language ("谁" asks for a person, "多少" for a quantity, "when" for
a time), so a short table per language covers them without reference to any corpus. The kind is not a
verdict: the answer stage turns it into features beside the kind of each candidate span, and the weights
of those crossings are fitted on data (`qa calibrate`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from qa.segment import tagged

KINDS = (
    "number",
    "date",
    "person",
    "place",
    "name",
    "reason",
    "manner",
    "definition",
    "list",
    "yesno",
    "entity",
    "other",
)

# First match wins: "哪一年出生的多少…" is rare; a when-question that also says 多少 asks for the time.
_ZH: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "date",
        re.compile(
            r"何时|什么时候|什么时间|哪年|哪一年|何年|哪个月|几月|几号|哪天|哪一天|哪日|几点|何日|哪个时间|"
            r"哪个年代|什么年代|哪个朝代|哪一时期|什么时期|哪个世纪|年份|日期"
        ),
    ),
    ("reason", re.compile(r"为什么(?![\s?？。!！]*$)|为何|原因|何故|怎么会|为啥")),
    # "多高" asks a quantity of 高: the interrogative is 多, and 高 stays a word of the question
    # and 几 is a numeral but in the words 几乎 ("almost"), 几何 ("geometry"), 几率 ("probability") and 茶几
    ("number", re.compile(r"多少|多(?=[大高长远重深宽久厚快])|比例|百分之|百分比|占比|(?<!茶)几(?![乎何率])")),
    ("person", re.compile(r"谁|哪位|哪些人|什么人|(?<!任)何人|哪个人")),
    (
        "place",
        re.compile(
            r"哪里|哪儿|(?<=在)哪(?![里儿])|什么地方|何地|何处|哪个(?:省|市|县|区|镇|乡|村|国家|国|地方|城市|地区|洲)|哪国"
        ),
    ),
    ("name", re.compile(r"叫什么|叫做什么|称为什么|称作什么|称什么|名称|别称|别名|又名|原名|简称|全称|名字|何名|之称")),
    ("manner", re.compile(r"如何|怎样|怎么|怎么样|什么样|何种方式|哪种方式")),
    ("definition", re.compile(r"什么是|是什么|指什么|是指|何为|何谓|含义|什么意思|定义|为什么[\s?？。!！]*$")),
    # "哪两个族", "哪三个园区": which N things
    ("list", re.compile(r"哪些|有几种|哪几|哪[两二三四五六七八九十百\d]+\w")),
    ("yesno", re.compile(r"是否|是不是|有没有|能否|可否|能不能|会不会|吗[\s?？]*$")),
    # 哪 before any classifier ("哪件事", "哪派") asks which one; 哪怕 ("even if"), 几何 and 任何 ("any") ask nothing
    ("entity", re.compile(r"哪个|哪一|哪种|哪部|哪本|哪首|哪家|哪所|哪条|什么|(?<![几任])何|哪(?![里儿怕])")),
)

_EN: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "number",
        re.compile(
            r"\bhow (?:many|much|large|big|long|far|tall|high|old|often|wide|deep|heavy)\b|"
            r"\bwhat (?:percentage|proportion|share|number|amount|fraction|size|sum)\b",
            re.IGNORECASE,
        ),
    ),
    ("date", re.compile(r"\bwhen\b|\b(?:what|which|in which) (?:year|month|date|day|time|century)\b", re.I)),
    ("reason", re.compile(r"\bwhy\b|\bfor what reason\b", re.IGNORECASE)),
    ("person", re.compile(r"\bwho(?:m|se)?\b", re.IGNORECASE)),
    ("place", re.compile(r"\bwhere\b|\b(?:what|which) (?:place|city|country|province|town|county|region)\b", re.I)),
    ("name", re.compile(r"\b(?:called|named|known as|nickname|alias)\b", re.IGNORECASE)),
    ("manner", re.compile(r"^\s*how\b|\bin what way\b", re.IGNORECASE)),
    ("definition", re.compile(r"^\s*what (?:is|are|was|were)\b|\bdefine\b|\bwhat does .+ mean\b", re.IGNORECASE)),
    ("list", re.compile(r"\bwhat are\b|\bwhich (?:\w+ )?(?:are|were)\b|\blist\b", re.IGNORECASE)),
    (
        "yesno",
        re.compile(r"^\s*(?:is|are|was|were|does|do|did|can|could|has|have|had|will|would|should)\b", re.I),
    ),
    ("entity", re.compile(r"\b(?:what|which)\b", re.IGNORECASE)),
)


# the part-of-speech tags of jieba's dictionary for names of people, places, organisations and other proper nouns
_NAME_TAGS = frozenset({"nr", "ns", "nt", "nz"})


@lru_cache(maxsize=1024)
def _names(folded_question: str) -> tuple[tuple[int, int], ...]:
    """The spans of the question's proper names: an interrogative's characters inside one ask nothing ("几内亚",
    "何塞", "奈何桥"), though a name's tag on a whole interrogative (jieba tags "何谓" as a person's name) does not
    make it one."""
    return tuple((s, e) for s, e, tag in tagged(folded_question) if e - s > 1 and tag in _NAME_TAGS)


def _matches(folded_question: str, lang: str) -> Iterator[tuple[str, re.Match[str]]]:
    """Each kind's first match outside a name, in the order of the kinds' table."""
    names = _names(folded_question) if lang == "zh" else ()
    for kind, pattern in _ZH if lang == "zh" else _EN:
        for m in pattern.finditer(folded_question):
            if not any(s <= m.start() and m.end() <= e and (s, e) != m.span() for s, e in names):
                yield kind, m
                break


def answer_kind(folded_question: str, lang: str) -> str:
    """One of `KINDS` for a folded question (`qa.text.fold`) in language `lang` ('zh' or 'en')."""
    return next((kind for kind, _ in _matches(folded_question, lang)), "other")


def interrogative_span(folded_question: str, lang: str) -> tuple[int, int] | None:
    """Where the question's interrogative phrase sits (start, end), or None: the question's words before and
    after it frame the answer in a sentence that restates the question ("X的体重是[多少]" ↔ "X体重约[8公斤]")."""
    best: tuple[int, int] | None = None
    for _, m in _matches(folded_question, lang):
        if best is None or m.start() < best[0]:
            best = (m.start(), m.end())
    return best
