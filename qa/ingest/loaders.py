"""Bytes of one file → raw text and an optional title, per format.

Each loader checks that the bytes really are what the suffix claims (a `.pdf` that is not a PDF, a `.txt`
that is binary) and raises `UnreadableFile`, so garbage never reaches the index. Boilerplate removal
happens later, in `clean`, the same way for every format.
"""

from __future__ import annotations

import codecs
import copy
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from statistics import median
from typing import Any

from qa.errors import EmptyDocument, UnreadableFile, UnsupportedFile

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".docx"})

# Control characters other than tab/newline/carriage return/form feed: text files have (almost) none.
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_MAX_CONTROL_RATIO = 0.01
_CHINESE_CODECS = frozenset({"gb2312", "gbk", "gb18030", "hz", "cp936"})
_KOREAN_CODECS = frozenset({"cp949", "euc_kr", "johab", "iso2022_kr"})
_CJK_CODECS = (
    _CHINESE_CODECS | _KOREAN_CODECS | frozenset({"big5", "big5hkscs", "cp950", "shift_jis", "cp932", "euc_jp"})
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RawText:
    """What a loader read. `title` is a headline the format itself declares (HTML metadata, a markdown
    `# heading`, a Word "Title" paragraph, PDF metadata), or None."""

    text: str
    title: str | None = None
    # PDF metadata titles are often a template or file name: use one only when the text has no headline
    title_is_fallback: bool = False


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    sample = text[:20000]
    return len(_BINARY_CONTROL.findall(sample)) > _MAX_CONTROL_RATIO * len(sample)


def decode_text(data: bytes, name: str, declared: str | None = None) -> str:
    """Decode a text file: BOMs, a declared charset, UTF-8, then detection (GB18030 for Chinese codepages).

    Raises UnreadableFile when the bytes are not text in any encoding we can tell.
    """
    candidates: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        candidates.append("utf-8-sig")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates.append("utf-16")
    elif b"\x00" in data[:8192]:
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
        if _looks_binary(text):
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
        if not _looks_binary(text):
            return text
    # Too short for detection to be confident: Chinese legacy encodings are the likely case here.
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnreadableFile(
            f"{name}: not text in UTF-8, GB18030 or any detectable encoding; save it as UTF-8"
        ) from None
    if _looks_binary(text):
        raise UnreadableFile(f"{name}: binary content, not a text file")
    return text


def _prefer_gb18030(data: bytes, guess: str) -> bool:
    """Detection often calls GBK text Korean, and on short input any CJK guess is a coin toss; for a
    Chinese-first corpus GB18030 is the better bet whenever it decodes cleanly."""
    risky = guess in _KOREAN_CODECS or (len(data) < 512 and guess in _CJK_CODECS)
    if not risky:
        return False
    try:
        return not _looks_binary(data.decode("gb18030"))
    except UnicodeDecodeError:
        return False


def load_txt(data: bytes, name: str) -> RawText:
    return RawText(unwrap_english(decode_text(data, name)))


_WRAP_MIN_CHARS = 40
_LATIN_END = re.compile(r"[A-Za-z0-9,]$")
_LOWER_START = re.compile(r"^[a-z]")


def unwrap_english(text: str) -> str:
    """Join hard-wrapped English lines: a long line that stops mid-sentence (no terminal punctuation)
    followed by one starting in lower case is one sentence. Chinese lines are never joined: a Chinese
    line break is a paragraph break, and wrapped Chinese cannot be told from separate paragraphs."""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        if out:
            prev = out[-1].rstrip()
            nxt = line.strip()
            if (
                len(prev.strip()) >= _WRAP_MIN_CHARS
                and _LATIN_END.search(prev)
                and _LOWER_START.match(nxt)
                and not _CJK_TEXT.search(prev[-20:])
            ):
                out[-1] = join_wrapped_line(prev, nxt)
                continue
        out.append(line)
    return "\n".join(out)


_CJK_TEXT = re.compile(r"[\u3400-\u9fff]")


_MD_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*\n", re.DOTALL)
_MD_FRONT_TITLE = re.compile(r"^title\s*:\s*[\"']?(.+?)[\"']?\s*$", re.MULTILINE)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1|(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_MD_CODE = re.compile(r"`([^`]+)`")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_MD_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MD_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_MD_HARD_BREAK = re.compile(r"(?: {2,}|\\)$")


def markdown_to_text(md: str) -> RawText:
    """Markdown markup → plain text; the first heading (or front-matter `title:`) is the title.

    The stored text is what citations quote, so markup characters (`**`, link targets, `#`) go. Hard-wrapped
    paragraph lines are joined (a sentence split over two lines would become two sentences); headings,
    list items, table rows and code stay on lines of their own. Tables become one self-describing line per
    row (see `table_lines`).
    """
    title: str | None = None
    front = _MD_FRONT_MATTER.match(md)
    if front:
        found = _MD_FRONT_TITLE.search(front.group(1))
        title = found.group(1).strip() if found else None
        md = md[front.end() :]
    md = _HTML_COMMENT.sub("", md)
    # (text, role): role "para" lines join the paragraph or list item above them
    out: list[tuple[str, str]] = []
    lines = md.splitlines()
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            out.append((line, "code"))
            continue
        if "|" in line and i < len(lines) and _MD_TABLE_SEP.match(lines[i]) and "|" in lines[i]:
            rows = [_md_cells(line)]
            i += 1
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_md_cells(lines[i]))
                i += 1
            out.extend((row, "table") for row in table_lines(rows, header=True))
            continue
        if _MD_REF_DEF.match(line) or _MD_RULE.match(line):
            out.append(("", "blank"))
            continue
        if _MD_SETEXT.match(line) and out and out[-1][0].strip() and out[-1][1] == "para":
            # "Title\n=====": the line above is a heading
            if title is None:
                title = out[-1][0].strip()
            out[-1] = (out[-1][0], "heading")
            continue
        heading = _MD_HEADING.match(line)
        role = "para"
        if heading:
            line = heading.group(1)
            role = "heading"
            if title is None and line.strip():
                title = _inline(line).strip()
        elif line.lstrip().startswith(">"):
            line = line.lstrip().lstrip(">").strip()
        elif _MD_LIST_ITEM.match(line):
            role = "item"
        elif line.lstrip().startswith("|"):
            role = "table"
        if not line.strip():
            role = "blank"
        out.append((_inline(line), role))
    return RawText("\n".join(_join_wrapped(out)), title or None)


def _join_wrapped(lines: list[tuple[str, str]]) -> list[str]:
    joined: list[str] = []
    joinable = False
    for text, role in lines:
        if role == "para" and joinable and joined:
            joined[-1] = join_wrapped_line(joined[-1].rstrip(), text.strip())
        else:
            joined.append(text)
        joinable = role in ("para", "item") and not _MD_HARD_BREAK.search(text)
    return joined


def join_wrapped_line(left: str, right: str) -> str:
    """Two pieces of one wrapped line: CJK joins without a space, Latin with one (a hyphen at a word break
    is removed)."""
    if not left or not right:
        return left + right
    if left.endswith("-") and left[-2:-1].isalpha() and right[:1].islower():
        return left[:-1] + right
    if _is_wide(left[-1]) or _is_wide(right[0]):
        return left + right
    return left + " " + right


def _md_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [_inline(c.replace("\\|", "|").strip()) for c in re.split(r"(?<!\\)\|", line)]


_NUMBERISH = re.compile(r"\d")


def table_lines(rows: list[list[str]], *, header: bool | None = None) -> list[str]:
    """Table rows as self-describing lines: "<first cell>：<header_2> <cell_2>，<header_3> <cell_3>…".

    A row such as "| 北岸区 | 17 | 2,133 |" means nothing once it is cut out of its table into a chunk;
    naming each value's column keeps it answerable. `header` says whether the first row is a header
    (markdown knows); None guesses it. Tables without a header keep their cells joined by " | ".
    """
    rows = [[" ".join(c.split()) for c in r] for r in rows]
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    if header is None:
        header = _looks_like_header(rows[0], rows[1:])
    if not header or len(rows) < 2 or len(rows[0]) < 2:
        return ["| " + " | ".join(r) + " |" for r in rows]
    head = rows[0]
    wide = any(_is_wide(ch) for cell in head + rows[1] for ch in cell)
    # "，" not "；": a semicolon ends a sentence, and a row cut into sentences loses its label again
    colon, sep = ("：", "，") if wide else (": ", ", ")
    out: list[str] = []
    for row in rows[1:]:
        label = row[0]
        pairs = [f"{h} {v}" if h and h != v else v for h, v in zip(head[1:], row[1:], strict=False) if v and v != label]
        if not pairs:
            out.append(label)
        elif label:
            out.append(label + colon + sep.join(pairs))
        else:
            out.append(sep.join(pairs))
    return out


def _looks_like_header(first: list[str], body: list[list[str]]) -> bool:
    """Three or more distinct short labels head a table; a two-column table has a header only when its
    value column holds numbers below a label (a key–value form has none)."""
    if not body or len(first) < 2 or any(not c or len(c) > 40 for c in first[1:]) or len(set(first)) < len(first):
        return False
    if len(first) >= 3:
        return True
    numeric = sum(1 for r in body if len(r) > 1 and _NUMBERISH.search(r[1]))
    return not _NUMBERISH.search(first[1]) and numeric * 2 >= len(body)


def _inline(line: str) -> str:
    line = _MD_IMAGE.sub(r"\1", line)
    line = _MD_LINK.sub(r"\1", line)
    line = _MD_CODE.sub(r"\1", line)
    return _MD_EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or "", line)


def load_md(data: bytes, name: str) -> RawText:
    return markdown_to_text(decode_text(data, name))


_BLOCK_TAGS = frozenset(
    "address article aside blockquote body br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_CHROME_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "nav", "header", "footer", "aside", "form")


def _html_charset(data: bytes) -> str | None:
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii", "ignore") if found else None


def load_html(data: bytes, name: str) -> RawText:
    """Main text via trafilatura; a plain block-aware text dump when it finds no article."""
    html = decode_text(data, name, declared=_html_charset(data))
    if not re.search(r"<[A-Za-z!/]", html):
        raise UnreadableFile(f"{name}: no HTML markup found; save it as .txt if it is plain text")
    # Encoding declarations make lxml refuse str input; the text is decoded already.
    html = re.sub(r"\A\s*<\?xml[^>]*\?>", "", html)
    # A line break in the source between two CJK characters is no space in a browser (CSS segment-break
    # rules); extractors would print it as one ("评审， 我局").
    html = _CJK_SOURCE_BREAK.sub("", html)

    import trafilatura

    text: str | None = None
    title: str | None = None
    from trafilatura.settings import DEFAULT_CONFIG

    config = copy.deepcopy(DEFAULT_CONFIG)
    # Below this size trafilatura swaps in a baseline extractor that flattens all paragraphs into one line;
    # short pages (notices, uploads) need their paragraph breaks too.
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    try:
        result = trafilatura.bare_extraction(
            html,
            config=config,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            favor_recall=True,
            with_metadata=True,
        )
    except Exception:  # trafilatura raises assorted parser errors on broken markup; the fallback copes
        result = None
    if result is not None:
        document: Any = result
        text = getattr(document, "text", None)
        title = getattr(document, "title", None)
    if not text or not text.strip():
        text, fallback_title = _html_fallback(html)
        title = title or fallback_title
    else:
        text = _with_article_head(html, _pipe_tables(text), title)
    return RawText(text, title.strip() if title and title.strip() else None)


def _pipe_tables(text: str) -> str:
    """The extractor prints tables as "| a | b |" rows; runs of them become self-describing lines."""
    out: list[str] = []
    rows: list[list[str]] = []
    for line in [*text.split("\n"), ""]:
        stripped = line.strip()
        if len(stripped) > 2 and stripped.startswith("|") and stripped.endswith("|"):
            if not _MD_TABLE_SEP.match(stripped):
                rows.append(_md_cells(stripped))
            continue
        if rows:
            out.extend(table_lines(rows) if len(rows) >= 2 else ["| " + " | ".join(rows[0]) + " |"])
            rows = []
        out.append(line)
    return "\n".join(out[:-1])


_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_SOURCE_BREAK = re.compile(rf"(?<=[{_WIDE}])[ \t]*\r?\n[ \t]*(?=[{_WIDE}])")
_INLINE_TAGS = ("span", "time", "em", "strong", "b", "i", "a", "font", "small", "label")
_MAX_HEAD_LINES = 8


def _with_article_head(html: str, text: str, title: str | None) -> str:
    """Put the headline and its dateline back above the extracted article text.

    Extractors return the body only: the headline (h1/h2 above it) becomes metadata and the line under it
    with the publication date and reporter is dropped as page furniture, yet both are content a reader
    asks about. The headline is the h1/h2 that the page title names (else the page's only h1); the
    dateline candidates are the short lines between it and the body's first line.
    """
    import lxml.html
    from lxml import etree

    from qa.ingest.clean import is_dateline, tidy_dateline

    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return text
    for el in list(root.iter("script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "form")):
        if el.getparent() is not None:
            el.drop_tree()
    headline_el = _find_headline(root, title)
    if headline_el is None:
        return text
    headline = " ".join(headline_el.text_content().split())
    # source line breaks are spaces; only block elements break lines
    for el in root.iter():
        if isinstance(el.text, str):
            el.text = re.sub(r"\s+", " ", el.text)
        if isinstance(el.tail, str):
            el.tail = re.sub(r"\s+", " ", el.tail)
    for el in root.iter(*_BLOCK_TAGS):
        el.text = "\n" + (el.text or "")
        el.tail = "\n" + (el.tail or "")
    for el in root.iter(*_INLINE_TAGS):
        el.tail = " " + (el.tail or "")
    marker = "\ue000HEADLINE\ue000"
    headline_el.text, headline_el.tail = "\n" + marker + "\n", "\n" + (headline_el.tail or "")
    for child in list(headline_el):
        headline_el.remove(child)
    page = root.text_content()
    after = page.split(marker, 1)[1] if marker in page else ""
    first_body = _squash(next((ln for ln in text.splitlines() if ln.strip()), ""))[:12]
    datelines: list[str] = []
    seen = 0
    for line in after.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if first_body and _squash(line).startswith(first_body):
            break
        seen += 1
        if seen > _MAX_HEAD_LINES:
            break
        if is_dateline(line) or is_dateline(tidy_dateline(line)):
            datelines.append(line)
    head_of_text = _squash(text[:400])
    datelines = [d for d in datelines if _squash(tidy_dateline(d)) not in head_of_text]
    first, _, rest = text.lstrip().partition("\n")
    if _squash(headline) == _squash(first):
        # the extractor kept the headline: the dateline goes under it
        return "\n".join([first, *datelines, rest]) if datelines else text
    if _squash(headline) in head_of_text:
        return "\n".join([*datelines, text]) if datelines else text
    return "\n".join([headline, *datelines, text])


def _find_headline(root: Any, title: str | None) -> Any:
    titles = root.xpath("//title")
    page_title = _squash((title or "") + " " + (titles[0].text_content() if titles else ""))
    h1s = root.xpath("//h1")
    for el in root.xpath("//h1|//h2"):
        squashed = _squash(el.text_content())
        if len(squashed) >= 4 and squashed in page_title:
            return el
    return h1s[0] if len(h1s) == 1 and _squash(h1s[0].text_content()) else None


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _html_fallback(html: str) -> tuple[str, str | None]:
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return "", None
    titles = root.xpath("//title")
    title = titles[0].text_content().strip() if titles else None
    headings = root.xpath("//h1")
    if headings and headings[0].text_content().strip():
        title = headings[0].text_content().strip()
    for el in list(root.iter(*_CHROME_TAGS, "head")):
        if el.getparent() is not None:
            el.drop_tree()
    for el in root.iter(*_BLOCK_TAGS):
        el.text = "\n" + (el.text or "")
        el.tail = "\n" + (el.tail or "")
    return root.text_content(), title or None


def load_pdf(data: bytes, name: str) -> RawText:
    if b"%PDF-" not in data[:1024]:
        raise UnreadableFile(f"{name}: not a PDF file (no %PDF header)")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile(f"{name}: the PDF is password-protected; remove the password and retry")
        pages = [_reflow(page) for page in _drop_running_lines([page.extract_text() or "" for page in reader.pages])]
        meta = reader.metadata
        title = meta.title if meta is not None else None
    except UnreadableFile:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise UnreadableFile(f"{name}: damaged or unsupported PDF ({exc})") from exc
    text = "\n\n".join(p for p in pages if p.strip())
    if not text.strip():
        raise EmptyDocument(f"{name}: the PDF has no text layer (scanned?); run OCR on it first")
    # Producers often stamp a file name or template name as the title; a path-like one is no headline.
    if title and (re.search(r"\.\w{2,4}$|^Microsoft Word|^untitled$", title.strip(), re.IGNORECASE)):
        title = None
    return RawText(text, title.strip() if isinstance(title, str) and title.strip() else None, title_is_fallback=True)


_PAGE_NUMBER = re.compile(
    r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$|^第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?$",
    re.IGNORECASE,
)
_EDGE_LINES = 2


def _drop_running_lines(pages: list[str]) -> list[str]:
    """Remove running headers/footers and page numbers.

    A line printed at the top or bottom of most pages ("Riverbend Water Authority | 2024 Annual Report",
    "Page 2 of 5", digits masked so page numbers compare equal) is layout, not text: kept, it would repeat
    in every chunk and become the document's title.
    """
    split = [[ln.strip() for ln in page.splitlines()] for page in pages]

    def edges(lines: list[str]) -> list[int]:
        filled = [i for i, ln in enumerate(lines) if ln]
        return sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", re.sub(r"\s+", " ", line)).lower()

    counts: dict[str, int] = {}
    for lines in split:
        for k in {key(lines[i]) for i in edges(lines)}:
            counts[k] = counts.get(k, 0) + 1
    needed = max(2, -(-len(pages) * 3 // 5))  # on at least 60% of the pages, and on two or more
    running = {k for k, n in counts.items() if n >= needed} if len(pages) >= 2 else set()
    out: list[str] = []
    for lines in split:
        drop = {i for i in edges(lines) if key(lines[i]) in running or _PAGE_NUMBER.match(lines[i])}
        kept = [ln for i, ln in enumerate(lines) if i not in drop]
        out.append("\n".join(_pdf_tables(kept)))
    return out


_PDF_NUMBER = re.compile(r"^[(+\-−]?[$€£¥]?\d[\d,]*(?:\.\d+)?%?\)?$")
_YEAR = re.compile(r"^(?:19|20)\d{2}$")
_MIN_TABLE_ROWS = 3


def _pdf_tables(lines: list[str]) -> list[str]:
    """Text-layer tables print as "Label 405,500 412,000" under a header "Measure 2023 2024". A run of
    lines ending in the same number (two or more) of figures, headed by a line whose last cells are labels
    or years, becomes self-describing rows like the other formats' tables."""

    def figures(line: str) -> int:
        tokens = line.split()
        n = 0
        while n < len(tokens) - 1 and _PDF_NUMBER.match(tokens[-1 - n]):
            n += 1
        return n

    out: list[str] = []
    i = 0
    while i < len(lines):
        k = figures(lines[i])
        j = i + 1
        while k >= 2 and j < len(lines) and figures(lines[j]) == k:
            j += 1
        rows = lines[i:j]
        head_tokens = rows[0].split()[-k:] if k >= 2 else []
        if k >= 2 and len(rows) > _MIN_TABLE_ROWS and all(_YEAR.match(t) for t in head_tokens):
            body = [r.split() for r in rows[1:]]
            if not all(all(_YEAR.match(t) for t in r[-k:]) for r in body):
                header = [" ".join(rows[0].split()[:-k]), *head_tokens]
                cells = [[" ".join(r[:-k]), *r[-k:]] for r in body]
                out.extend(table_lines([header, *cells], header=True))
                i = j
                continue
        out.append(lines[i])
        i += 1
    return out


_PDF_SENTENCE_END = tuple('。!?;:!?;:….”’"」』)）')


def _reflow(page: str) -> str:
    """Join lines the PDF layout wrapped mid-paragraph.

    A line that fills the column and does not end a sentence continues on the next line. CJK joins
    without a space, Latin with one (and a trailing hyphen is removed).
    """
    lines = [ln.rstrip() for ln in page.splitlines()]
    widths = [len(ln) for ln in lines if len(ln.strip()) > 1]
    if not widths:
        return page
    full = 0.8 * max(median(widths), 0.7 * max(widths))
    out: list[str] = []
    joining = False
    for line in lines:
        stripped = line.strip()
        if joining and stripped and out:
            prev = out[-1]
            if prev.endswith("-") and prev[-2:-1].isalpha():
                out[-1] = prev[:-1] + stripped
            elif _is_wide(prev[-1]) or _is_wide(stripped[0]):
                out[-1] = prev + stripped
            else:
                out[-1] = prev + " " + stripped
        else:
            out.append(stripped)
        joining = bool(stripped) and len(line) >= full and not stripped.endswith(_PDF_SENTENCE_END)
    return "\n".join(out)


def _is_wide(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"


def load_docx(data: bytes, name: str) -> RawText:
    if not data.startswith(b"PK\x03\x04"):
        raise UnreadableFile(f"{name}: not a .docx file (not a ZIP package); legacy .doc must be saved as .docx")
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableFile(f"{name}: damaged or not a Word document ({exc})") from exc
    title: str | None = None
    lines: list[str] = []
    for kind, item in _docx_blocks(document):
        if kind == "p":
            text = item.text.strip()
            style = (item.style.name if item.style is not None else "") or ""
            if title is None and text and style.lower() in ("title", "heading 1"):
                title = text
            lines.append(text)
        else:
            lines.extend(_docx_table(item))
            lines.append("")
    if title is None:
        title = (document.core_properties.title or "").strip() or None
    return RawText("\n".join(lines), title)


def _docx_blocks(document: Any) -> Iterator[tuple[str, Any]]:
    """Paragraphs and tables in document order (python-docx lists them separately)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield "p", Paragraph(child, document)
        elif tag == "tbl":
            yield "t", Table(child, document)


def _docx_table(table: Any) -> list[str]:
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        previous: object = None
        for cell in row.cells:
            # merged cells come back once per grid column; one copy is enough
            if cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        rows.append(cells)
    return table_lines(rows)


_LOADERS: dict[str, Callable[[bytes, str], RawText]] = {
    ".txt": load_txt,
    ".md": load_md,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
}


def base_name(name: str) -> str:
    """The last component of a path from any OS (uploads may carry `C:\\dir\\x.txt` or `../x.txt`)."""
    return re.split(r"[\\/]", name.strip())[-1]


def suffix_of(name: str) -> str:
    return PurePosixPath(base_name(name)).suffix.lower()


def extract(data: bytes, name: str) -> RawText:
    """Dispatch on the file name's suffix. `name` is only used for the suffix and error messages."""
    suffix = suffix_of(name)
    loader = _LOADERS.get(suffix)
    if loader is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFile(f"{name}: unsupported file type {suffix or '(no suffix)'}; supported: {supported}")
    return loader(data, name)
