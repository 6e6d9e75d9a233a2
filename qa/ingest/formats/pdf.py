"""PDF (.pdf) through pypdf: the text layer, running headers dropped, wrapped lines and figure tables rebuilt."""

from __future__ import annotations

import io
import re
from statistics import median

from qa.errors import EmptyDocument, UnreadableFile
from qa.ingest.formats.base import RawText
from qa.ingest.formats.tables import table_lines
from qa.ingest.formats.text import join_wrapped_line
from qa.text import WIDE_CHARS

_PAGE_NUMBER = re.compile(
    r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$|^第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?$",
    re.IGNORECASE,
)
# A footer that prints the page number beside other text ("Page 1 of 1   (c) 2026 Authority"): the explicit
# "page N of M" or "第N页" form at either end, set apart by a wide gap or a bar. Only a page's first and last lines
# are tested, where a contents row ("Appendix B   Page 12") is rare and is page furniture of a kind too.
_MARK = r"(?:page\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?)"
_PAGE_FOOTER = re.compile(rf"^{_MARK}(?:\s{{2,}}|\s*[|｜]\s*)\S|\S(?:\s{{2,}}|\s*[|｜]\s*){_MARK}$", re.IGNORECASE)
# Producers often stamp a file name or template name as the title; a path-like one is no headline.
_NOT_A_TITLE = re.compile(r"\.\w{2,4}$|^Microsoft Word|^untitled$", re.IGNORECASE)
# lines at each end of a page that may be running headers or footers
_EDGE_LINES = 2
_PDF_NUMBER = re.compile(r"^[(+\-−]?[$€£¥]?\d[\d,]*(?:\.\d+)?%?\)?$")
_YEAR = re.compile(r"^(?:19|20)\d{2}$")
_MIN_TABLE_ROWS = 3
# a sentence cut by the page break: Chinese text going on in Chinese or with a number, or Latin in lower case (a
# capital or a heading starts something new)
_RUNS_ON = re.compile(rf"(?s).*[{WIDE_CHARS}][^\n]*\n[{WIDE_CHARS}\d]|.*\n[a-z]")
_DECIMAL_CUT = re.compile(r"\d\.$")
_SENTENCE_END = tuple('。!?;:!?;:….”’"」』)）')


class PdfLoader:
    suffixes = frozenset({".pdf"})

    def load(self, data: bytes, name: str) -> RawText:
        if b"%PDF-" not in data[:1024]:
            raise UnreadableFile(f"{name}: not a PDF file (no %PDF header)")
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise UnreadableFile(f"{name}: the PDF is password-protected; remove the password and retry")
            pages = [reflow(page) for page in drop_running_lines([page.extract_text() or "" for page in reader.pages])]
            text = _join_pages(pages)
            meta = reader.metadata
            title = meta.title if meta is not None else None
        except UnreadableFile:
            raise
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            raise UnreadableFile(f"{name}: damaged or unsupported PDF ({exc})") from exc
        if not text.strip():
            raise EmptyDocument(f"{name}: the PDF has no text layer (scanned?); run OCR on it first")
        title = title.strip() if isinstance(title, str) else None
        if not title or _NOT_A_TITLE.search(title):
            title = None
        return RawText(text, title, title_is_fallback=True)


def _join_pages(pages: list[tuple[str, bool]]) -> str:
    """Pages as paragraphs, except that a sentence going on over the page break is joined back up."""
    text = ""
    open_end = False
    for page, runs_on in pages:
        if not page.strip():
            continue
        page = page.lstrip()
        if open_end and text and _RUNS_ON.match(text[-12:] + "\n" + page[:1]):
            text = join_wrapped_line(text, page)
        else:
            text = f"{text}\n\n{page}" if text else page
        open_end = runs_on
    return text


def drop_running_lines(pages: list[str]) -> list[str]:
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
        drop = {
            i
            for i in edges(lines)
            if key(lines[i]) in running or _PAGE_NUMBER.match(lines[i]) or _PAGE_FOOTER.search(lines[i])
        }
        out.append("\n".join(ln for i, ln in enumerate(lines) if i not in drop))
    return out


def figure_tables(lines: list[str]) -> list[str]:
    """Text-layer tables print as "Label 405,500 412,000" under a header "Measure 2023 2024". A run of
    lines ending in the same number (two or more) of figures, headed by a line whose last cells are years (or by
    a line of one label a column), becomes self-describing rows like the other formats' tables."""

    out: list[str] = []
    i = 0
    while i < len(lines):
        k = _figures(lines[i])
        # a header of labels, one a column ("乡镇 面积（平方公里） 户籍人口（万人）") over rows of figures
        head = lines[i].split()
        below = _figures(lines[i + 1]) if k < 2 and i + 1 < len(lines) else 0
        named = below >= 2 and len(head) == below + 1 and not any(_PDF_NUMBER.match(t) for t in head)
        if named:
            k = below
        j = i + 1
        while k >= 2 and j < len(lines) and _figures(lines[j]) == k:
            j += 1
        rows = lines[i:j]
        head_tokens = head[-k:] if k >= 2 else []
        if k >= 2 and len(rows) > _MIN_TABLE_ROWS and (named or all(_YEAR.match(t) for t in head_tokens)):
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


def _figures(line: str) -> int:
    """How many figures end the line, as a table row's cells ("石门镇 312.5 9.84 6.21": 3)."""
    tokens = line.split()
    n = 0
    while n < len(tokens) - 1 and _PDF_NUMBER.match(tokens[-1 - n]):
        n += 1
    return n


def reflow(page: str) -> tuple[str, bool]:
    """Join lines the PDF layout wrapped mid-paragraph: a line that fills the column and does not end a
    sentence continues on the next line. Also says whether the page's last line is such a line (its sentence
    goes on over the page)."""
    lines = [ln.rstrip() for ln in page.splitlines()]
    widths = [len(ln) for ln in lines if len(ln.strip()) > 1]
    if not widths:
        return page, False
    full = 0.8 * max(median(widths), 0.7 * max(widths))
    # table rows, and the line above a run of them (their header), stay lines of their own
    rows = [_figures(ln) >= 2 for ln in lines]
    kept = [row or (i + 1 < len(lines) and rows[i + 1]) for i, row in enumerate(rows)]
    out: list[str] = []
    joining = False
    cut_number = False
    for line, keep in zip(lines, kept, strict=True):
        stripped = line.strip()
        if stripped and out and not keep and (joining or (cut_number and stripped[:1].isdigit())):
            out[-1] = join_wrapped_line(out[-1], stripped)
        else:
            out.append(stripped)
        filled = bool(stripped) and len(line) >= full and not keep
        joining = filled and not stripped.endswith(_SENTENCE_END)
        # "19." at the end of a full line, "6亿元" on the next: a decimal point, not a full stop
        cut_number = filled and bool(_DECIMAL_CUT.search(stripped))
    return "\n".join(figure_tables(out)), joining
