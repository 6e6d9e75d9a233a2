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
    return RawText(decode_text(data, name))


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


def markdown_to_text(md: str) -> RawText:
    """Markdown markup → plain text; the first heading (or front-matter `title:`) is the title.

    The stored text is what citations quote, so markup characters (`**`, link targets, `#`) go.
    """
    title: str | None = None
    front = _MD_FRONT_MATTER.match(md)
    if front:
        found = _MD_FRONT_TITLE.search(front.group(1))
        title = found.group(1).strip() if found else None
        md = md[front.end() :]
    md = _HTML_COMMENT.sub("", md)
    out: list[str] = []
    in_fence = False
    for line in md.splitlines():
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            out.append(line)
            continue
        if _MD_REF_DEF.match(line) or _MD_RULE.match(line):
            out.append("")
            continue
        if _MD_SETEXT.match(line) and out and out[-1].strip():
            # "Title\n=====": the line above is a heading
            if title is None:
                title = out[-1].strip()
            continue
        heading = _MD_HEADING.match(line)
        if heading:
            line = heading.group(1)
            if title is None and line.strip():
                title = _inline(line).strip()
        elif line.lstrip().startswith(">"):
            line = line.lstrip().lstrip(">").strip()
        out.append(_inline(line))
    return RawText("\n".join(out), title or None)


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
    return RawText(text, title.strip() if title and title.strip() else None)


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
        pages = [_reflow(page.extract_text() or "") for page in reader.pages]
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
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous: object = None
        for cell in row.cells:
            # merged cells come back once per grid column; one copy is enough
            if cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    return rows


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
