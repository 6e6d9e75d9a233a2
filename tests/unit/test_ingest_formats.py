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


def test_html_breadcrumb_above_headline_and_dateline_with_counters_kept_once() -> None:
    # the extractor keeps the breadcrumb above the h1 and the dateline with its view counter and font buttons; the
    # reporter's credit closes the article. The dateline appears once, tidied, under the headline; the credit
    # below the article is no dateline
    html = """<html><head><meta charset="utf-8"><title>西湖区新建口袋公园12座_西湖新闻网</title></head><body>
<div class="nav"><a href="/">首页</a> | <a href="/news">新闻中心</a> | <a href="/gov">政务公开</a></div>
<div class="crumb">当前位置：首页 &gt; 新闻中心 &gt; 区内要闻</div>
<div class="article"><h1>西湖区新建口袋公园12座</h1>
<div class="info">发布时间：2024-05-06 10:20  来源：西湖区融媒体中心  浏览次数：1,204  字号：[大 中 小]</div>
<p>今年以来，西湖区利用街角空地和闲置地块新建口袋公园12座，新增绿地面积3.6万平方米。</p>
<p>这些公园大多不足2000平方米，配有座椅、健身器材和儿童游乐设施，周边居民步行5分钟即可到达。</p>
<p>（记者 王芳 通讯员 李强）</p></div>
<div class="pager"><p>上一篇：西湖区召开春季植树动员会</p></div>
<div class="footer"><p>版权所有 © 2024 西湖新闻网</p></div></body></html>"""
    lines = load_bytes(html.encode(), "park.html").text.split("\n")
    assert lines[:3] == [
        "西湖区新建口袋公园12座",
        "发布时间：2024-05-06 10:20 来源：西湖区融媒体中心",
        "今年以来，西湖区利用街角空地和闲置地块新建口袋公园12座，新增绿地面积3.6万平方米。",
    ]
    assert sum("发布时间" in line for line in lines) == 1
    assert not any("记者" in line for line in lines[:3])


def test_html_lone_h2_headline_under_a_site_name_title_is_kept_and_titles_the_document() -> None:
    html = """<html><head><meta charset="utf-8"><title>嵐山市政府全球資訊網</title></head><body>
<ul class="menu"><li>首頁</li><li>市政新聞</li><li>便民服務</li></ul>
<p class="breadcrumb">現在位置： 首頁 / 市政新聞 / 新聞稿</p>
<h2>嵐山市立圖書館總館啟用 藏書逾60萬冊</h2>
<p>嵐山市立圖書館總館於9月1日正式啟用，館舍總樓地板面積約2萬3千平方公尺，藏書逾60萬冊。</p>
<p>總館興建經費為新臺幣14億5千萬元，由建築師黃以寧設計，工期約3年。</p>
</body></html>"""
    doc = load_bytes(html.encode(), "news.html")
    assert doc.title == "嵐山市立圖書館總館啟用 藏書逾60萬冊"
    assert doc.text.split("\n")[0] == "嵐山市立圖書館總館啟用 藏書逾60萬冊"
