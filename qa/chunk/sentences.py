"""Chinese-aware sentence splitting that returns exact character spans.

Spans rather than strings because both the chunker and the citation narrowing in the answer stage need
offsets into the stored document text; a span is always ``text[start:end]`` with surrounding whitespace
excluded. One regex pass finds candidate terminators; a few cheap context checks reject the ones that sit
inside numbers (6.19亿元, 1,024, v2.0, 2019.04.25) or after common abbreviations.
"""

from __future__ import annotations

import re

from qa.text import is_wide

# A terminator run plus the closing quotes/brackets that belong to the sentence it ends (。” 。」 ！）),
# or a line break. ASCII quotes are included because mixed-width punctuation is common in Chinese web text.
_CANDIDATE = re.compile(
    r"""(?:[。！？；!?;…\.．｡]+[”’」』）)\]】》〉"'»]*)|\n""",
)

# Terminators that end a sentence wherever they appear (full-width marks are never decimal points,
# except the full-width period '．', which is checked separately).
_STRONG = frozenset("。！？；…｡")
# Closers absorbed after a terminator; not themselves terminators.
_CLOSERS = "”’」』）)]】》〉\"'»"

# Abbreviations that sit before what they qualify ("Dr. Smith", "No. 5", "Fig. 3", "e.g. London"): their
# period never ends a sentence. Kept short on purpose: the cost of a miss is one extra boundary.
_PREFIX_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st no nos vs fig figs eq vol pp p dept approx ca cf art sec ch viz"
    " jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# Abbreviations that often close a sentence ("at 10 a.m.", "made in the U.S.", "and so on, etc."): they end
# one when the next word is capitalised, and not before a lower-case word ("10 a.m. to 6 p.m.").
_FINAL_ABBREVIATIONS = frozenset("etc inc ltd co corp jr sr al".split())
# Dotted forms that introduce what follows, like the prefix ones, whatever its case.
_DOTTED_PREFIXES = frozenset({"e.g", "i.e", "c.f", "n.b"})
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
# e.g / i.e / U.S / a.m: letters separated by dots, the final dot being the candidate.
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")


# Korean syllables and the curly quotes Chinese text uses also follow a full stop with no space between.
_AFTER_EAST_ASIAN_STOP = re.compile("[\uac00-\ud7af\u201c\u201d]")


def _east_asian(ch: str) -> bool:
    """East Asian text right after a full stop: a sentence may end there though no space follows."""
    return is_wide(ch) or bool(_AFTER_EAST_ASIAN_STOP.match(ch))


def _ascii_run_ends_sentence(text: str, start: int, end: int, run: str) -> bool:
    """Decide for a run made only of ASCII `. ! ? ;` (plus closers) whether it ends a sentence."""
    nxt = text[end] if end < len(text) else ""
    prev = text[start - 1] if start > 0 else ""
    followed_ok = nxt == "" or nxt.isspace() or _east_asian(nxt)
    if not followed_ok:
        return False
    marks = run.rstrip(_CLOSERS)
    if marks != "." or nxt == "" or nxt in "\n\r":
        # '!', '?', ';', an ellipsis '...', or a period at a line/text end always end a sentence.
        return True
    # A lone period followed by space or a CJK character.
    if _east_asian(nxt):
        # "完成了工作.他们" is a sloppy full stop; "2019." before CJK is usually a date or heading number.
        return bool(prev) and _east_asian(prev)
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    stripped = before.strip()
    if stripped.isdigit() or (len(stripped) == 1 and stripped.isalpha()):
        # "1. Introduction", "a. first item": a list marker, not a sentence.
        return False
    m = _WORD_BEFORE.search(before)
    if m:
        word = m.group(1)
        lower = word.lower()
        if lower in _PREFIX_ABBREVIATIONS or lower in _DOTTED_PREFIXES:
            return False
        if lower in _FINAL_ABBREVIATIONS or _DOTTED.match(word):
            return _next_word_capitalised(text, end)
        if len(word) == 1 and word.isupper():
            # an initial: "J. Smith"
            return False
    return True


def _next_word_capitalised(text: str, end: int) -> bool:
    """After an abbreviation that can close a sentence, a capitalised word (possibly behind an opening
    quote or bracket) starts the next sentence."""
    rest = text[end : end + 40].lstrip()
    rest = rest.lstrip("\"'“‘([")
    return bool(rest) and rest[0].isupper()


# Pairs whose inside a terminator does not end the sentence at, when the pair closes later on the same line:
# a title (《卡拉OK.LIVE！‧台北‧我》), a gloss in brackets (拉曲（乌鲁龙曲；Urlung Qu）汇合后), a quotation
# (“唵！自在居住……”). A full stop, question or exclamation mark right before the closer still ends the
# sentence (…才行。” and （休息。）, as Chinese punctuation has it); a semicolon there does not (牛车水（；）是…).
# ASCII quotes open and close with one mark, and ‘’ doubles as an apostrophe: neither can be paired reliably.
_PAIRS = {"《": "》", "〈": "〉", "（": "）", "(": ")", "【": "】", "「": "」", "『": "』", "“": "”"}
_OPENER_OF = {closer: opener for opener, closer in _PAIRS.items()}
_PAIR_CHAR = re.compile("[" + re.escape("".join(_PAIRS) + "".join(_OPENER_OF)) + "]")
_CLAUSE_ONLY = frozenset("；;")
# How far after a terminator its pair's closer is looked for. The farthest measured was 439 characters (a
# quotation of several sentences), over the cmrc2018-trial passages in both scripts, the sample corpus and
# the holdout documents; the bound keeps a stray opener in a long line from costing a scan of the line.
_PAIR_REACH = 512


class _OpenPairs:
    """How many of each pair are open in the sentence so far, counted as the splitter moves right over the
    text's pair marks (found once, in one regex pass)."""

    def __init__(self, text: str) -> None:
        self.marks = [(m.start(), m.group()) for m in _PAIR_CHAR.finditer(text)]
        self.next = 0
        self.depth: dict[str, int] = {}

    def restart(self, pos: int) -> None:
        """A new sentence starts at `pos`."""
        self.depth.clear()
        while self.next < len(self.marks) and self.marks[self.next][0] < pos:
            self.next += 1

    def closers(self, upto: int) -> set[str]:
        """The closers of the pairs open in the sentence up to `upto`."""
        while self.next < len(self.marks) and self.marks[self.next][0] < upto:
            ch = self.marks[self.next][1]
            opener = _OPENER_OF.get(ch, ch)
            depth = self.depth.get(opener, 0) + (1 if ch in _PAIRS else -1)
            if depth:
                self.depth[opener] = depth
            else:
                del self.depth[opener]
            self.next += 1
        return {_PAIRS[opener] for opener, n in self.depth.items() if n > 0}

    def quiet(self, upto: int) -> bool:
        """No pair is open and none opens or closes before `upto`: the common case, answered at once."""
        return not self.depth and (self.next >= len(self.marks) or self.marks[self.next][0] >= upto)


def _inside_pair(text: str, pairs: _OpenPairs, start: int, end: int) -> bool:
    """The candidate terminator run `text[start:end]` does not end the sentence: it leaves open a pair that
    closes later on the same line, or it closes one with no more than a semicolon."""
    if pairs.quiet(end):
        return False
    before = pairs.closers(start)
    after = pairs.closers(end)
    if not before and not after:
        return False
    limit = min(len(text), end + _PAIR_REACH)
    line_end = text.find("\n", end, limit)
    limit = line_end if line_end >= 0 else limit
    if any(text.find(c, end, limit) >= 0 for c in after):
        return True
    marks = text[start:end].rstrip(_CLOSERS)
    return bool(before - after) and all(ch in _CLAUSE_ONLY for ch in marks)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the sentences of ``text``, whitespace-trimmed, in order.

    Every non-whitespace character of ``text`` lies in exactly one span.
    """
    spans: list[tuple[int, int]] = []
    seg_start = 0
    pairs = _OpenPairs(text)
    for m in _CANDIDATE.finditer(text):
        start, end = m.span()
        run = m.group(0)
        if run == "\n":
            cut = start
        elif _inside_pair(text, pairs, start, end):
            continue
        else:
            marks = run.rstrip(_CLOSERS)
            if any(ch in _STRONG for ch in marks):
                cut = end
            elif "．" in marks:
                # full-width period: a decimal point between digits ("1．5"), a stop otherwise
                prev = text[start - 1] if start > 0 else ""
                nxt = text[end] if end < len(text) else ""
                if marks == "．" and prev.isdigit() and nxt.isdigit():
                    continue
                cut = end
            elif _ascii_run_ends_sentence(text, start, end, run):
                cut = end
            else:
                continue
        _append_trimmed(text, seg_start, cut, spans)
        seg_start = end
        pairs.restart(end)
    _append_trimmed(text, seg_start, len(text), spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        out.append((start, end))
