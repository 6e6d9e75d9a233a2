"""File formats: bytes of one file → raw text and an optional title, one module a format.

Every loader implements `FormatLoader`; `extract` picks one by the file name's suffix.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from qa.errors import UnsupportedFile
from qa.ingest.formats.base import FormatLoader, RawText
from qa.ingest.formats.docx import DocxLoader
from qa.ingest.formats.html import HtmlLoader
from qa.ingest.formats.markdown import MarkdownLoader
from qa.ingest.formats.pdf import PdfLoader
from qa.ingest.formats.text import TextLoader

LOADERS: tuple[FormatLoader, ...] = (TextLoader(), MarkdownLoader(), HtmlLoader(), PdfLoader(), DocxLoader())
_BY_SUFFIX: dict[str, FormatLoader] = {suffix: loader for loader in LOADERS for suffix in loader.suffixes}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_BY_SUFFIX)

__all__ = ["LOADERS", "SUPPORTED_SUFFIXES", "FormatLoader", "RawText", "base_name", "extract", "loader_for"]


def base_name(name: str) -> str:
    """The last component of a path from any OS (uploads may carry `C:\\dir\\x.txt` or `../x.txt`)."""
    return re.split(r"[\\/]", name.strip())[-1]


def loader_for(name: str) -> FormatLoader:
    """The loader for a file name's suffix; UnsupportedFile naming the supported ones otherwise."""
    suffix = PurePosixPath(base_name(name)).suffix.lower()
    loader = _BY_SUFFIX.get(suffix)
    if loader is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFile(f"{name}: unsupported file type {suffix or '(no suffix)'}; supported: {supported}")
    return loader


def extract(data: bytes, name: str) -> RawText:
    """Dispatch on the file name's suffix. `name` is only used for the suffix and error messages."""
    return loader_for(name).load(data, name)
