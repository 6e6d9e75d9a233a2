"""Table rows → self-describing lines, the same for every format that has tables."""

from __future__ import annotations

import re

from qa.text import is_wide

_NUMBERISH = re.compile(r"\d")
_PIPE_SEP_ROW = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
# the longest cell that can still be a column label
_MAX_LABEL_CHARS = 40


def table_lines(rows: list[list[str]], *, header: bool | None = None) -> list[str]:
    """Table rows as self-describing lines: "<first cell>：<header_2> <cell_2>，<header_3> <cell_3>…".

    A row such as "| 北岸区 | 17 | 2,133 |" means nothing once it is cut out of its table into a chunk;
    naming each value's column keeps it answerable. `header` says whether the first row is a header
    (markdown knows); None guesses it. Tables without a header keep their cells joined by " | ".
    """
    rows = [[" ".join(c.split()) for c in r] for r in rows]
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    if header is None:
        header = _looks_like_header(rows[0], rows[1:])
    if not header or len(rows) < 2 or len(rows[0]) < 2:
        return [pipe_row(r) for r in rows]
    head = rows[0]
    wide = any(is_wide(ch) for cell in head + rows[1] for ch in cell)
    # "，" not "；": a semicolon ends a sentence, and a row cut into sentences loses its label again
    colon, sep = ("：", "，") if wide else (": ", ", ")
    out: list[str] = []
    for row in rows[1:]:
        label = row[0]
        pairs = [f"{h} {v}" if h and h != v else v for h, v in zip(head[1:], row[1:], strict=False) if v and v != label]
        if not pairs:
            out.append(label)
        elif label:
            out.append(label + colon + sep.join(pairs))
        else:
            out.append(sep.join(pairs))
    return out


def group_header(top: list[str], covered: list[bool], below: list[str]) -> list[str]:
    """One header row from a row of groups (each spanning the columns `covered` marks) and the row of names under
    it: each column is named by its group and its own name ("2025年任务 改厕"). A cell merged down both rows
    names its column alone."""
    out: list[str] = []
    group = ""
    for i, name in enumerate(below):
        if i >= len(top):
            group = ""
        elif not covered[i]:
            group = top[i]
        if not group or group == name:
            out.append(name)
        else:
            out.append(f"{group} {name}" if name else group)
    return out


def pipe_row(cells: list[str]) -> str:
    """A row kept as cells: "| a | b |"."""
    return "| " + " | ".join(cells) + " |"


def pipe_tables(text: str) -> str:
    """Runs of "| a | b |" lines in `text` (how extractors print tables) become self-describing lines."""
    out: list[str] = []
    rows: list[list[str]] = []
    for line in [*text.split("\n"), ""]:
        stripped = line.strip()
        if len(stripped) > 2 and stripped.startswith("|") and stripped.endswith("|"):
            if not _PIPE_SEP_ROW.match(stripped):
                rows.append(_pipe_cells(stripped))
            continue
        if rows:
            out.extend(table_lines(rows) if len(rows) >= 2 else [pipe_row(rows[0])])
            rows = []
        out.append(line)
    return "\n".join(out[:-1])


def _pipe_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", line)]


def _looks_like_header(first: list[str], body: list[list[str]]) -> bool:
    """Three or more distinct short labels head a table; a two-column table has a header only when its
    value column holds numbers below a label (a key–value form has none)."""
    if (
        not body
        or len(first) < 2
        or any(not c or len(c) > _MAX_LABEL_CHARS for c in first[1:])
        or len(set(first)) < len(first)
    ):
        return False
    if len(first) >= 3:
        return True
    numeric = sum(1 for r in body if len(r) > 1 and _NUMBERISH.search(r[1]))
    return not _NUMBERISH.search(first[1]) and numeric * 2 >= len(body)
