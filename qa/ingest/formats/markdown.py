"""Markdown (.md) through markdown-it-py: plain text without markup, the first heading as the title."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from qa.ingest.formats.base import RawText
from qa.ingest.formats.encoding import decode_text
from qa.ingest.formats.html import html_fragment_lines
from qa.ingest.formats.tables import table_lines
from qa.ingest.formats.text import join_wrapped_line
from qa.text import is_wide

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


class MarkdownLoader:
    suffixes = frozenset({".md"})

    def load(self, data: bytes, name: str) -> RawText:
        return markdown_to_text(decode_text(data, name))


def markdown_to_text(md: str) -> RawText:
    """Markdown markup → plain text; the first heading (or front-matter `title:`) is the title.

    The stored text is what citations quote, so markup (`**`, link targets, `#`, fences) goes. A paragraph's
    hard-wrapped lines are joined (a sentence split over two lines would become two sentences); headings,
    list items, table rows and code lines stay on lines of their own, and blocks are separated by a blank
    line. Tables become one self-describing line per row (see `table_lines`).
    """
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.front_matter import front_matter_plugin

    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(front_matter_plugin).use(footnote_plugin)
    writer = _Writer()
    for token in parser.parse(md):
        writer.feed(token)
    return RawText("\n".join(writer.lines).strip("\n"), writer.title)


class _Writer:
    """Walks markdown-it's block tokens and writes plain-text lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.title: str | None = None
        self._lists: list[str] = []  # open lists, innermost last: "-" or "."-style markers
        self._item_prefix: str | None = None  # marker for the first paragraph of the current list item
        self._rows: list[list[str]] | None = None  # cells of the table being read
        self._heading = False
        self._note: str | None = None  # label of the footnote whose text comes next

    def feed(self, token: Any) -> None:
        kind = token.type
        if kind == "front_matter":
            self.title = self.title or _front_matter_title(token.content)
        elif kind in ("bullet_list_open", "ordered_list_open"):
            if not self._lists:
                self._block_break()
            self._lists.append(kind)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self._lists.pop()
        elif kind == "list_item_open":
            marker = f"{token.info}{token.markup}" if token.info else token.markup
            self._item_prefix = "  " * (len(self._lists) - 1) + marker + " "
        elif kind == "footnote_block_open":
            self._block_break()
        elif kind == "footnote_open":
            self._note = str(token.meta.get("label", ""))
        elif kind == "heading_open":
            self._heading = True
        elif kind == "heading_close":
            self._heading = False
        elif kind == "table_open":
            self._rows = []
        elif kind == "tr_open" and self._rows is not None:
            self._rows.append([])
        elif kind == "table_close" and self._rows is not None:
            self._block_break()
            self.lines.extend(table_lines(self._rows, header=True))
            self._rows = None
        elif kind == "inline":
            self._inline(token)
        elif kind in ("fence", "code_block"):
            self._block_break()
            self.lines.extend(token.content.rstrip("\n").split("\n"))
        elif kind == "html_block":
            lines = html_fragment_lines(token.content)
            if lines:
                self._block_break()
                self.lines.extend(lines)
        elif kind == "hr":
            self._block_break()

    def _inline(self, token: Any) -> None:
        text = inline_text(token.children or [])
        if self._rows is not None:
            if self._rows:
                self._rows[-1].append(text)
            return
        if self._heading and self.title is None and text.strip():
            self.title = text.strip()
        if self._note is not None:
            # a footnote's text, kept as a line of its own after the body ("注1：…", "Note 1: …")
            label = self._note
            self._note = None
            self._block_break()
            self.lines.append(f"注{label}：{text}" if any(map(is_wide, text)) else f"Note {label}: {text}")
        elif self._item_prefix is not None:
            # an item's first paragraph starts the item's line; a tight list has no blank lines between items
            self.lines.append(self._item_prefix + text)
            self._item_prefix = None
        else:
            self._block_break()
            self.lines.append(text)

    def _block_break(self) -> None:
        if self._lists:
            return
        if self.lines and self.lines[-1]:
            self.lines.append("")


def inline_text(children: Sequence[Any]) -> str:
    """Inline tokens → text: markup dropped, link and image text kept, wrapped lines joined."""
    pieces: list[str] = [""]
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            pieces[-1] += child.content
        elif kind == "image":
            pieces[-1] += inline_text(child.children or [])
        elif kind == "softbreak":
            pieces.append("")
        elif kind == "hardbreak" or (kind == "html_inline" and _HTML_BREAK.fullmatch(child.content.strip())):
            pieces[-1] += "\n"
    text = pieces[0]
    for piece in pieces[1:]:
        text = join_wrapped_line(text.rstrip(" "), piece.strip(" "))
    return text


def _front_matter_title(front: str) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(front)
    except yaml.YAMLError:
        return None
    title = data.get("title") if isinstance(data, dict) else None
    return " ".join(title.split()) if isinstance(title, str) and title.strip() else None
