"""The words of a question that could carry over into a follow-up, with how much each one says.

A word's weight is its rarity in general language, 8 minus its Zipf frequency from `wordfreq` (the answer
stage weighs question words the same way), so a place or a species name outweighs "面积" or "town" without
reference to any collection. Words are jieba's, tagged with jieba's part of speech, so proper nouns and
pronouns are told apart by the tagger's model rather than by lists. The tagger is Python jieba's, not the
rjieba that segments for retrieval (qa/segment.py): rjieba's tagger has no model for unknown words and cuts a
name it does not know into single characters (乍|都|节|公园), while jieba's HMM keeps most of it together.

jieba splits a name it does not know into pieces (乍都|节|公园, 萱|侬|律), and a follow-up needs the whole
name. Adjacent nominal words, and single characters stuck to them, are read as one term (a noun phrase, as a
chunker would read it), weighed by its rarest piece.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache, lru_cache

import jieba
from jieba import posseg

from qa.query.kinds import interrogative_span
from qa.segment import STOP_WORDS
from qa.text import detect_lang, fold, is_cjk

# Zipf frequencies run from 0 (unseen) to ~8 ("的", "the"): an unseen word weighs the most.
ZIPF_TOP = 8.0
_MIN_WEIGHT = 0.5
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD_CHAR = re.compile(r"\w")
# jieba's tags for names of people, places, organisations and other proper nouns
_PROPER_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})
# nouns of every kind, morphemes and abbreviations: the tags a noun phrase is made of
_NOMINAL_PREFIXES = ("n", "g", "j")
# jieba tags quantifying pronouns `r` too ("每周", "各部门", "某公司", "其他国家"): a closed class that refers
# back to nothing, unlike 它, 该, 这 or 那里
_QUANTIFIERS = ("每", "各", "某", "其他", "其余", "任何", "所有")
# jieba tags every English word `eng`: the personal pronouns that refer back are a closed class of the language
_EN_PRONOUNS = frozenset("it its he him his she her they them their".split())
# the possessive ones, which a name replaces with its "'s"
EN_POSSESSIVES = frozenset("its his her their".split())
# the tag a capitalised English word gets: a proper noun of its own kind, joined with its neighbours over spaces
_EN_NAME = "nz"


@dataclass(frozen=True, slots=True)
class Term:
    """A content word of a question: its text (NFKC, lower case), weight, jieba tag and character span."""

    text: str
    weight: float
    tag: str
    start: int
    end: int
    # the rarest piece of a phrase (the term itself for a single word): what identifies it
    key: str = ""
    # the words a phrase is made of
    pieces: tuple[str, ...] = ()

    @property
    def proper(self) -> bool:
        return self.tag in _PROPER_TAGS

    @property
    def number(self) -> bool:
        return bool(_NUMBER.fullmatch(self.text))


@dataclass(frozen=True, slots=True)
class Reading:
    """A question read into its content terms, plus where its first pronoun-like word sits (jieba tag `r` that
    the retrieval stop list does not already drop, e.g. 它, 那里, 该), if it has one."""

    text: str
    terms: tuple[Term, ...]
    pronoun_at: tuple[int, int] | None = None

    @property
    def pronoun(self) -> bool:
        return self.pronoun_at is not None

    def has(self, word: str) -> bool:
        return any(t.text == word or t.key == word for t in self.terms)

    @property
    def max_weight(self) -> float:
        return max((t.weight for t in self.terms), default=0.0)


@cache
def _tagger() -> posseg.POSTokenizer:
    # jieba logs its dictionary loading at DEBUG through its own handler; keep it out of the structured logs
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return posseg.POSTokenizer(tokenizer)


@lru_cache(maxsize=65536)
def term_weight(word: str) -> float:
    """8 − the word's Zipf frequency in general language (numbers count as rare)."""
    if _NUMBER.fullmatch(word):
        return ZIPF_TOP
    from wordfreq import zipf_frequency

    return max(_MIN_WEIGHT, ZIPF_TOP - zipf_frequency(word, "zh" if is_cjk(word) else "en"))


def _nominal(tag: str) -> bool:
    return tag.startswith(_NOMINAL_PREFIXES) or tag in _PROPER_TAGS


def is_english_name(term: Term) -> bool:
    """A capitalised English word (or a run of them): a name."""
    return term.tag == _EN_NAME and term.text.isascii()


def _joins(left: Term, right: Term, text: str) -> bool:
    """Whether two adjacent words read as one noun phrase: both nominal, or one nominal and the other a lone
    character (a piece of a name jieba did not know); English names run over the spaces between their words
    ("Harbor Light Foundation")."""
    if is_english_name(left) and is_english_name(right) and not text[left.end : right.start].strip():
        return True
    if left.end != right.start:
        return False
    lone = [len(w.text) == 1 and is_cjk(w.text) for w in (left, right)]
    nominal = [_nominal(w.tag) for w in (left, right)]
    return (nominal[0] or lone[0]) and (nominal[1] or lone[1]) and (nominal[0] or nominal[1])


def _phrase(text: str, words: list[Term]) -> Term:
    rarest = max(words, key=lambda w: w.weight)
    tag = next((w.tag for w in words if w.proper), rarest.tag)
    start, end = words[0].start, words[-1].end
    pieces = tuple(w.text for w in words)
    return Term(fold(text[start:end]), rarest.weight, tag, start, end, rarest.text, pieces)


@lru_cache(maxsize=4096)
def read(text: str) -> Reading:
    """Content terms of `text` in order of first occurrence (stop words, punctuation and repeats dropped)."""
    words: list[Term] = []
    pronoun_at: tuple[int, int] | None = None
    at = 0
    # tagged in simplified script, the tagger's own (traditional 牠 is its 它, and 員工 one word); same offsets
    folded = fold(text)
    # in a Chinese question a Latin word is a name or an abbreviation alike ("F1", "WTA"): only English ones tell
    english = detect_lang(text) == "en"
    # an interrogative's lone character asks, whatever the tagger makes of it: the numeral 多 of "多远" is no piece of
    # the name before it ("莫斯科多"); the nouns an interrogative holds ("哪个地区") stay words of the question
    asking = None if english else interrogative_span(folded, "zh")
    for pair in _tagger().lcut(folded):
        token, tag = pair.word, pair.flag
        start = folded.find(token, at)
        start = at if start < 0 else start
        at = start + len(token)
        word = token.strip()  # the tagger read the folded text
        written = text[start:at]
        # an English pronoun, not the same letters in capitals ("IT") or in a Chinese question ("华为在IT行业")
        if english and tag == "eng" and word in _EN_PRONOUNS and not written.isupper():
            pronoun_at = pronoun_at or (start, at)
            continue
        if not word or not _WORD_CHAR.search(word) or word in STOP_WORDS:
            continue
        if asking is not None and asking[0] <= start < asking[1] and len(word) == 1:
            continue
        if english and tag == "eng" and written[:1].isupper() and text[:start].strip():
            tag = _EN_NAME  # English capitalises names, and every question's first word
        if tag == "r":
            # an interrogative ("哪一年", tagged `r` as well) asks, and a quantifier counts: neither refers back
            if not (interrogative_span(word, "zh") or word.startswith(_QUANTIFIERS)):
                pronoun_at = pronoun_at or (start, at)
            continue
        words.append(Term(word, term_weight(word), tag, start, at, word))
    phrases: list[Term] = []
    run: list[Term] = []
    for term in words:
        if run and not _joins(run[-1], term, text):
            phrases.append(_phrase(text, run))
            run = []
        run.append(term)
    if run:
        phrases.append(_phrase(text, run))
    unique: dict[str, Term] = {}
    for phrase in phrases:
        unique.setdefault(phrase.text, phrase)
    return Reading(text, tuple(unique.values()), pronoun_at)
