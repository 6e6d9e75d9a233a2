"""HTML (.html, .htm): the article text through trafilatura, its headline and dateline put back on top."""

from __future__ import annotations

import calendar
import copy
import re
from html import unescape
from typing import Any

from qa.errors import UnreadableFile
from qa.ingest.clean import is_dateline, tidy_dateline
from qa.ingest.formats.base import RawText, as_superscript
from qa.ingest.formats.encoding import decode_text
from qa.ingest.formats.tables import group_header, pipe_tables, table_lines
from qa.text import WIDE_CHARS, is_wide

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_CHROME_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "nav", "header", "footer", "aside", "form")
_INLINE_TAGS = ("span", "time", "em", "strong", "b", "i", "a", "font", "small", "label")
# A line break in the source between two CJK characters is no space in a browser (CSS segment-break rules).
_CJK_SOURCE_BREAK = re.compile(rf"(?<=[{WIDE_CHARS}])[ \t]*\r?\n[ \t]*(?=[{WIDE_CHARS}])")
# how many lines between the headline and the body may hold its dateline
_MAX_HEAD_LINES = 8
_MAX_DATELINE_CHARS = 120
_ROWSPAN = re.compile(r"rowspan\s*=\s*[\"']?\s*0*(?:[2-9]|[1-9]\d)", re.IGNORECASE)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TH = re.compile(r"<th[\s>]", re.IGNORECASE)
_SUP = re.compile(r"<sup\b[^>]*>(.*?)</sup\s*>", re.IGNORECASE | re.DOTALL)
# "[2]", "[注 3]", "[a]", "[來源請求]": a bracketed mark of at most a few characters
_REFERENCE_MARK = re.compile(r"[\[［【][^\]］】]{1,8}[\]］】]")
# a span is at most this many rows or columns (the HTML standard caps rowspan at 65534; a page saying more is broken)
_MAX_SPAN = 1000


class HtmlLoader:
    suffixes = frozenset({".html", ".htm"})

    def load(self, data: bytes, name: str) -> RawText:
        return load_html(data, name)


def load_html(data: bytes, name: str) -> RawText:
    """Main text, title and publication date via trafilatura; a plain block-aware text dump when it finds
    no article."""
    html = decode_text(data, name, declared=_html_charset(data))
    if not re.search(r"<[A-Za-z!/]", html):
        raise UnreadableFile(f"{name}: no HTML markup found; save it as .txt if it is plain text")
    # Encoding declarations make lxml refuse str input; the text is decoded already.
    html = re.sub(r"\A\s*<\?xml[^>]*\?>", "", html)
    # Extractors would print a source line break between CJK characters as a space ("评审， 我局").
    html = _CJK_SOURCE_BREAK.sub("", html)
    html = _tidy_tables(_superscripts(html))

    import trafilatura
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
    document: Any = result
    text: str | None = getattr(document, "text", None)
    title: str | None = getattr(document, "title", None)
    date: str | None = getattr(document, "date", None)
    if not text or not text.strip():
        text, fallback_title = _html_fallback(html)
        title = title or fallback_title
    else:
        text, headline = _with_article_head(html, pipe_tables(text), title, _date_pattern(date))
        if headline and _squash(headline) not in _squash(title or ""):
            title = headline  # the page's <title> names the site, not the article
    return RawText(text, title.strip() if title and title.strip() else None)


def _superscripts(html: str) -> str:
    """Superscripts as text says them: an extractor prints "10<sup>5</sup>" as 105, a different number, so
    exponents become superscript characters (10⁵, m²), and reference marks ("<sup>[2]</sup>", an
    encyclopedia's footnote links) go: in an answer they would read as its citations."""
    if "<sup" not in html and "<SUP" not in html:
        return html

    def written(m: re.Match[str]) -> str:
        inner = unescape(re.sub(r"<[^>]*>", "", m.group(1))).strip()
        if _REFERENCE_MARK.fullmatch(inner):
            return ""
        return as_superscript(inner) or m.group(0)

    return _SUP.sub(written, html)


def _tidy_tables(html: str) -> str:
    """Tables as the extractor can keep them: key-value tables become "key：value" lines, and cells with rowspan
    are copied into every row they cover."""
    if not (_ROWSPAN.search(html) or _TH.search(html)):
        return html
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return html
    _tidy_tables_in(root)
    return lxml.html.tostring(root, encoding="unicode")


def _tidy_tables_in(root: Any) -> None:
    for table in list(root.iter("table")):
        rows = [[c for c in row if c.tag in ("td", "th")] for row in _rows(table)]
        if _is_key_value(rows):
            _replace_key_value(table, rows)
        else:
            _spread_row_spans(table)
            _join_group_header(table)


def html_fragment_lines(fragment: str) -> list[str]:
    """A block of HTML inside another format (raw HTML in Markdown) as lines: each table row a self-describing
    line, as the HTML loader's, each other block a line."""
    import lxml.html
    from lxml import etree

    fragment = _HTML_COMMENT.sub("", fragment)
    if not fragment.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(_superscripts(fragment), create_parent="div")
    except (etree.ParserError, ValueError):
        return [line.strip() for line in re.sub(r"<[^>]*>", "", fragment).splitlines() if line.strip()]
    _tidy_tables_in(root)
    for table in list(root.iter("table")):
        if table.getparent() is None or any(a.tag == "table" for a in table.iterancestors()):
            continue
        rows = _rows(table)
        cells = [[" ".join(c.text_content().split()) for c in row if c.tag in ("td", "th")] for row in rows]
        first = [c for c in rows[0] if c.tag in ("td", "th")] if rows else []
        box = lxml.html.Element("div")
        for line in table_lines(cells, header=True if first and all(c.tag == "th" for c in first) else None):
            row_line = lxml.html.Element("p")
            row_line.text = line
            box.append(row_line)
        box.tail = table.tail
        table.getparent().replace(table, box)
    _break_blocks(root)
    return [" ".join(line.split()) for line in root.text_content().splitlines() if line.strip()]


def _break_blocks(root: Any) -> None:
    """Each block element on lines of its own in `root.text_content()`, as a browser shows it."""
    for el in root.iter(*_BLOCK_TAGS):
        el.text = "\n" + (el.text or "")
        el.tail = "\n" + (el.tail or "")


def _rows(table: Any) -> list[Any]:
    return list(table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr"))


def _is_key_value(rows: list[list[Any]]) -> bool:
    """An infobox: rows of a th naming the td beside it (and perhaps a caption row of one cell). Extractors drop
    the th/td difference, and the first row would then be read as the header of a two-column table."""
    pairs = [r for r in rows if len(r) == 2]
    return (
        len(pairs) >= 2
        and all(len(r) in (1, 2) for r in rows)
        and all(r[0].tag == "th" and r[1].tag == "td" for r in pairs)
    )


def _replace_key_value(table: Any, rows: list[list[Any]]) -> None:
    import lxml.html

    box = lxml.html.Element("div")
    for cells in rows:
        said = [" ".join(c.text_content().split()) for c in cells]
        if not all(said):
            continue
        line = lxml.html.Element("p")
        key = said[0]
        colon = "：" if any(map(is_wide, key)) else ": "
        line.text = key + colon + said[1] if len(said) == 2 else key
        box.append(line)
    box.tail = table.tail
    table.getparent().replace(table, box)


def _spread_row_spans(table: Any) -> None:
    """Each row a cell with rowspan covers gets a copy of it.

    Extractors leave the covered rows an empty cell, so "北岸区 | 小学 | 17" is followed by "| 初中 | 6": once the
    rows are lines of their own, the second no longer says which district it counts.
    """
    covering: dict[int, tuple[Any, int]] = {}  # column -> (cell, rows below it still covers)
    for row in _rows(table):
        own = [c for c in row if c.tag in ("td", "th")]
        above = dict(covering)
        column = 0
        while own or any(c >= column for c in above):
            if column in above:
                cell, left = above.pop(column)
                twin = copy.deepcopy(cell)
                twin.tail = None
                if own:
                    own[0].addprevious(twin)
                else:
                    row.append(twin)
                covering[column] = (cell, left - 1)
                column += _span(cell, "colspan")
            elif own:
                cell = own.pop(0)
                covering[column] = (cell, _span(cell, "rowspan") - 1)
                column += _span(cell, "colspan")
            else:
                column += 1
        # a cell overlapped by another's colspan (broken markup) still covers one row fewer
        for column in above:
            cell, left = covering[column]
            covering[column] = (cell, left - 1)
        covering = {c: v for c, v in covering.items() if v[1] > 0}
        for cell in row:
            cell.attrib.pop("rowspan", None)


def _join_group_header(table: Any) -> None:
    """A header row of groups (cells spanning columns) over a row of names becomes one row naming each column by
    both ("常住人口（万人） 男"): the extractor would keep the two rows apart, the groups over empty cells."""
    import lxml.html

    rows = _rows(table)
    if len(rows) < 3:
        return
    top, below = ([c for c in row if c.tag in ("td", "th")] for row in rows[:2])
    headed = all(c.tag == "th" for c in top + below) or rows[1].getparent().tag == "thead"
    if not top or not below or not headed or all(_span(c, "colspan") == 1 for c in top):
        return
    groups: list[str] = []
    covered: list[bool] = []
    for cell in top:
        span = _span(cell, "colspan")
        groups += [" ".join(cell.text_content().split())] + [""] * (span - 1)
        covered += [False] + [True] * (span - 1)
    names = [" ".join(c.text_content().split()) for c in below for _ in range(_span(c, "colspan"))]
    for cell in top:
        rows[0].remove(cell)
    for name in group_header(groups, covered, names):
        th = lxml.html.Element("th")
        th.text = name
        rows[0].append(th)
    rows[1].getparent().remove(rows[1])


def _span(cell: Any, name: str) -> int:
    try:
        return max(1, min(int(cell.get(name, "1")), _MAX_SPAN))
    except ValueError:
        return 1


def _html_charset(data: bytes) -> str | None:
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii", "ignore") if found else None


def _date_pattern(date: str | None) -> re.Pattern[str] | None:
    """The ways a page prints the publication date trafilatura found ("2024-06-03"): 2024年6月3日,
    2024/06/03, June 3, 2024 ..."""
    found = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", date or "")
    if found is None:
        return None
    year, month, day = found.group(1), int(found.group(2)), int(found.group(3))
    if not 1 <= month <= 12:
        return None
    name = calendar.month_abbr[month]
    return re.compile(
        rf"{year}\s*[-/.年]\s*0?{month}\s*[-/.月]\s*0?{day}(?!\d)"
        rf"|\b{name}[a-z]*\.?\s+0?{day}(?:st|nd|rd|th)?,?\s+{year}\b"
        rf"|\b0?{day}\s+{name}[a-z]*\.?\s+{year}\b",
        re.IGNORECASE,
    )


def _is_head_dateline(line: str, date: re.Pattern[str] | None) -> bool:
    if is_dateline(line) or is_dateline(tidy_dateline(line)):
        return True
    # a short line under the headline carrying the page's publication date is its dateline
    return date is not None and len(line) <= _MAX_DATELINE_CHARS and "。" not in line and bool(date.search(line))


def _with_article_head(html: str, text: str, title: str | None, date: re.Pattern[str] | None) -> tuple[str, str | None]:
    """Put the headline and its dateline back above the extracted article text; the text and the headline (None
    when the page has none to tell).

    Extractors return the body only: the headline (h1/h2 above it) becomes metadata and the line under it
    with the publication date and reporter is dropped as page furniture, yet both are content a reader
    asks about. The headline is the h1/h2 that the page title names (else the page's only h1); the
    dateline candidates are the short lines between it and the body's first line.
    """
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return text, None
    for el in list(root.iter("script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "form")):
        if el.getparent() is not None:
            el.drop_tree()
    headline_el = _find_headline(root, title)
    if headline_el is None:
        return text, None
    headline = " ".join(headline_el.text_content().split())
    # source line breaks are spaces; only block elements break lines
    for el in root.iter():
        if isinstance(el.text, str):
            el.text = re.sub(r"\s+", " ", el.text)
        if isinstance(el.tail, str):
            el.tail = re.sub(r"\s+", " ", el.tail)
    _break_blocks(root)
    for el in root.iter(*_INLINE_TAGS):
        el.tail = " " + (el.tail or "")
    marker = "\ue000HEADLINE\ue000"
    headline_el.text, headline_el.tail = "\n" + marker + "\n", "\n" + (headline_el.tail or "")
    for child in list(headline_el):
        headline_el.remove(child)
    page = root.text_content()
    after = page.split(marker, 1)[1] if marker in page else ""
    # the body starts at the first line the extractor kept that is no dateline: it may have kept lines from above
    # the headline too (a breadcrumb), so its first line need not be the body's, and a scan that missed the body
    # would take a credit from below the article for the dateline
    extracted = {_squash(ln)[:12] for ln in text.splitlines() if ln.strip()}
    datelines: list[str] = []
    seen = 0
    for line in after.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if _squash(line)[:12] in extracted and not _is_head_dateline(line, date):
            break
        seen += 1
        if seen > _MAX_HEAD_LINES:
            break
        if _is_head_dateline(line, date):
            datelines.append(line)
    head_of_text = _squash(text[:400])
    datelines = [d for d in datelines if not any(_squash(v) in head_of_text for v in (d, tidy_dateline(d)))]
    first, _, rest = text.lstrip().partition("\n")
    if _squash(headline) == _squash(first):
        # the extractor kept the headline: the dateline goes under it
        return ("\n".join([first, *datelines, rest]) if datelines else text), headline
    if _squash(headline) in head_of_text:
        return ("\n".join([*datelines, text]) if datelines else text), headline
    # after the lines the extractor kept from above the headline (a breadcrumb): lines it rewrote (table rows) are
    # found on neither side, so the body starts at the first line not found above
    before = page.split(marker, 1)[0]
    above = {_squash(ln)[:12] for ln in before.splitlines() if ln.strip()}
    lines = text.splitlines()
    at = next((i for i, ln in enumerate(lines) if ln.strip() and _squash(ln)[:12] not in above), len(lines))
    return "\n".join([*lines[:at], headline, *datelines, *lines[at:]]), headline


def _find_headline(root: Any, title: str | None) -> Any:
    titles = root.xpath("//title")
    page_title = _squash((title or "") + " " + (titles[0].text_content() if titles else ""))
    h1s = root.xpath("//h1")
    for el in root.xpath("//h1|//h2"):
        squashed = _squash(el.text_content())
        if len(squashed) >= 4 and squashed in page_title:
            return el
    if len(h1s) == 1 and _squash(h1s[0].text_content()):
        return h1s[0]
    # no h1 at all: a page's only h2 is its headline (the <title> naming the site instead)
    h2s = root.xpath("//h2")
    return h2s[0] if not h1s and len(h2s) == 1 and len(_squash(h2s[0].text_content())) >= 4 else None


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
    _break_blocks(root)
    return root.text_content(), title or None
