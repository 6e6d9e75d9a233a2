"""Per-file limits, so a small hostile file cannot cost unbounded memory or time.

Containers are measured before any loader opens them: a DOCX by the unpacked sizes its ZIP directory declares
(Python's zipfile never inflates a member past its declared size), a PDF by its page count and by the bytes of
content streams its pages draw, counted once per page that draws them (1,000 pages sharing one 1 MB stream
cost 1,000 parses of it). Characters and passages are checked as soon as they are known. Time is bounded by
the worker that reads the file (`qa.ingest.worker`), which is stopped when a file runs over its budget.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from qa.config import Settings
from qa.errors import FileTooLarge
from qa.ingest.formats import base_name


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_decompressed_bytes: int = 64 * 2**20
    max_pages: int = 2000
    max_chars: int = 2_000_000
    max_chunks: int = 10_000
    parse_seconds: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FileLimits:
        return cls(
            max_decompressed_bytes=settings.max_decompressed_bytes,
            max_pages=settings.max_pages,
            max_chars=settings.max_chars,
            max_chunks=settings.max_chunks,
            parse_seconds=settings.max_parse_seconds,
        )


def check_container(data: bytes, name: str, limits: FileLimits) -> None:
    """FileTooLarge when a packed format unpacks past the limits. Damage is left to the format's loader,
    which reports it in its own words."""
    suffix = base_name(name).rsplit(".", 1)[-1].lower()
    if suffix == "docx":
        _check_zip(data, name, limits)
    elif suffix == "pdf":
        _check_pdf(data, name, limits)


def check_chars(text: str, name: str, limits: FileLimits) -> None:
    if len(text) > limits.max_chars:
        raise FileTooLarge(
            f"{name}: {len(text):,} characters of text; the limit is {limits.max_chars:,} a file (QA_MAX_CHARS)"
        )


def check_chunks(count: int, name: str, limits: FileLimits) -> None:
    if count > limits.max_chunks:
        raise FileTooLarge(
            f"{name}: {count:,} passages to index; the limit is {limits.max_chunks:,} a file (QA_MAX_CHUNKS); "
            "split the file"
        )


def _too_big_unpacked(name: str, what: str, limits: FileLimits) -> FileTooLarge:
    return FileTooLarge(
        f"{name}: {what} more than {limits.max_decompressed_bytes:,} bytes once unpacked (QA_MAX_DECOMPRESSED_BYTES)"
    )


def _check_zip(data: bytes, name: str, limits: FileLimits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            total = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    if total > limits.max_decompressed_bytes:
        raise _too_big_unpacked(name, f"its parts unpack to {total:,} bytes,", limits)


def _check_pdf(data: bytes, name: str, limits: FileLimits) -> None:
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, IndirectObject

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return
        pages = list(reader.pages)
    except Exception:  # damaged in one of many ways pypdf has errors for: the loader says which
        return
    if len(pages) > limits.max_pages:
        raise FileTooLarge(f"{name}: {len(pages):,} pages; the limit is {limits.max_pages:,} (QA_MAX_PAGES)")
    sizes: dict[object, int] = {}
    drawn = 0
    for page in pages:
        try:
            contents = page.raw_get("/Contents") if "/Contents" in page else None
        except Exception:
            continue
        items = contents if isinstance(contents, ArrayObject) else [contents]
        if isinstance(contents, IndirectObject):
            resolved = contents.get_object()
            items = list(resolved) if isinstance(resolved, ArrayObject) else [contents]
        for item in items:
            if item is None:
                continue
            key = (item.idnum, item.generation) if isinstance(item, IndirectObject) else id(item)
            if key not in sizes:
                budget = limits.max_decompressed_bytes - drawn + 1
                sizes[key] = _decoded_size(item.get_object() if isinstance(item, IndirectObject) else item, budget)
            drawn += sizes[key]
            if drawn > limits.max_decompressed_bytes:
                raise _too_big_unpacked(name, "its pages draw content streams of", limits)


def _decoded_size(stream: Any, budget: int) -> int:
    """Bytes `stream` decodes to, inflating at most `budget` of them (a Flate bomb stops there)."""
    try:
        filters = stream.get("/Filter")
        names = [str(f) for f in filters] if isinstance(filters, list) else [str(filters)] if filters else []
        raw = getattr(stream, "_data", b"") or b""
        if not names:
            return len(raw)
        if names == ["/FlateDecode"]:
            return len(zlib.decompressobj().decompress(raw, max(1, budget)))
        return len(stream.get_data())
    except Exception:  # undecodable: the loader will fail on it and say so
        return 0
