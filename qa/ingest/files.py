"""Which files an ingest run reads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qa.errors import InvalidInput
from qa.ingest.documents import clean_name
from qa.ingest.formats import SUPPORTED_SUFFIXES


def _skipped(name: str) -> bool:
    # dot-files/folders (.git, .venv, editor state) and Office lock files ("~$report.docx") are never documents
    return name.startswith((".", "~$"))


def find_files(paths: Sequence[Path]) -> list[Path]:
    """The files of `find_sources`, without their source names."""
    return [path for path, _ in find_sources(paths)]


def find_sources(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """Files to ingest: each folder walked recursively (sorted, supported suffixes only, hidden entries
    skipped); each file named explicitly is listed as given even with another suffix, so the caller
    reports it as unsupported instead of silently ignoring what the user asked for. Each comes with its
    source name: the path relative to the folder it was found in (`/` separators), or a named file's name.

    All are listed before any is read: this raises InvalidInput (so a typo leaves no half-done run) naming the
    first path that does not exist, or two files that would have the same source name: a document is known by its
    source, so the second would silently replace the first (two folders that each hold a report.txt).
    """
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise InvalidInput(f"{missing[0]}: no such file or folder")
    seen: set[Path] = set()
    named: dict[str, Path] = {}
    out: list[tuple[Path, str]] = []
    for p in paths:
        path = Path(p)
        found = [(path, path.name)] if path.is_file() else [(f, f.relative_to(path).as_posix()) for f in _walk(path)]
        for f, source in found:
            key = f.resolve()
            if key in seen:
                continue
            seen.add(key)
            source = clean_name(source)
            if source in named:
                raise InvalidInput(
                    f"{named[source]} and {f} would both be cited as {source!r}, and the second would replace the "
                    "first: ingest their common parent folder instead (each is then cited by its path under it), "
                    "or ingest them into different collections"
                )
            named[source] = f
            out.append((f, source))
    return out


def _walk(folder: Path) -> list[Path]:
    out: list[Path] = []
    try:
        entries = sorted(folder.iterdir(), key=lambda e: e.name)
    except OSError:
        return out
    for entry in entries:
        if _skipped(entry.name):
            continue
        if entry.is_dir():
            # symlinked folders could loop; real folders only
            if not entry.is_symlink():
                out.extend(_walk(entry))
        elif entry.is_file() and entry.suffix.lower() in SUPPORTED_SUFFIXES:
            out.append(entry)
    return out
