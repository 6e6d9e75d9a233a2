"""Question analysis: language, the kind of answer asked for, and weighted keywords.

Both answerers and the refusal gate need the same reading of a question: what kind of fact would answer it
(a number with a unit, a date, a name …) and which words in it carry the meaning. Keyword weights come from
jieba's general-language IDF table, so rare words (names, technical terms) count more than common ones
without any tuning to a particular corpus.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from qa.text import CJK_CHAR

KINDS = ("number", "date", "person", "place", "definition", "reason", "yesno", "other")

_LATIN = re.compile(r"[A-Za-z]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_STATED_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_ALNUM = re.compile(r"[A-Za-z0-9]+(?:[.\-'][A-Za-z0-9]+)*")

# Measure words and units a Chinese number question names right after 多少/几 ("多少项" wants "…项").
_ZH_UNITS = (
    "个|项|家|元|块|亿|万|千|百|户|亩|人|名|位|座|所|条|种|次|件|台|辆|只|间|栋|套|篇|部|本|张|份|批|期|"
    "公里|千米|平方米|平方公里|米|公顷|吨|公斤|千克|克|年|天|日|月|周|小时|分钟|岁|倍|%|％|度"
)
_ZH_UNIT_AFTER_Q = re.compile(rf"(?:多少|几)\s*(?:万|亿|千|百)?\s*({_ZH_UNITS})")
_ZH_SCALE_AFTER_Q = re.compile(r"(?:多少|几)\s*(万|亿|千|百)")

_ZH_DATE = re.compile(
    r"何时|什么时候|什么时间|哪年|哪一年|何年|哪个月|几月|几号|哪天|哪一天|哪日|日期|几点|何日|哪个时间|何年何月"
)
_ZH_NUMBER = re.compile(r"多少|多大|多高|多长|多远|多重|多深|多宽|多久|比例|百分之|百分比|占比|比重|几")
_ZH_PERSON = re.compile(r"谁|哪位|哪些人|什么人|何人")
_ZH_PLACE = re.compile(r"哪里|哪儿|在哪|什么地方|何地|何处|哪个(?:省|市|县|区|镇|乡|村|国家|地方|城市)")
# "…为什么?" at the very end reads as 为 + 什么 ("became what"), not "why": a real why-question goes on
# with a predicate ("为什么要…").
_ZH_REASON = re.compile(r"为什么(?![\s?？。!！]*$)|为何|原因|何故|怎么会")
_ZH_DEFINITION = re.compile(
    r"什么是|是什么|指什么|是指|何为|何谓|含义|什么意思|定义|为什么[\s?？。!！]*$|包括哪些|有哪些"
)
_ZH_YESNO = re.compile(r"是否|是不是|有没有|能否|可否|能不能|吗[\s?？]*$")

_EN_NUMBER = re.compile(
    r"\bhow (?:many|much|large|big|long|far|tall|high|old|often|wide|deep|heavy)\b|\bwhat (?:percentage|proportion|"
    r"share|number|amount|fraction|rate|size|sum)\b|\bhow many\b|"
    # "What is the maximum rebate …": an extreme or aggregate of something is a quantity
    r"\b(?:what|which)(?:\s+(?:is|was|are|were|'s))?\s+the\s+(?:maximum|minimum|max|min|total|average|mean|median|"
    r"highest|lowest|largest|smallest|biggest|overall|combined|annual|monthly|percentage|share|proportion|number|"
    r"amount|size|length|area|population|budget|cost|price)\b",
    re.IGNORECASE,
)
_EN_DATE = re.compile(r"\bwhen\b|\b(?:what|which|in which) (?:year|month|date|day|time)\b", re.IGNORECASE)
_EN_PERSON = re.compile(r"\bwho(?:m|se)?\b", re.IGNORECASE)
_EN_PLACE = re.compile(r"\bwhere\b|\b(?:what|which) (?:place|city|country|province|town|county)\b", re.IGNORECASE)
_EN_REASON = re.compile(r"\bwhy\b|\bwhat (?:is|was|are|were) the reasons?\b|\bfor what reason\b", re.IGNORECASE)
_EN_DEFINITION = re.compile(
    r"^\s*(?:what|which) (?:is|are|was|were)\b|\bdefine\b|\bwhat does .+ mean\b|\bmeaning of\b", re.IGNORECASE
)
_EN_YESNO = re.compile(
    r"^\s*(?:is|are|was|were|does|do|did|can|could|has|have|had|will|would|should|shall|may)\b", re.IGNORECASE
)
_EN_PERCENT = re.compile(r"\bpercent(?:age)?\b|\bproportion\b|\bshare\b|%", re.IGNORECASE)

ZH_STOPWORDS = frozenset(
    """的 了 是 在 有 和 与 及 或 也 都 就 而 被 把 对 于 为 以 之 其 这 那 这个 那个 这些 那些 哪 哪个 哪些 什么
    多少 几 谁 怎么 怎样 怎么样 如何 吗 呢 吧 啊 呀 么 是否 是不是 有没有 请问 请 一下 我 你 他 她 它 你们 他们
    它们 为什么 为何 什么时候 何时 哪里 哪儿 在哪 多大 多高 多长 多远 多久 能否 可否 能不能 哪位 哪年 哪一年
    几月 哪天 什么样 啥 咋 共 共有 一共 总共 目前 现在 要 会 能 可以 应该 等 个 项 家 中 上 下 里 又 还 被 给 让
    得 地 着 过 所 并 但 如果 因为 所以 由于 可 含义 意思 指 是指 定义 原因 哪些人 什么人 何人 比例 占比""".split()
)
EN_STOPWORDS = frozenset(
    """a an the of to in on at by for from with about into over under and or but if then than as is are was were
    be been being am do does did doing have has had having will would shall should can could may might must
    this that these those it its it's they them their there here what which who whom whose when where why how
    many much percentage proportion share number amount any some all each every no not i you he she we me my
    your our us his her one ones s t just also only very more most other such own same so too up down out off
    again further once please tell know give list describe explain mean meaning define did year years date
    time place reason reasons get got going go goes reach reached reaches hold held holds make made take took
    among total overall top according did""".split()
)

# Words the question uses to point at a kind of answer; they are never content keywords.
_PUNCT_OR_SPACE = re.compile(r"^[\s\W_]+$", re.UNICODE)


@dataclass(frozen=True)
class QuestionInfo:
    """What a question asks for.

    `keywords` are content words in question order (jieba words for Chinese, lower-cased tokens for English),
    `weights` maps each to its importance (IDF), `focus` holds the heaviest few, `units` the units a number
    question names, `numbers` the numbers/years the question itself states (hard constraints on an answer).
    """

    text: str
    lang: str
    kind: str
    keywords: tuple[str, ...]
    weights: Mapping[str, float] = field(default_factory=dict)
    focus: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    # sub-questions when one question asks several things ("A是多少?B是多少?", "A和B分别是多少?")
    parts: tuple[str, ...] = ()
    # periods the question restricts itself to (二季度, first quarter, 上半年), each as the ways a text may
    # write it: like `numbers`, a passage that names none of a group's forms cannot answer
    qualifiers: tuple[tuple[str, ...], ...] = ()
    # English keywords that look like romanised names ("Tanfang"): matched by pinyin in Chinese text
    names: tuple[str, ...] = ()
    # the class of unit the asked-for quantity must carry when the question names an attribute that implies
    # one (投资 → money, 全长 → length, employees → people): "" when it implies none
    unit_class: str = ""
    # the thing an English "how many NOUNs" question counts ("books"): an English answer gives a number of them
    count_noun: str = ""

    @property
    def total_weight(self) -> float:
        return sum(self.weights.get(k, 0.0) for k in self.keywords)


def detect_lang(text: str) -> str:
    """'zh' when CJK characters carry the text, else 'en' (the service's two answer languages)."""
    cjk = len(CJK_CHAR.findall(text))
    latin = len(_LATIN.findall(text))
    # A Chinese character carries roughly a word; Latin letters come ~5 a word.
    return "zh" if cjk > 0 and cjk * 5 >= latin else "en"


def is_cjk(text: str) -> bool:
    return bool(CJK_CHAR.search(text))


def normalize_text(text: str) -> str:
    """NFKC folds full-width digits, letters and punctuation so 'ＧＤＰ２０３０' matches 'GDP2030'."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=1)
def _idf_table() -> tuple[Mapping[str, float], float, float]:
    """jieba's IDF table (shipped in the wheel): a corpus-independent measure of how rare a word is."""
    import jieba
    import jieba.analyse

    jieba.setLogLevel(logging.WARNING)
    tfidf = jieba.analyse.default_tfidf
    freq: Mapping[str, float] = tfidf.idf_freq
    median = float(tfidf.median_idf)
    top = max(freq.values()) if freq else median
    return freq, median, float(top)


def term_weight(term: str) -> float:
    """IDF-like weight of a term. Unknown words (names, new terms) and numbers are rare, so they weigh high."""
    freq, median, top = _idf_table()
    if _NUMBER.fullmatch(term):
        return top
    if is_cjk(term):
        w = freq.get(term)
        if w is None:
            # Out-of-vocabulary Chinese words are mostly names: as rare as the rarest known words.
            w = (median + top) / 2 if len(term) > 1 else median
        # A single character matches inside many unrelated words; count it for less.
        return float(w) * (0.5 if len(term) == 1 else 1.0)
    return _en_term_weight(term.lower(), median, top)


# How fast an English word's weight falls with its commonness (log of the dictionary entries glossing it):
# "water" (~300 glosses) lands near a common Chinese word's IDF, an unknown name keeps a name's weight.
EN_COMMON_SLOPE = 1.1
EN_MIN_WEIGHT = 4.0


def _en_term_weight(term: str, median: float, top: float) -> float:
    """IDF-like weight of an English word. jieba's table has no English, so every word used to weigh the same
    and a place name outweighed the attribute asked about. How many CC-CEDICT glosses use the word is a
    corpus-independent commonness signal: general words ("system", "home") gloss hundreds of entries, rare
    ones ("renovation") one, names none."""
    from qa.answer.lexicon import gloss_count

    mid = (median + top) / 2
    return max(EN_MIN_WEIGHT, mid - EN_COMMON_SLOPE * math.log1p(gloss_count(term)))


def _segment(text: str) -> list[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [t for t in jieba.lcut(text) if t.strip()]


def content_terms(text: str) -> list[str]:
    """Content words of any text (question or answer), stop words and punctuation removed, order kept."""
    text = normalize_text(text)
    terms: list[str] = []
    seen: set[str] = set()
    for tok in _segment(text):
        tok = tok.strip()
        if not tok or _PUNCT_OR_SPACE.match(tok):
            continue
        if is_cjk(tok):
            if tok in ZH_STOPWORDS:
                continue
            term = tok
        else:
            for sub in _ALNUM.findall(tok):
                low = sub.lower()
                if low in EN_STOPWORDS or (len(low) == 1 and not low.isdigit()):
                    continue
                if low not in seen:
                    seen.add(low)
                    terms.append(low)
            continue
        if term not in seen:
            seen.add(term)
            terms.append(term)
    return terms


_EN_RANK = re.compile(r"\b(?:what|which)\s+(?:rank|ranking|place|position)\b|\branked\b", re.IGNORECASE)
_EN_RATE = re.compile(r"\bwhat\b.*\brate\b", re.IGNORECASE)

# First match wins, so the order encodes precedence (a "when … how many" question wants the count).
_KIND_CUES: dict[str, tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]] = {
    "zh": (
        ("date", (_ZH_DATE,)),
        ("reason", (_ZH_REASON,)),
        ("number", (_ZH_NUMBER,)),
        ("person", (_ZH_PERSON,)),
        ("place", (_ZH_PLACE,)),
        ("definition", (_ZH_DEFINITION,)),
        ("yesno", (_ZH_YESNO,)),
    ),
    "en": (
        ("number", (_EN_NUMBER, _EN_RANK, _EN_RATE)),
        ("date", (_EN_DATE,)),
        ("reason", (_EN_REASON,)),
        ("person", (_EN_PERSON,)),
        ("place", (_EN_PLACE,)),
        ("definition", (_EN_DEFINITION,)),
        ("yesno", (_EN_YESNO,)),
    ),
}


def _kind(q: str, lang: str) -> str:
    for kind, patterns in _KIND_CUES["zh" if lang == "zh" else "en"]:
        if any(p.search(q) for p in patterns):
            return kind
    return "other"


def _units(q: str, lang: str, kind: str) -> tuple[str, ...]:
    if kind != "number":
        return ()
    units: list[str] = []
    if lang == "zh":
        units.extend(m.group(1) for m in _ZH_UNIT_AFTER_Q.finditer(q))
        units.extend(m.group(1) for m in _ZH_SCALE_AFTER_Q.finditer(q))
        if "多少钱" in q:
            units.append("元")
        if re.search(r"比例|百分之|百分比|占比|比重", q):
            units.append("%")
    else:
        if _EN_PERCENT.search(q):
            units.append("%")
        units.extend(_en_units(q))
    out: list[str] = []
    for u in units:
        u = "%" if u == "％" else u
        if u not in out:
            out.append(u)
    return tuple(out)


_CN_ORD = "一二三四"
_ZH_QUARTER = re.compile(r"(?:第)?([一二三四1-4])\s*季度")
_ZH_HALF = re.compile(r"[上下]半年")
_EN_QUARTER = re.compile(r"\b(first|second|third|fourth)\s+quarter\b|\bq([1-4])\b", re.IGNORECASE)
_EN_HALF = re.compile(r"\b(first|second)\s+half\b", re.IGNORECASE)
_EN_ORD = ("first", "second", "third", "fourth")


def _quarter_forms(n: int) -> tuple[str, ...]:
    c = _CN_ORD[n - 1]
    return (f"{c}季度", f"第{c}季度", f"{n}季度", f"第{n}季度", f"Q{n}", f"{_EN_ORD[n - 1]} quarter")


# Attributes whose quantity has a known kind of unit. A sentence giving a number in another unit does not
# answer them: "机场总投资" is not answered by a passenger capacity, "employees" not by a customer count.
UNIT_CLASS_CUES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "money": (
        re.compile(r"投资|资金|费用|经费|成本|预算|金额|花费|多少钱|价格|售价|票价|补贴|补助|奖励|奖金|工资|薪"),
        # English: only when the money word is what is asked ("how much … cost", "what is the maximum
        # rebate"), not a word elsewhere in the question ("how long until the rebate check arrives")
        re.compile(
            r"\bhow much (?:money\b|(?:\w+ ){0,4}?(?:cost|costs|spend|spent|invest\w*|budget|price|fee|fees|"
            r"funding|rebate|grant|subsidy|salary|paid|pay)\b)|\b(?:what|which)(?:'s| is| was| are| were)? the "
            r"(?:\w+ ){0,3}?(?:cost|costs|price|prices|budget|fee|fees|rebate|grant|subsidy|salary|investment|"
            r"funding)\b",
            re.IGNORECASE,
        ),
    ),
    "length": (
        re.compile(r"全长|长度|里程|多远|距离"),
        re.compile(r"\blength\b|\bhow far\b|\bdistance\b|\bhow long (?:is|are|was|were)\b|\bmiles of\b", re.I),
    ),
    "area": (
        re.compile(r"面积|占地"),
        re.compile(r"\barea\b|\bsquare (?:feet|foot|meters?|metres?|miles?|kilometers?)\b|\bacres?\b", re.I),
    ),
    "people": (
        re.compile(r"人数|员工|职工|雇员|工作人员|从业人员|人口"),
        re.compile(
            r"\bhow many (?:\w+ )?(?:employees|staff|workers|people|persons|members|volunteers|residents)\b|"
            r"\bpopulation\b",
            re.I,
        ),
    ),
}
# explicit measure words that already say what is counted (多少个, 多少户): no class is imposed over them
_CLASS_UNITS = {
    "money": {"元", "万", "亿", "千", "百"},
    "people": {"人", "名", "位", "万", "千", "百"},
    "length": {"公里", "千米", "米", "万"},
    "area": {"亩", "平方米", "平方公里", "公顷", "万"},
}


def _unit_class(q: str, lang: str, kind: str, units: tuple[str, ...]) -> str:
    if kind != "number":
        return ""
    for name, (zh, en) in UNIT_CLASS_CUES.items():
        named = (zh if lang == "zh" else en).search(q) or (lang == "zh" and en.search(q))
        # an English question's units are dictionary guesses ("employees" → 员): only Chinese ones overrule
        if named and (lang == "en" or (all(u in _CLASS_UNITS[name] for u in units) and "%" not in units)):
            return name
    return ""


_CN_NUMERALS = "零一二三四五六七八九"
_EN_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
# 第五批 / 第3期 / 第十二届: a numbered batch, phase or session is a constraint like a quarter: the fourth list
# is not answered by the fifth one.
_ZH_SERIAL = re.compile(r"第\s*([零〇一二两三四五六七八九十\d]{1,4})\s*(批|期|届|次|轮|阶段|个五年)")
_EN_SERIAL = re.compile(
    rf"\b({'|'.join(_EN_ORDINALS)}|\d{{1,2}}(?:st|nd|rd|th))\s+(?:[a-z-]+\s+){{0,3}}?"
    r"(batch|phase|list|round|session|edition|congress|plenary)\b",
    re.IGNORECASE,
)
_SERIAL_UNITS = ("批", "期", "届", "次", "轮")


def _cn_number(n: int) -> str:
    """1..99 in Chinese numerals (十二, 二十, 二十三): how documents write serial numbers."""
    if n < 10:
        return _CN_NUMERALS[n]
    tens, ones = divmod(n, 10)
    return f"{'' if tens == 1 else _CN_NUMERALS[tens]}十{_CN_NUMERALS[ones] if ones else ''}"


def _serial_value(token: str) -> int | None:
    from qa.answer.grounding import _parse_cn, number_values

    token = token.lower()
    if re.fullmatch(r"[零〇一二两三四五六七八九十]+", token):
        return _parse_cn(token)
    if token in _EN_ORDINALS:
        return _EN_ORDINALS.index(token) + 1
    token = re.sub(r"(?:st|nd|rd|th)$", "", token)
    values = [v for _, v in number_values(token)]
    if values and values[0].isdigit() and 0 < int(values[0]) < 100:
        return int(values[0])
    return None


def _serial_forms(n: int, units: tuple[str, ...]) -> tuple[str, ...]:
    forms = [f"第{num}{u}" for u in units for num in (_cn_number(n), str(n))]
    if n <= len(_EN_ORDINALS):
        forms.append(_EN_ORDINALS[n - 1])
    return tuple(forms)


def _qualifiers(q: str) -> tuple[tuple[str, ...], ...]:
    """Periods and serial numbers a question restricts itself to, each with the spellings a document may use."""
    out: list[tuple[str, ...]] = []
    for m in _ZH_SERIAL.finditer(q):
        n = _serial_value(m.group(1))
        if n is not None:
            out.append(_serial_forms(n, (m.group(2),)))
    for m in _EN_SERIAL.finditer(q):
        n = _serial_value(m.group(1))
        if n is not None:
            out.append(_serial_forms(n, _SERIAL_UNITS))
    for m in _ZH_QUARTER.finditer(q):
        d = m.group(1)
        out.append(_quarter_forms(int(d) if d.isdigit() else _CN_ORD.index(d) + 1))
    for m in _ZH_HALF.finditer(q):
        out.append((m.group(0),))
    for m in _EN_QUARTER.finditer(q):
        n = _EN_ORD.index(m.group(1).lower()) + 1 if m.group(1) else int(m.group(2))
        out.append(_quarter_forms(n))
    for m in _EN_HALF.finditer(q):
        out.append(("上半年", "first half") if m.group(1).lower() == "first" else ("下半年", "second half"))
    return tuple(dict.fromkeys(out))


_EN_HOW_MANY = re.compile(r"\bhow many\s+([^?.!]*)", re.IGNORECASE)
_EN_MONEY = re.compile(
    r"\bhow much\b.*\b(?:money|cost|spend|spent|invest|investment|revenue|income|fund|budget|yuan|"
    r"sales|output|value|profit)",
    re.IGNORECASE,
)
_EN_RATE = re.compile(r"\brate\b|\bratio\b", re.IGNORECASE)


def _count_noun(q: str) -> str:
    """The plural noun an English "how many …" question counts: the first plural word after "how many"."""
    m = _EN_HOW_MANY.search(q)
    if not m:
        return ""
    for word in re.findall(r"[a-z]+", m.group(1).lower())[:4]:
        if word.endswith("s") and not word.endswith("ss") and word not in EN_STOPWORDS and len(word) > 3:
            return word
    return ""


def _en_units(q: str) -> list[str]:
    """Chinese measure words for the thing an English number question counts ("how many villages" → 村)."""
    from qa.answer.lexicon import translations

    units: list[str] = []
    m = _EN_HOW_MANY.search(q)
    if m:
        # "how many [adjectives] NOUNs [(NOUNs)] ..." : the counted things are the plural words right after it
        for word in re.findall(r"[a-z]+", m.group(1).lower())[:5]:
            if word.endswith("s") and not word.endswith("ss") and word not in EN_STOPWORDS:
                units.extend(w for w in translations(word)[:8] if len(w) == 1)
    if _EN_MONEY.search(q):
        units.append("元")
    if _EN_RANK.search(q):
        units.extend(["位", "名"])
    if _EN_RATE.search(q):
        units.append("%")
    return units


_ZH_Q_CUE = re.compile(r"多少|几|什么|哪|谁|何|吗|是否")
_EN_Q_CUE = re.compile(r"\b(?:how|what|which|who|when|where|why)\b", re.IGNORECASE)
# "A和B分别是多少": A and B share the predicate after 分别/各
_ZH_RESPECTIVELY = re.compile(
    r"^(?P<a>.+?)(?:和|与|以及|及|、)(?P<b>[^和与及、]+?)(?P<tail>(?:分别|各自|各)(?:是|为|有|要)?.*)$"
)


def split_parts(question: str) -> tuple[str, ...]:
    """Sub-questions of a multi-part question, each answerable on its own; () for a single question."""
    q = normalize_text(question).strip()
    cue = _ZH_Q_CUE if detect_lang(q) == "zh" else _EN_Q_CUE
    pieces = [p.strip() for p in re.split(r"(?<=[?;])\s*", q) if p.strip()]
    if len(pieces) == 1:
        # "A是多少,B达到多少?": a comma between two clauses that each ask something
        pieces = [p.strip() for p in re.split(r"[,]", q) if p.strip()]
    asking = [p for p in pieces if cue.search(p)]
    if len(asking) > 1:
        return tuple(asking)
    m = _ZH_RESPECTIVELY.match(q)
    if m:
        tail = re.sub(r"^(?:分别|各自|各)", "", m.group("tail"))
        return (m.group("a") + tail, m.group("b") + tail)
    return ()


def analyze(question: str) -> QuestionInfo:
    """Read a question once: language, kind of answer wanted, weighted keywords and explicit constraints."""
    q = normalize_text(question).strip()
    lang = detect_lang(q)
    kind = _kind(q, lang)
    units = _units(q, lang, kind)
    terms = content_terms(q)
    # Units the question asks for describe the answer, not the topic: they are matched by the kind cue.
    numbers = tuple(dict.fromkeys(n.replace(",", "") for n in _STATED_NUMBER.findall(q)))
    # a stated number is one keyword as written ("1,000"), not the pieces the tokenizer cut it into
    keywords = tuple(
        dict.fromkeys(t for t in (*terms, *numbers) if t not in units and (not t.isdigit() or t in numbers))
    )
    weights = {k: term_weight(k) for k in keywords}
    names: tuple[str, ...] = ()
    if lang == "en":
        names = _romanised_names(q, keywords)
        _, median, top = _idf_table()
        from qa.answer.lexicon import gloss_count

        for k in names:
            # a name pins the question to one place or person, as an unknown Chinese word does; a capitalised
            # dictionary word ("Water Authority") keeps its own commonness
            if gloss_count(k) == 0:
                weights[k] = max(weights[k], (median + top) / 2)
    focus = tuple(sorted(keywords, key=lambda k: -weights[k])[:3])
    return QuestionInfo(
        text=question,
        lang=lang,
        kind=kind,
        keywords=keywords,
        weights=weights,
        focus=focus,
        units=units,
        numbers=numbers,
        parts=split_parts(q),
        qualifiers=_qualifiers(q),
        names=names,
        unit_class=_unit_class(q, lang, kind, units),
        count_noun=_count_noun(q) if lang == "en" else "",
    )


def _romanised_names(q: str, keywords: tuple[str, ...]) -> tuple[str, ...]:
    """Keywords written capitalised inside the question and unknown to the dictionary: likely pinyin names."""
    from qa.answer.lexicon import translations

    capitalised = {m.group(0).lower() for m in re.finditer(r"(?<![.?!]\s)(?<!^)\b[A-Z][a-z]{2,}\b", q)}
    return tuple(k for k in keywords if k.isalpha() and (k in capitalised or not translations(k)) and len(k) >= 4)
