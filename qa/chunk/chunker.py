"""Token-bounded chunks made of whole sentences, with exact offsets into the document text.

Units are sentences; a sentence longer than the budget is broken at clause punctuation (，、：,) and, if a
clause is still too long, at token boundaries that fall on character boundaries and outside numbers, so a
figure like 6.19亿元 is never cut in two. Chunks pack whole units; the token count of every chunk is
measured on its exact text (not summed per unit: BPE merges across unit borders change the count), with Chinese
in simplified script: the encodings spend more tokens on traditional characters (cl100k_base: 1.38 a character
of the cmrc2018-trial passages in traditional script, 1.20 in simplified), so a budget counted on the text as
written held about 13 % less of a traditional-script document, and more answers fell outside the passages
retrieval returned (`bench/RESULTS.md`). Measured in one script, a budget is the same amount of text in either.

Every chunk has at most `chunk_tokens` tokens, with one documented exception: a single unbreakable run
(a number or ASCII word) longer than the budget is kept whole rather than cut.
A line break starts a new paragraph; overlap is never carried across one.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import tiktoken

from qa.chunk.sentences import split_sentences
from qa.chunk.tokens import tiktoken_encoding
from qa.config import Settings
from qa.text import simplified_in_place
from qa.types import Chunk, Document

# Clause ends inside an over-long sentence. An ASCII comma/colon only counts when not between digits
# (1,024 / 10:30); '、' and full-width marks always do.
_CLAUSE_END = re.compile(r"[，、：︰,:](?![0-9])")
# A line without sentence-final punctuation is treated as a heading (or a lead-in ending in '：').
_ENDS_SENTENCE = re.compile(r"[。！？；…｡.!?;][”’」』）)\]】》〉\"'»]*$")
# Runs that must never be cut: numbers with separators, versions, dates, ASCII words, percentages.
_ATOM = re.compile(r"[0-9A-Za-z]+(?:[.,:/%．\-][0-9A-Za-z]+)*%?")


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    paragraph: int


class Chunker:
    """Split a `Document` into overlapping, token-bounded `Chunk`s whose text is `doc.text[start:end]`."""

    def __init__(self, settings: Settings) -> None:
        self._budget = settings.chunk_tokens
        # overlap can never take the whole budget, or a chunk would hold no new text
        self._overlap = min(settings.chunk_overlap_tokens, settings.chunk_tokens // 2)
        self._enc: tiktoken.Encoding = tiktoken_encoding(settings.tokenizer_encoding, settings.cache_dir)
        # Pieces of an over-long sentence are kept small so the trailing piece fits in the overlap.
        self._piece_tokens = max(8, self._overlap) if self._overlap else max(8, self._budget * 3 // 4)

    def count(self, text: str) -> int:
        return len(self._enc.encode_ordinary(simplified_in_place(text)))

    def run(self, doc: Document) -> list[Chunk]:
        text = doc.text
        units = self._units(text)
        spans = self._pack(text, units)
        return [Chunk(doc_id=doc.doc_id, ordinal=i, start=s, end=e, text=text[s:e]) for i, (s, e) in enumerate(spans)]

    # ---------------------------------------------------------------- units

    def _units(self, text: str) -> list[_Unit]:
        units: list[_Unit] = []
        paragraph = 0
        prev_end = 0
        for start, end in split_sentences(text):
            if units and "\n" in text[prev_end:start]:
                paragraph += 1
            prev_end = end
            if self.count(text[start:end]) <= self._budget:
                units.append(_Unit(start, end, paragraph))
                continue
            for s, e in self._split_long(text, start, end):
                units.append(_Unit(s, e, paragraph))
        return units

    def _split_long(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Break an over-long sentence into clause or token pieces, each trimmed of whitespace."""
        pieces: list[tuple[int, int]] = []
        clause_start = start
        # finditer with pos/endpos reports absolute offsets
        bounds = [m.end() for m in _CLAUSE_END.finditer(text, start, end)]
        for cut in [*bounds, end]:
            if cut <= clause_start:
                continue
            s, e = _trim(text, clause_start, cut)
            clause_start = cut
            if s >= e:
                continue
            if self.count(text[s:e]) <= self._piece_tokens:
                pieces.append((s, e))
            else:
                pieces.extend(self._split_tokens(text, s, e))
        return self._merge_small(text, pieces)

    def _split_tokens(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Cut at token boundaries that are character boundaries and not inside an atom (number/word)."""
        # tokens of the simplified form, whose characters stand one for one in the text's place
        segment = simplified_in_place(text[start:end])
        tokens = self._enc.encode_ordinary(segment)
        char_at_byte: dict[int, int] = {}
        offset = 0
        for i, ch in enumerate(segment):
            char_at_byte[offset] = i
            offset += len(ch.encode("utf-8"))
        char_at_byte[offset] = len(segment)
        forbidden: set[int] = set()
        for m in _ATOM.finditer(segment):
            forbidden.update(range(m.start() + 1, m.end()))
        # candidate cut points (relative char offset, tokens before it)
        cuts: list[tuple[int, int]] = []
        byte_pos = 0
        for n, tok in enumerate(tokens, start=1):
            byte_pos += len(self._enc.decode_single_token_bytes(tok))
            rel = char_at_byte.get(byte_pos)
            if rel is not None and rel not in forbidden and 0 < rel < len(segment):
                cuts.append((rel, n))
        cut_tokens = [n for _, n in cuts]
        pieces: list[tuple[int, int]] = []
        pos_rel, pos_tok, pos_idx = 0, 0, 0  # pos_idx: first cut after the current piece start
        while len(tokens) - pos_tok > self._piece_tokens and pos_idx < len(cuts):
            fit = bisect.bisect_right(cut_tokens, pos_tok + self._piece_tokens) - 1
            # No cut within the piece budget only when an unbreakable run (a very long number or word)
            # is longer than the budget: the piece then ends just after that run.
            chosen_idx = fit if fit >= pos_idx else pos_idx
            rel, n = cuts[chosen_idx]
            pieces.append((pos_rel, rel))
            pos_rel, pos_tok, pos_idx = rel, n, chosen_idx + 1
        pieces.append((pos_rel, len(segment)))
        out: list[tuple[int, int]] = []
        for s, e in pieces:
            ts, te = _trim(text, start + s, start + e)
            if ts < te:
                out.append((ts, te))
        return out

    def _merge_small(self, text: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Join adjacent tiny clauses (e.g. "一是，") into pieces up to the piece budget.

        Without this, a comma-heavy sentence yields many 3-token units and the overlap becomes a fragment.
        """
        merged: list[tuple[int, int]] = []
        for s, e in pieces:
            if merged and self.count(text[merged[-1][0] : e]) <= self._piece_tokens:
                merged[-1] = (merged[-1][0], e)
                continue
            merged.append((s, e))
        return merged

    # ---------------------------------------------------------------- packing

    def _pack(self, text: str, units: list[_Unit]) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        n = len(units)
        first = 0  # first unit of the current chunk
        while first < n:
            last = first  # inclusive; a chunk always takes at least one unit
            while last + 1 < n:
                nxt = units[last + 1]
                if self.count(text[units[first].start : nxt.end]) > self._budget:
                    break
                if nxt.paragraph != units[last].paragraph and self._prefer_break(text, units, first, last + 1):
                    break
                last += 1
            spans.append((units[first].start, units[last].end))
            if last + 1 >= n:
                break
            first = self._next_first(text, units, first, last)
        return spans

    def _prefer_break(self, text: str, units: list[_Unit], first: int, para_first: int) -> bool:
        """At a paragraph start: close the chunk if it is at least half full and the new block won't fit.

        A block is the new paragraph, plus the next one when the new paragraph is a heading (a single line
        with no sentence-final punctuation). This keeps a heading or a paragraph's opening sentence with the
        text it introduces instead of gluing it to the tail of the previous chunk.
        """
        used = self.count(text[units[first].start : units[para_first - 1].end])
        if used * 2 < self._budget:
            return False
        block_last = para_first
        while True:
            para = units[block_last].paragraph
            para_start = block_last
            while block_last + 1 < len(units) and units[block_last + 1].paragraph == para:
                block_last += 1
            is_heading = para_start == block_last and not _ENDS_SENTENCE.search(
                text[units[para_start].start : units[para_start].end]
            )
            if not is_heading or block_last + 1 >= len(units):
                break
            block_last += 1
        return self.count(text[units[first].start : units[block_last].end]) > self._budget

    def _next_first(self, text: str, units: list[_Unit], first: int, last: int) -> int:
        """First unit of the next chunk: trailing whole units of this one within the overlap budget.

        No overlap across a paragraph break: the cut is already a natural boundary there.
        """
        following = last + 1
        if not self._overlap or units[following].paragraph != units[last].paragraph:
            return following
        candidate = following
        k = last
        while k > first and units[k].paragraph == units[last].paragraph:
            if self.count(text[units[k].start : units[last].end]) > self._overlap:
                break
            # the next chunk must still have room for at least the following unit
            if self.count(text[units[k].start : units[following].end]) > self._budget:
                break
            candidate = k
            k -= 1
        return candidate


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
