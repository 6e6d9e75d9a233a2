"""Document assembly: ids, sources, titles and content hashes around the cleaned text."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path, PurePosixPath

from qa.errors import EmptyDocument, InvalidInput, UnreadableFile
from qa.ingest.clean import clean_text, guess_title
from qa.ingest.formats import RawText, base_name, extract
from qa.types import Document

_MAX_ID_CHARS = 120
_ID_KEEP = frozenset("-_.")


def make_doc_id(name: str) -> str:
    """A stable id from a file stem, safe in a URL path segment and a file name.

    Letters and digits of any script (and their combining marks) are kept, as are '-', '_', '.';
    anything else becomes '_'. Never empty, never '/', never '.' or '..'. A long name is cut and
    given a hash of the full name so two long names sharing a prefix still differ.
    """
    name = unicodedata.normalize("NFC", name.strip())
    chars = [ch if ch in _ID_KEEP or ch.isalnum() or unicodedata.category(ch).startswith("M") else "_" for ch in name]
    doc_id = "".join(chars)
    # a leading dot would make '.'/'..' (path traversal) or a hidden file name
    doc_id = re.sub(r"^\.+", lambda m: "_" * len(m.group()), doc_id)
    if not doc_id:
        return "document"
    if len(doc_id) > _MAX_ID_CHARS:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
        doc_id = f"{doc_id[: _MAX_ID_CHARS - 13]}_{digest}"
    return doc_id


# Bidirectional overrides and isolates make "report\u202eexe.txt" display as "reporttxt.exe".
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_name(name: str) -> str:
    """A file name or source as a label: NUL, other control characters and bidi overrides removed."""
    return "".join(ch for ch in name if unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_document(raw: RawText, *, doc_id: str, source: str, fallback_title: str, label: str) -> Document:
    """Clean `raw` and wrap it. `label` names the input in error messages."""
    text = clean_text(raw.text, title=raw.title)
    if not text.strip():
        raise EmptyDocument(f"{label}: no text left after extraction and boilerplate removal")
    if raw.title_is_fallback:
        first = guess_title(text)
        # metadata that extends the first heading ("Authority" + "2024 Annual Report") is the fuller title;
        # metadata the text does not bear out is often a template name
        if first and raw.title and _squash(first) in _squash(raw.title):
            first = " ".join(raw.title.split())
        title = first or raw.title or fallback_title
    else:
        title = _choose_title(text, raw.title) or fallback_title
    return Document(doc_id=doc_id, source=source, title=title, text=text, content_hash=content_hash(text))


def _choose_title(text: str, declared: str | None) -> str | None:
    """The text's own headline line, else the declared title (HTML metadata, markdown heading ...).

    A declared title often carries a site suffix ("Headline_SiteName"); when the first line is a prefix of
    it, the first line is the cleaner headline. When the format declares a title and the text starts
    with something else, the declared one wins: the first line is then a paragraph or a subheading.
    """
    first = guess_title(text)
    if declared:
        declared = " ".join(declared.split())
        if first and _squash(first) in _squash(declared):
            return first
        return declared
    return first


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s).lower()


def load_bytes(data: bytes, filename: str, source: str | None = None) -> Document:
    """A document from uploaded bytes. The type comes from `filename`'s suffix; the content must match.

    `source` defaults to the bare file name: an uploaded name is never turned into a path.
    """
    name = clean_name(base_name(filename))
    if not name:
        raise InvalidInput("an uploaded file needs a file name with a suffix such as .txt or .pdf")
    raw = extract(data, name)
    stem = PurePosixPath(name).stem or name
    return build_document(
        raw, doc_id=make_doc_id(stem), source=clean_name(source or name), fallback_title=stem, label=name
    )


def load_file(path: Path, source: str | None = None) -> Document:
    """A document from a file on disk. `source` is what citations show: for a file found in an ingested folder,
    its path relative to that folder; by default the file's name (never a path on this machine)."""
    resolved = Path(path).expanduser().resolve()
    try:
        data = resolved.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder; pass files, or use find_files for folders") from None
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read ({exc.strerror or exc})") from exc
    raw = extract(data, str(resolved))
    return build_document(
        raw,
        doc_id=make_doc_id(resolved.stem),
        source=clean_name(source or resolved.name),
        fallback_title=resolved.stem,
        label=str(path),
    )


def load_text(text: str, *, title: str | None = None, source: str | None = None, doc_id: str | None = None) -> Document:
    """A document from text posted as JSON. It is cleaned like any file.

    Without an id, it is derived from the source's file stem, else from the text itself (so posting the
    same text twice is idempotent).
    """
    if not isinstance(text, str):
        raise InvalidInput("text must be a string")
    source = clean_name(source) if source is not None else None
    explicit_title = " ".join(title.split()) if title and title.strip() else None
    cleaned = clean_text(text, title=explicit_title)
    if not cleaned.strip():
        raise EmptyDocument("the posted text is empty after boilerplate removal")
    if doc_id is not None:
        if not doc_id.strip():
            raise InvalidInput("id must not be empty")
        final_id = make_doc_id(doc_id)
    elif source and base_name(source):
        final_id = make_doc_id(PurePosixPath(base_name(source)).stem or base_name(source))
    else:
        final_id = "text_" + content_hash(cleaned)[:16]
    doc_title = explicit_title or guess_title(cleaned) or final_id
    return Document(
        doc_id=final_id,
        source=source or final_id,
        title=doc_title,
        text=cleaned,
        content_hash=content_hash(cleaned),
    )
