"""Hostile files built in the test, the way an attacker would craft them: small on the wire, costly to parse."""

from __future__ import annotations

import io
import random
import zipfile
import zlib
from pathlib import Path

_WORDS = (
    "budget water road bridge school clinic river report annual county village permit survey harvest "
    "district council market station library 2024 37 1,250 8.5%"
).split()

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/>'
    "</Relationships>"
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def pdf_shared_stream(pages: int = 1000, stream_bytes: int = 1_000_000, seed: int = 7) -> bytes:
    """`pages` pages that all draw one ~`stream_bytes` content stream (Flate-compressed, stored once).

    Each page costs a full parse of the stream to extract its text, so the work is pages × stream size
    while the file stays small (~160 KB for the defaults)."""
    rng = random.Random(seed)
    stanza = "\n".join("(" + " ".join(rng.choice(_WORDS) for _ in range(12)) + ") '" for _ in range(60))
    body = "\n".join([stanza] * (stream_bytes // (len(stanza) + 1) + 1))
    stream = zlib.compress(f"BT\n/F1 9 Tf\n11 TL\n40 800 Td\n{body}\nET".encode("latin-1"), 9)
    first_page = 5
    kids = " ".join(f"{first_page + i} 0 R" for i in range(pages))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents 3 0 R "
            b"/Resources << /Font << /F1 4 0 R >> >> >>"
        )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def docx_bomb(path: Path, inflated_bytes: int = 1 << 30) -> Path:
    """A .docx whose word/document.xml inflates to `inflated_bytes` (~1.5 MB on disk for 1 GiB): one run of
    text repeated, which deflate squeezes ~1000:1. Written to `path` in a stream, never held in memory."""
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{_W}"><w:body>'.encode()
    tail = b"</w:body></w:document>"
    paragraph = b"<w:p><w:r><w:t>" + b"A" * 4000 + b"</w:t></w:r></w:p>"
    block = paragraph * 256  # ~1 MB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _RELS)
        with zf.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(head)
            written = len(head) + len(tail)
            while written + len(block) <= inflated_bytes:
                part.write(block)
                written += len(block)
            part.write(tail)
    return path


def docx_malformed_xml() -> bytes:
    """A well-formed zip package whose document.xml is not well-formed XML."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr(
            "word/document.xml",
            f'<?xml version="1.0"?><w:document xmlns:w="{_W}"><w:body><w:p><w:r><w:t>年度报告</w:r></w:body>',
        )
    return buf.getvalue()


def one_line_text(size: int = 15_000_000, seed: int = 11) -> bytes:
    """`size` bytes of plain English words on a single line (no line breaks at all)."""
    rng = random.Random(seed)
    words = [w.encode() for w in _WORDS]
    block = b" ".join(rng.choice(words) for _ in range(20_000)) + b" "
    repeats = size // len(block) + 1
    return (block * repeats)[:size]
