"""Word (.docx) through python-docx: paragraphs and tables in document order."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from qa.errors import UnreadableFile
from qa.ingest.formats.base import RawText
from qa.ingest.formats.tables import table_lines


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
        for kind, item in _blocks(document):
            if kind == "p":
                text = item.text.strip()
                style = (item.style.name if item.style is not None else "") or ""
                if title is None and text and style.lower() in ("title", "heading 1"):
                    title = text
                lines.append(text)
            else:
                lines.extend(_table(item))
                lines.append("")
        if title is None:
            title = (document.core_properties.title or "").strip() or None
        return RawText("\n".join(lines), title)


def _blocks(document: Any) -> Iterator[tuple[str, Any]]:
    """Paragraphs and tables in document order (python-docx lists them separately)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield "p", Paragraph(child, document)
        elif tag == "tbl":
            yield "t", Table(child, document)


def _table(table: Any) -> list[str]:
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
