"""Word (.docx) through python-docx: paragraphs and tables in document order."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from qa.errors import UnreadableFile
from qa.ingest.formats.base import RawText, as_superscript
from qa.ingest.formats.tables import group_header, table_lines
from qa.text import is_wide


class DocxLoader:
    suffixes = frozenset({".docx"})

    def load(self, data: bytes, name: str) -> RawText:
        if not data.startswith(b"PK\x03\x04"):
            raise UnreadableFile(f"{name}: not a .docx file (not a ZIP package); legacy .doc must be saved as .docx")
        import docx
        from docx.opc.exceptions import PackageNotFoundError
        from lxml.etree import XMLSyntaxError

        try:
            document = docx.Document(io.BytesIO(data))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as exc:
            raise UnreadableFile(f"{name}: damaged or not a Word document ({exc})") from exc
        title: str | None = None
        lines: list[str] = []
        numbering = _Numbering(document)
        for kind, item in _blocks(document.element.body):
            if kind == "p":
                text = paragraph_text(item).strip()
                style = _paragraph_style(document, item)
                text = numbering.label(item, style) + text if text else text
                name = ((style.name if style is not None else "") or "").lower()
                if title is None and text and name in ("title", "heading 1"):
                    title = text
                lines.append(text)
            else:
                lines.extend(_table(document, item))
                lines.append("")
        notes = _footnotes(document)
        if notes:
            lines.extend(["", *notes])
        if title is None:
            title = (document.core_properties.title or "").strip() or None
        return RawText("\n".join(lines), title)


def _blocks(parent: Any) -> Iterator[tuple[str, Any]]:
    """Paragraphs and tables in document order, also inside content controls (w:sdt: a template's filled-in
    fields, which python-docx's paragraph list skips)."""
    for child in parent.iterchildren():
        tag = _local(child)
        if tag in ("p", "tbl"):
            yield tag, child
        elif tag == "sdt":
            for content in child.iterchildren(_W + "sdtContent"):
                yield from _blocks(content)


def paragraph_text(p: Any) -> str:
    """A paragraph's text as Word shows it with changes accepted: inserted runs (w:ins) kept, deleted ones
    (w:delText) left out, content controls kept, tabs and breaks as whitespace, superscript digits as such (an
    exponent read as a digit changes the number: 10⁸ is not 108). Text boxes and alternative renderings are left
    out, as python-docx does."""
    out: list[str] = []
    for run in p.iter(_W + "r"):
        if any(_local(a) in _SKIPPED for a in run.iterancestors()):
            continue
        raised = run.find(f"{_W}rPr/{_W}vertAlign")
        superscript = raised is not None and raised.get(_W + "val") == "superscript"
        for item in run.iterchildren():
            tag = _local(item)
            if tag == "t" and item.text:
                text = item.text
                if superscript:
                    text = as_superscript(text) or text
                out.append(text)
            elif tag == "tab":
                out.append("\t")
            elif tag in ("br", "cr"):
                out.append("\n")
    return "".join(out)


class _Numbering:
    """The numbers Word puts before list paragraphs and articles ("第%1条" counted 一, 二, 三; "%1."; "(%1)"),
    which python-docx does not render: a regulation's 第三条 is what its readers ask about."""

    def __init__(self, document: Any) -> None:
        # numId -> level -> (format, text, start, what follows the number: "tab", "space" or "nothing")
        self._levels: dict[str, dict[int, tuple[str, str, int, str]]] = {}
        self._counters: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return
        abstract: dict[str, dict[int, tuple[str, str, int, str]]] = {}
        for definition in root.iterchildren(_W + "abstractNum"):
            abstract[definition.get(_W + "abstractNumId", "")] = {
                int(level.get(_W + "ilvl", "0")): (
                    _val(level, "numFmt") or "decimal",
                    _val(level, "lvlText") or "",
                    int(_val(level, "start") or "1"),
                    _val(level, "suff") or "tab",
                )
                for level in definition.iterchildren(_W + "lvl")
                if (level.get(_W + "ilvl") or "0").isdigit() and (_val(level, "start") or "1").isdigit()
            }
        for num in root.iterchildren(_W + "num"):
            levels = dict(abstract.get(_val(num, "abstractNumId") or "", {}))
            for override in num.iterchildren(_W + "lvlOverride"):
                level, start = int(override.get(_W + "ilvl", "0")), _val(override, "startOverride")
                if level in levels and start and start.isdigit():
                    levels[level] = (levels[level][0], levels[level][1], int(start), levels[level][3])
            self._levels[num.get(_W + "numId", "")] = levels

    def label(self, p: Any, style: Any) -> str:
        """The paragraph's number as Word shows it, with the space after it, counting it; "" for an unnumbered or
        bulleted paragraph."""
        num_id, level = self._num_pr(p, style)
        levels = self._levels.get(num_id or "")
        if not levels or level not in levels:
            return ""
        counters = self._counters.setdefault(num_id or "", [0] * 10)
        counters[level] = counters[level] + 1 if counters[level] else levels[level][2]
        for deeper in range(level + 1, len(counters)):
            counters[deeper] = 0
        kind, text, _, after = levels[level]
        if kind in ("bullet", "none") or not text:
            return ""

        def number(m: re.Match[str]) -> str:
            at = int(m.group(1)) - 1
            if at not in levels:
                return ""
            return _count(counters[at] or levels[at][2], levels[at][0])

        label = _LEVEL_REF.sub(number, text)
        # a tab or space sets the number apart; after a wide mark ("一、") a space would only pad the text
        return label if after == "nothing" or not label or label[-1] in _WIDE_MARKS else label + " "

    @staticmethod
    def _num_pr(p: Any, style: Any) -> tuple[str | None, int]:
        """numId and level from the paragraph's own properties, else from its `style`'s (a "List Number" style)."""
        num_id: str | None = None
        level: int | None = None
        sources = [p.find(f"{_W}pPr/{_W}numPr")]
        while style is not None and len(sources) < 8:
            sources.append(style.element.find(f"{_W}pPr/{_W}numPr"))
            style = style.base_style
        for found in sources:
            if found is None:
                continue
            num_id = num_id if num_id is not None else _val(found, "numId")
            raw = _val(found, "ilvl")
            level = level if level is not None else (int(raw) if raw and raw.isdigit() else None)
        return (None if num_id in (None, "0") else num_id), min(level or 0, 9)


def _val(element: Any, child: str) -> str | None:
    found = element.find(_W + child)
    return None if found is None else found.get(_W + "val")


def _count(n: int, kind: str) -> str:
    """`n` written as the level's number format says."""
    if kind in ("chineseCounting", "chineseCountingThousand", "taiwaneseCounting", "ideographLegalTraditional"):
        return _chinese(n)
    if kind in ("upperLetter", "lowerLetter") and n > 0:
        letter = chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter if kind == "upperLetter" else letter.lower()
    if kind in ("upperRoman", "lowerRoman") and 0 < n < 4000:
        roman = _roman(n)
        return roman if kind == "upperRoman" else roman.lower()
    if kind == "decimalEnclosedCircle" and 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if kind == "decimalZero":
        return f"{n:02d}"
    return str(n)


def _chinese(n: int) -> str:
    """一, 十, 十一, 二十三, 一百零五 … (up to 9999; beyond, digits)."""
    if not 0 < n < 10000:
        return str(n)
    out = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            if zero:
                out += "零"
            out += ("" if value == 10 and digit == 1 and not out else _DIGITS[digit]) + unit
            zero = False
        elif out:
            zero = True
    return out


def _roman(n: int) -> str:
    out = ""
    for value, mark in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        while n >= value:
            out += mark
            n -= value
    return out


def _paragraph_style(document: Any, p: Any) -> Any:
    from docx.text.paragraph import Paragraph

    return Paragraph(p, document).style


def _table(document: Any, tbl: Any) -> list[str]:
    from docx.table import Table

    grid: list[list[str]] = []
    covered: list[list[bool]] = []  # a grid column a cell to its left spans
    for row in Table(tbl, document).rows:
        cells: list[str] = []
        spanned: list[bool] = []
        previous: object = None
        for cell in row.cells:
            # a cell merged across columns comes back once per grid column: the columns after it keep their place
            same = cell._tc is previous
            previous = cell._tc
            spanned.append(same)
            cells.append("" if same else " ".join(" ".join(paragraph_text(p) for p in cell._tc.iter(_W + "p")).split()))
        grid.append(cells)
        covered.append(spanned)
    if len(grid) > 2 and any(covered[0]):
        # a cell spanning columns in the first row groups the ones under it: "2025年任务" over 改厕 and 污水治理
        return table_lines([group_header(grid[0], covered[0], grid[1]), *grid[2:]], header=True)
    return table_lines(grid)


def _footnotes(document: Any) -> list[str]:
    """The footnotes' text (python-docx does not read them), as lines after the body: "注1：…"."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    try:
        part = document.part.part_related_by(RT.FOOTNOTES)
    except KeyError:
        return []
    from lxml import etree

    try:
        root = etree.fromstring(part.blob)
    except etree.XMLSyntaxError:
        return []
    out: list[str] = []
    for note in root.iterchildren(_W + "footnote"):
        if note.get(_W + "type") not in (None, "normal"):
            continue  # separators
        text = " ".join(" ".join(paragraph_text(p) for p in note.iter(_W + "p")).split())
        if text:
            wide = any(map(is_wide, text))
            out.append(f"注{note.get(_W + 'id')}：{text}" if wide else f"Note {note.get(_W + 'id')}: {text}")
    return out


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_LEVEL_REF = re.compile(r"%([1-9])")
_DIGITS = "零一二三四五六七八九"
_WIDE_MARKS = frozenset("、，．。：）】」")
# runs under these are not the paragraph's text: text boxes (drawn apart from the text) and the fallback copy of
# content Word also stores another way
_SKIPPED = frozenset({"txbxContent", "Fallback", "del", "moveFrom"})
