"""Word (.docx) through python-docx: paragraphs and tables in document order."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from qa.errors import UnreadableFile
from qa.ingest.formats.base import RawText
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
        for kind, item in _blocks(document.element.body):
            if kind == "p":
                text = paragraph_text(item).strip()
                style = _style_name(document, item)
                if title is None and text and style.lower() in ("title", "heading 1"):
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
                if superscript and all(c in _SUPERSCRIPT for c in text):
                    text = text.translate(_SUPERSCRIPT_TABLE)
                out.append(text)
            elif tag == "tab":
                out.append("\t")
            elif tag in ("br", "cr"):
                out.append("\n")
    return "".join(out)


def _style_name(document: Any, p: Any) -> str:
    from docx.text.paragraph import Paragraph

    style = Paragraph(p, document).style
    return (style.name if style is not None else "") or ""


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
# runs under these are not the paragraph's text: text boxes (drawn apart from the text) and the fallback copy of
# content Word also stores another way
_SKIPPED = frozenset({"txbxContent", "Fallback", "del", "moveFrom"})
_SUPERSCRIPT = "0123456789+-−=()n"
_SUPERSCRIPT_TABLE = str.maketrans(_SUPERSCRIPT, "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿ")
