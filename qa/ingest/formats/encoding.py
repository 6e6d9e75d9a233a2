"""Bytes of a text file → str: BOMs, a declared charset, UTF-8, then detection with charset-normalizer."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Sequence

from qa.errors import UnreadableFile

# Control characters other than tab/newline/carriage return/form feed: text files have (almost) none.
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_MAX_CONTROL_RATIO = 0.01
_CHINESE_CODECS = frozenset({"gb2312", "gbk", "gb18030", "hz", "cp936"})
_KOREAN_CODECS = frozenset({"cp949", "euc_kr", "johab", "iso2022_kr"})
_CJK_CODECS = (
    _CHINESE_CODECS
    | _KOREAN_CODECS
    | frozenset({"big5", "big5hkscs", "cp950", "shift_jis", "shift_jis_2004", "shift_jisx0213", "cp932", "euc_jp"})
    | frozenset({"euc_jis_2004", "euc_jisx0213", "iso2022_jp"})
)
# Detection on shorter input is a coin toss between CJK codepages.
_SHORT_INPUT_BYTES = 512


def looks_binary(text: str) -> bool:
    """Whether decoded text is really binary data: more than 1% control characters."""
    if not text:
        return False
    sample = text[:20000]
    return len(_BINARY_CONTROL.findall(sample)) > _MAX_CONTROL_RATIO * len(sample)


def decode_text(data: bytes, name: str, declared: str | None = None) -> str:
    """Decode a text file: BOMs, a declared charset, UTF-8, then detection (GB18030 for Chinese codepages).

    Raises UnreadableFile when the bytes are not text in any encoding we can tell.
    """
    candidates: list[str] = []
    if data.startswith(b"%PDF-"):
        raise UnreadableFile(f"{name}: a PDF file, not text: give it the .pdf suffix")
    if data.startswith(codecs.BOM_UTF8):
        candidates.append("utf-8-sig")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates.append("utf-16")
    elif b"\x00" in data[:8192]:
        # UTF-16 saved without a byte-order mark has NUL bytes too: text only if it reads as text. Its NULs are the
        # high bytes of ASCII characters, which come second in little-endian order
        head = data[:8192]
        little = head[1::2].count(0) >= head[::2].count(0)
        for encoding in ("utf-16-le", "utf-16-be") if little else ("utf-16-be", "utf-16-le"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if not looks_binary(text) and _in_common_blocks(text) >= _MIN_UTF16_COMMON:
                return text
        raise UnreadableFile(f"{name}: binary content (NUL bytes), not a text file")
    if declared:
        try:
            declared = codecs.lookup(declared).name
        except LookupError:
            declared = None
    if declared:
        # GB2312/GBK pages routinely contain GB18030-only characters; the superset decodes them all.
        candidates.append("gb18030" if declared in _CHINESE_CODECS else declared)
    candidates.append("utf-8")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if looks_binary(text):
            raise UnreadableFile(f"{name}: binary content, not a text file")
        return text
    return _detect(data, name)


def _detect(data: bytes, name: str) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    guess = best.encoding.lower() if best is not None and best.encoding else None
    if (
        guess is None
        or guess in _KOREAN_CODECS
        or guess.startswith("utf_16")
        or (len(data) < _SHORT_INPUT_BYTES and guess in _CJK_CODECS)
    ):
        # Detection often calls GBK text Korean or UTF-16, and on short input any CJK guess is a coin toss (short
        # Big5 comes out as Korean, or as GB18030 mojibake): decode with each likely codec and keep the text that
        # reads most like Chinese, by how common its characters are, GB18030 first on a tie.
        text = _most_chinese(data, ["gb18030", "big5hkscs", *([guess] if guess else [])])
        if text is not None and not looks_binary(text):
            return text
    if guess is not None:
        encoding = "gb18030" if guess in _CHINESE_CODECS else guess
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            text = str(best)
        if not looks_binary(text):
            return text
    raise UnreadableFile(f"{name}: not text in UTF-8, GB18030 or any detectable encoding; save it as UTF-8")


# characters enough to tell mojibake from text, however long the file
_PLAUSIBILITY_SAMPLE = 4000


def _most_chinese(data: bytes, encodings: Sequence[str]) -> str | None:
    """The decoding of `data` whose characters are on average the most frequent in Chinese (wordfreq's Zipf
    scale; private-use, unassigned, Hangul and kana score 0): mojibake is made of rare characters."""
    from wordfreq import zipf_frequency

    scored: list[tuple[float, int, str]] = []
    for order, encoding in enumerate(dict.fromkeys(encodings)):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        sample = text[:_PLAUSIBILITY_SAMPLE]
        letters = [ch for ch in sample if not ch.isascii() and not unicodedata.category(ch).startswith(("P", "Z", "S"))]
        score = sum(zipf_frequency(ch, "zh") for ch in letters) / len(letters) if letters else 0.0
        scored.append((score, -order, text))
    return max(scored)[2] if scored else None


# Code-point blocks text without a byte-order mark is read as UTF-16 in, when it is text: ASCII and Latin-1,
# general punctuation, CJK (kana, ideographs, their punctuation), Hangul and the fullwidth forms. Binary data read
# as UTF-16 lands all over the code space.
_COMMON_BLOCKS = re.compile("[\t\n\r\x20-\x7e\xa0-\xff\u2000-\u206f\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")
_MIN_UTF16_COMMON = 0.98


def _in_common_blocks(text: str) -> float:
    sample = text[:20000]
    return len(_COMMON_BLOCKS.findall(sample)) / max(len(sample), 1)
