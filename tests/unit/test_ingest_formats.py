"""The format loaders behind one interface: Markdown through markdown-it, HTML metadata, dispatch."""

from __future__ import annotations

import pytest

from qa.errors import UnsupportedFile
from qa.ingest import SUPPORTED_SUFFIXES, load_bytes
from qa.ingest.formats import LOADERS, extract, loader_for
from qa.ingest.formats.markdown import markdown_to_text


def test_every_suffix_has_exactly_one_loader() -> None:
    claimed = [suffix for loader in LOADERS for suffix in loader.suffixes]
    assert sorted(claimed) == sorted(SUPPORTED_SUFFIXES)
    for suffix in SUPPORTED_SUFFIXES:
        assert suffix in loader_for(f"dir/Report{suffix.upper()}").suffixes
    with pytest.raises(UnsupportedFile, match=r"\.xlsx.*supported: \.docx"):
        extract(b"x", "sheet.xlsx")


def test_markdown_front_matter_title_wins_over_heading() -> None:
    raw = markdown_to_text('---\ntitle: "2024 预算说明"\nauthor: 财政局\n---\n# 概述\n\n正文。\n')
    assert raw.title == "2024 预算说明"
    assert raw.text == "概述\n\n正文。"


def test_markdown_block_structure() -> None:
    md = "\n".join(
        [
            "Budget notes",
            "============",
            "",
            "> Quoted *remark* that was",
            "> wrapped.",
            "",
            "1. First step",
            "2. Second step",
            "   - nested detail",
            "",
            "<!-- editor note: remove before publishing -->",
            "Fish &amp; chips cost ![a price tag](tag.png) $9.",
            "",
            "| Item | Note |",
            "|---|---|",
            "| Pipe | a \\| b |",
            "",
            "***",
            "",
            "    indented code",
        ]
    )
    raw = markdown_to_text(md)
    assert raw.title == "Budget notes"
    assert raw.text.split("\n") == [
        "Budget notes",
        "",
        "Quoted remark that was wrapped.",
        "",
        "1. First step",
        "2. Second step",
        "  - nested detail",
        "",
        "Fish & chips cost a price tag $9.",
        "",
        "Pipe: Note a | b",
        "",
        "indented code",
    ]


def test_markdown_wrapped_chinese_joins_without_space() -> None:
    raw = markdown_to_text("本市今年新建公园\n12座，改造绿道\n30公里。\n")
    assert raw.text == "本市今年新建公园12座，改造绿道30公里。"


def test_html_dateline_found_through_the_pages_publication_date() -> None:
    # "May 2, 2024 Lakeside Courier" has no byline key ("Published:", "来源:"); the page's metadata date
    # tells it is the dateline
    html = """<html><head><title>Riverside park reopens after flood repairs - Lakeside Courier</title>
<meta property="article:published_time" content="2024-05-02T08:00:00Z"></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Riverside park reopens after flood repairs</h1>
<div class="meta"><span>May 2, 2024</span> <span>Lakeside Courier</span></div>
<p>The riverside park reopened on Thursday after eight months of repairs that cost $2.4 million.</p>
<p>New drainage under the playground should keep it open through the spring floods, officials said.</p>
</article><footer>Copyright 2024 Lakeside Courier</footer></body></html>"""
    doc = load_bytes(html.encode(), "park.html")
    assert doc.title == "Riverside park reopens after flood repairs"
    assert doc.text.split("\n")[:2] == ["Riverside park reopens after flood repairs", "May 2, 2024 Lakeside Courier"]
