"""Bytes of a text file → str: BOMs, a declared charset, UTF-8, then detection with charset-normalizer."""

from __future__ import annotations

import codecs
import re
import unicodedata

from qa.errors import UnreadableFile

# Control characters other than tab/newline/carriage return/form feed: text files have (almost) none.
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_MAX_CONTROL_RATIO = 0.01
_CHINESE_CODECS = frozenset({"gb2312", "gbk", "gb18030", "hz", "cp936"})
_KOREAN_CODECS = frozenset({"cp949", "euc_kr", "johab", "iso2022_kr"})
_CJK_CODECS = (
    _CHINESE_CODECS | _KOREAN_CODECS | frozenset({"big5", "big5hkscs", "cp950", "shift_jis", "cp932", "euc_jp"})
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
    if guess is not None and _prefer_gb18030(data, guess):
        guess = "gb18030"
    if guess is not None:
        encoding = "gb18030" if guess in _CHINESE_CODECS else guess
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            text = str(best)
        if not looks_binary(text):
            return text
    # Too short for detection to be confident: Chinese legacy encodings are the likely case here, GB18030 first and
    # then Big5 (traditional script) if GB18030 reads it as code points no text has.
    decoded: list[str] = []
    for encoding in ("gb18030", "big5hkscs"):
        try:
            decoded.append(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    if not decoded:
        raise UnreadableFile(f"{name}: not text in UTF-8, GB18030 or any detectable encoding; save it as UTF-8")
    text = min(decoded, key=_unassigned)
    if looks_binary(text):
        raise UnreadableFile(f"{name}: binary content, not a text file")
    return text


def _prefer_gb18030(data: bytes, guess: str) -> bool:
    """Detection often calls GBK text Korean, and on short input any CJK guess is a coin toss; for a
    Chinese-first corpus GB18030 is the better bet whenever it decodes cleanly: to text, not to private-use or
    unassigned code points, which is what Big5 bytes read as GB18030 give."""
    risky = guess in _KOREAN_CODECS or (len(data) < _SHORT_INPUT_BYTES and guess in _CJK_CODECS)
    if not risky:
        return False
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return not looks_binary(text) and not _unassigned(text)


# Code-point blocks text without a byte-order mark is read as UTF-16 in, when it is text: ASCII and Latin-1,
# general punctuation, CJK (kana, ideographs, their punctuation), Hangul and the fullwidth forms. Binary data read
# as UTF-16 lands all over the code space.
_COMMON_BLOCKS = re.compile("[\t\n\r\x20-\x7e\xa0-\xff\u2000-\u206f\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")
_MIN_UTF16_COMMON = 0.98


def _in_common_blocks(text: str) -> float:
    sample = text[:20000]
    return len(_COMMON_BLOCKS.findall(sample)) / max(len(sample), 1)


def _unassigned(text: str) -> int:
    """Private-use and unassigned code points: no real text has them, a wrong legacy codec makes them."""
    return sum(unicodedata.category(ch) in ("Co", "Cn") for ch in text)
