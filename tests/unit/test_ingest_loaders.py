"""Loaders on small real files of each format, typed errors, ids, sources and file discovery."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from qa.errors import EmptyDocument, InvalidInput, UnreadableFile, UnsupportedFile
from qa.ingest import SUPPORTED_SUFFIXES, find_files, find_sources, load_bytes, load_file, load_text, make_doc_id

SEEDS = Path(__file__).resolve().parents[2] / "data" / "seeds"


def make_pdf_pages(pages: list[list[str]], title: str | None = None) -> bytes:
    """A multi-page PDF (Helvetica text layer), one content stream per page."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    n = len(pages)
    font = 3 + 2 * n
    info = font + 1
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
    ]
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"] + [f"({esc(line)}) '" for line in lines] + ["ET"]
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(f"<< /Title ({esc(title)}) >>".encode("latin-1") if title else b"<< >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        info,
        xref,
    )
    return bytes(out)


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A one-page PDF with a Helvetica text layer."""
    return make_pdf_pages([lines], title)


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("年度工作报告", level=0)
    document.add_paragraph("2023年,全县完成固定资产投资86.5亿元,同比增长7.3%。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "指标"
    table.cell(0, 1).text = "数值"
    table.cell(1, 0).text = "财政收入"
    table.cell(1, 1).text = "12.4亿元"
    document.add_paragraph("表格之后的段落也要保留。")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


# --- formats ---------------------------------------------------------------------------------------------


def test_supported_suffixes() -> None:
    assert frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".docx"}) == SUPPORTED_SUFFIXES


def test_seed_file_document_fields() -> None:
    path = SEEDS / "002_75f8b97511d2f4b0.txt"
    doc = load_file(path)
    assert doc.doc_id == "002_75f8b97511d2f4b0"
    # a citation shows the file's name, never a path on the server (the CLI passes the path in its folder)
    assert doc.source == "002_75f8b97511d2f4b0.txt"
    assert load_file(path, source="seeds/002.txt\x00\x1b").source == "seeds/002.txt"
    assert doc.content_hash == hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    # reloading is deterministic (idempotent ingest relies on the hash)
    assert load_file(path) == doc


def test_seed_counts_shrink(capsys: pytest.CaptureFixture[str]) -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        doc = load_file(path)
        assert 0.5 * len(raw) < len(doc.text) < len(raw)
        print(f"{path.stem}: {len(raw)} -> {len(doc.text)} chars")


def test_gbk_txt(tmp_path: Path) -> None:
    text = "县政府工作报告\n\n2023年全县地区生产总值达到356.2亿元,增长6.1%。\n版权所有 某县人民政府\n"
    path = tmp_path / "gbk报告.txt"
    path.write_bytes(text.encode("gb18030"))
    doc = load_file(path)
    assert doc.title == "县政府工作报告"
    assert doc.text == "县政府工作报告\n\n2023年全县地区生产总值达到356.2亿元,增长6.1%。"
    assert doc.doc_id == "gbk报告"


def test_short_gbk_and_utf8_bom_and_utf16(tmp_path: Path) -> None:
    assert load_bytes("你好,世界。".encode("gbk"), "a.txt").text == "你好,世界。"
    assert load_bytes("\ufeff标题\n正文内容。".encode(), "b.txt").text == "标题\n正文内容。"
    assert load_bytes("标题\n正文内容。".encode("utf-16"), "c.txt").text == "标题\n正文内容。"
    # short Big5 (traditional script) is no GB18030 text: read so, it gives private-use code points
    # detection guesses Korean, or GB18030, for some; short GBK it calls UTF-16
    for big5 in ("龍潭古鎮的石拱橋建於清朝乾隆年間，全長四十二米。", "歡迎光臨臺灣。", "這是測試。", "臺灣銀行"):
        assert load_bytes(big5.encode("big5"), "e.txt").text == big5
    for big5 in ("本館館長為蔡宗翰。", "館長：蔡宗翰"):  # detection calls these Shift_JIS
        assert load_bytes(big5.encode("big5"), "e.txt").text == big5
    assert load_bytes("你好，世界。".encode("gbk"), "e.txt").text == "你好，世界。"
    assert load_bytes("東京タワーの高さは333メートルです。".encode("cp932"), "j.txt").text.startswith("東京タワー")
    # UTF-16 saved without a byte-order mark has NUL bytes, yet it is text; a PDF named .txt is no text
    assert load_bytes("索道全长2.3公里。".encode("utf-16-le"), "f.txt").text == "索道全长2.3公里。"
    with pytest.raises(UnreadableFile, match="PDF"):
        load_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n", "g.txt")
    # short single-byte Latin text is ambiguous between codepages; it must decode, not be called binary
    assert load_bytes("Le café est prêt à servir.".encode("cp1252"), "d.txt").text.startswith("Le caf")


def test_markdown(tmp_path: Path) -> None:
    md = (
        "---\nauthor: x\n---\n# 使用指南\n\n本工具支持**中文**检索,详见[文档](https://example.org/docs)。\n\n"
        "## 安装\n\n```\npip install qa\n```\n\n- 第一步:安装\n- 第二步:运行\n"
    )
    doc = load_bytes(md.encode(), "guide.md")
    assert doc.title == "使用指南"
    assert "本工具支持中文检索,详见文档。" in doc.text
    assert "pip install qa" in doc.text
    assert "- 第二步:运行" in doc.text
    for markup in ("**", "](", "#", "```", "author:"):
        assert markup not in doc.text


def test_html_trafilatura_main_text_and_cleaning() -> None:
    html = """<!DOCTYPE html><html><head><meta charset="gbk">
<title>某县召开春季农业生产会议_某县政府网</title></head><body>
<div class="top"><a href="/">首页</a> <a href="/a">政务公开</a> <a href="/b">办事服务</a>
<a href="/c">互动交流</a> <a href="/d">走进某县</a></div>
<nav><ul><li><a href="/">首页</a></li><li><a href="/x">新闻中心</a></li></ul></nav>
<div class="crumb">当前位置:首页 &gt; 新闻中心 &gt; 工作动态</div>
<article><h1>某县召开春季农业生产会议</h1>
<div class="info">发布时间:2023-03-02 09:30 来源:县农业农村局 浏览次数:1024</div>
<p>3月1日,某县召开春季农业生产工作会议,部署全年粮食生产任务。会议要求,全县粮食播种面积稳定在52.3万亩以上。</p>
<p>会议指出,今年将新建高标准农田3.5万亩,推广水肥一体化技术1.2万亩,确保粮食安全。</p>
<table><tr><th>作物</th><th>面积(万亩)</th></tr><tr><td>小麦</td><td>30.1</td></tr></table>
<p>会上,各乡镇主要负责人分别作了表态发言,表示将全力抓好春耕备耕各项工作。</p>
<p>责任编辑:王某某</p></article>
<div class="related"><h3>相关新闻</h3><ul><li><a href="/1">某县召开冬季农业生产会议</a></li></ul></div>
<footer><p>版权所有:某县人民政府 地址:某县人民路1号 电话:0000-1234567</p><p>某ICP备12345678号</p></footer>
</body></html>"""
    doc = load_bytes(html.encode("gbk"), "page.html")
    assert doc.title == "某县召开春季农业生产会议"
    assert doc.source == "page.html" and doc.doc_id == "page"
    assert "全县粮食播种面积稳定在52.3万亩以上。" in doc.text
    assert "推广水肥一体化技术1.2万亩" in doc.text
    assert "表示将全力抓好春耕备耕各项工作。" in doc.text
    assert "小麦" in doc.text and "30.1" in doc.text
    # the dateline under the headline is content (without its view counter); the editor credit is not
    assert doc.text.split("\n")[:2] == ["某县召开春季农业生产会议", "发布时间:2023-03-02 09:30 来源:县农业农村局"]
    for noise in ("政务公开", "当前位置", "浏览次数", "责任编辑", "冬季", "版权所有", "ICP", "<"):
        assert noise not in doc.text, noise


def test_html_english_title_from_metadata() -> None:
    html = """<html><head><title>City opens new library | Springfield News</title></head><body>
<header><a href="/">Home</a> | <a href="/news">News</a> | <a href="/about">About</a></header>
<main><article><p class="byline">By Jane Doe</p>
<p>The city opened its new central library on Saturday, adding 120,000 books and 40 public computers.</p>
<p>Officials said the building cost $32 million and took three years to complete.</p></article></main>
<footer>Copyright © 2024 Springfield News. All rights reserved.</footer></body></html>"""
    doc = load_bytes(html.encode(), "lib.htm")
    assert "City opens new library" in doc.title
    assert "adding 120,000 books and 40 public computers." in doc.text
    assert "$32 million" in doc.text
    assert "Copyright" not in doc.text and "Jane Doe" not in doc.text


def test_html_fallback_when_extractor_finds_nothing() -> None:
    html = (
        "<html><head><title>短页</title></head><body><div>第一段内容在这里。</div><div>第二段内容。</div></body></html>"
    )
    doc = load_bytes(html.encode(), "short.html")
    assert doc.text == "第一段内容在这里。\n第二段内容。"
    assert doc.title == "短页"


def test_html_row_spans_label_every_row_they_cover() -> None:
    html = """<html><head><title>2024年各区学校统计</title></head><body><h1>2024年各区学校统计</h1>
<p>下表列出本市各区2024年学校与学生数量。</p>
<table>
<tr><th>区</th><th>学段</th><th>学校数</th><th>备注</th></tr>
<tr><td rowspan="2">北岸区</td><td>小学</td><td>17</td><td>新建2所</td></tr>
<tr><td>初中</td><td>6</td><td rowspan="2">含九年一贯制</td></tr>
<tr><td rowspan="2">南湖区</td><td>初中</td><td>4</td></tr>
<tr><td>小学</td><td>12</td><td>无</td></tr>
<tr><td colspan="2">合计</td><td>39</td><td>无</td></tr>
</table><p>数据来源：市教育局。</p></body></html>"""
    doc = load_bytes(html.encode(), "schools.html")
    lines = doc.text.splitlines()
    assert "北岸区：学段 初中，学校数 6，备注 含九年一贯制" in lines
    # a span in a middle column fills that column of the row below; the cells after it keep their columns
    assert "南湖区：学段 初中，学校数 4，备注 含九年一贯制" in lines
    assert "南湖区：学段 小学，学校数 12，备注 无" in lines
    assert "合计：学校数 39，备注 无" in lines


def test_html_group_headers_name_the_columns_under_them() -> None:
    html = """<html><head><title>各街道人口</title></head><body><h1>各街道人口</h1><p>各街道常住人口如下表。</p>
<table><thead>
<tr><th rowspan="2">片区</th><th rowspan="2">街道</th><th colspan="2">常住人口（万人）</th>
<th rowspan="2">城镇化率</th></tr>
<tr><th>男</th><th>女</th></tr></thead><tbody>
<tr><td rowspan="2">东部片区</td><td>海沧街道</td><td>9.8</td><td>9.1</td><td>96.2%</td></tr>
<tr><td>新阳街道</td><td>8.7</td><td>7.9</td><td>94.5%</td></tr>
<tr><td colspan="2">合计</td><td>18.5</td><td>17.0</td><td>95.4%</td></tr></tbody></table></body></html>"""
    lines = load_bytes(html.encode(), "people.html").text.splitlines()
    row = "东部片区：街道 新阳街道，常住人口（万人） 男 8.7，常住人口（万人） 女 7.9，城镇化率 94.5%"
    assert row in lines, lines
    assert "合计：常住人口（万人） 男 18.5，常住人口（万人） 女 17.0，城镇化率 95.4%" in lines, lines


def test_html_infoboxes_superscripts_and_reference_marks() -> None:
    html = """<html><head><title>云溪湿地公园</title></head><body><h1>云溪湿地公园</h1>
<table class="infobox"><tr><th colspan="2">云溪湿地公园</th></tr>
<tr><th>所在地</th><td>宁德市蕉城区</td></tr><tr><th>面积</th><td>12.6 km<sup>2</sup></td></tr>
<tr><th>管理机构</th><td>云溪湿地公园管理处</td></tr></table>
<p>公园内记录到鸟类186种<sup class="reference"><a href="#cite-2">[2]</a></sup>，
园区年接待游客约3.2×10<sup>5</sup>人次。水库总库容为2.36×10<sup>8</sup> m<sup>3</sup>。</p></body></html>"""
    lines = load_bytes(html.encode(), "yunxi.html").text.splitlines()
    # th beside td: key and value, not a header row over the rest
    assert {"所在地：宁德市蕉城区", "面积：12.6 km²", "管理机构：云溪湿地公园管理处"} <= set(lines), lines
    text = "\n".join(lines)
    assert "3.2×10⁵人次" in text and "2.36×10⁸ m³" in text, text
    assert "[2]" not in text and "鸟类186种，" in text, text


def test_pdf(tmp_path: Path) -> None:
    lines = [
        "Annual water report",
        "The utility delivered 41.7 million cubic meters of water in 2023, an increase of 3.2 percent",
        "over the previous year, while leakage fell to 11.5 percent of total supply across the network.",
        "Page 1 of 1",
    ]
    data = make_pdf(lines, title="Water report 2023")
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    path = tmp_path / "water.pdf"
    path.write_bytes(data)
    doc = load_file(path)
    assert doc.title == "Annual water report"
    # the wrapped line is joined back into one paragraph
    assert "increase of 3.2 percent over the previous year, while leakage fell to 11.5 percent" in doc.text
    assert "Page 1" not in doc.text


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "报告.docx"
    path.write_bytes(make_docx())
    doc = load_file(path)
    assert doc.title == "年度工作报告"
    assert "2023年,全县完成固定资产投资86.5亿元,同比增长7.3%。" in doc.text
    # a table row names its column: "| 财政收入 | 12.4亿元 |" would mean nothing inside a chunk
    assert "财政收入：数值 12.4亿元" in doc.text
    assert doc.text.index("12.4亿元") < doc.text.index("表格之后的段落也要保留。")


def test_load_text() -> None:
    doc = load_text("标题\n\n正文第一段。", source="notes/会议纪要.txt")
    assert doc.doc_id == "会议纪要" and doc.title == "标题" and doc.source == "notes/会议纪要.txt"
    again = load_text("正文第一段,没有标题。")
    assert again.doc_id.startswith("text_") and again == load_text("正文第一段,没有标题。")
    explicit = load_text("Body text here.", title="My title", doc_id="a/b")
    assert explicit.doc_id == "a_b" and explicit.title == "My title"
    with pytest.raises(EmptyDocument):
        load_text("   \n\u3000\n")


# --- typed errors ----------------------------------------------------------------------------------------


def test_binary_garbage_rejected() -> None:
    garbage = random.Random(7).randbytes(4096)
    for name in ("junk.txt", "junk.md", "junk.html", "junk.pdf", "junk.docx"):
        with pytest.raises(UnreadableFile) as err:
            load_bytes(garbage, name)
        assert name in err.value.message
    with pytest.raises(UnreadableFile, match="not a PDF"):
        load_bytes("这是文字,不是PDF。".encode(), "fake.pdf")
    with pytest.raises(UnreadableFile):
        load_bytes(b"\x00\x01\x02binary\x00" * 100, "nul.txt")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("hello.txt", "not a word document")
    with pytest.raises(UnreadableFile):
        load_bytes(zipped.getvalue(), "fake.docx")
    with pytest.raises(UnreadableFile):
        load_bytes(b"%PDF-1.4\n garbage that is not a pdf body", "broken.pdf")


def test_empty_and_boilerplate_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(EmptyDocument, match=r"empty\.txt"):
        load_file(empty)
    only_footer = tmp_path / "footer.txt"
    only_footer.write_text("版权所有 某某网\n京ICP备00000000号\n\n   \n", encoding="utf-8")
    with pytest.raises(EmptyDocument):
        load_file(only_footer)
    with pytest.raises(EmptyDocument):
        load_bytes(make_pdf([]), "blank.pdf")


def test_unsupported_and_missing(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFile, match=r"sheet\.xlsx"):
        load_bytes(b"whatever", "sheet.xlsx")
    with pytest.raises(UnsupportedFile):
        load_bytes(b"whatever", "README")
    with pytest.raises(InvalidInput, match=r"nope\.txt"):
        load_file(tmp_path / "nope.txt")


# --- ids, sources, discovery ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("000_a7a2b6a9367c36c2", "000_a7a2b6a9367c36c2"),
        ("年度 报告(终稿)", "年度_报告_终稿_"),
        ("a/b\\c", "a_b_c"),
        ("..", "__"),
        (".hidden", "_hidden"),
        ("", "document"),
        ("v1.2-final_x", "v1.2-final_x"),
    ],
)
def test_make_doc_id(name: str, expected: str) -> None:
    assert make_doc_id(name) == expected


def test_make_doc_id_long_names_stay_distinct() -> None:
    a, b = make_doc_id("x" * 300 + "a"), make_doc_id("x" * 300 + "b")
    assert a != b and len(a) <= 120 and "/" not in a


def test_upload_source_is_never_a_path() -> None:
    doc = load_bytes("正文内容。".encode(), "../../etc/passwd.txt")
    assert doc.source == "passwd.txt" and doc.doc_id == "passwd"
    doc = load_bytes("正文内容。".encode(), "C:\\Users\\me\\notes.txt")
    assert doc.source == "notes.txt"
    doc = load_bytes("正文内容。".encode(), "notes.txt", source="https://example.org/notes.txt")
    assert doc.source == "https://example.org/notes.txt"


def test_find_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.md").write_text("z")
    (tmp_path / "a.TXT").write_text("a")
    (tmp_path / "c.html").write_text("c")
    (tmp_path / "skip.xlsx").write_text("x")
    (tmp_path / ".hidden.txt").write_text("h")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("g")
    (tmp_path / "~$lock.docx").write_text("l")
    single = tmp_path / "b" / "z.md"
    found = find_files([tmp_path, single])
    assert found == [tmp_path / "a.TXT", tmp_path / "b" / "z.md", tmp_path / "c.html"]
    with pytest.raises(InvalidInput, match="missing-folder"):
        find_files([tmp_path, tmp_path / "missing-folder"])


def test_find_sources_refuses_two_files_with_one_source_name(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "report.txt").write_text(folder)
    with pytest.raises(InvalidInput, match="common parent folder"):
        find_sources([tmp_path / "a", tmp_path / "b"])
    # the same file reached twice is one file; under their common parent each has its own name
    assert [s for _, s in find_sources([tmp_path / "a", tmp_path / "a" / "report.txt"])] == ["report.txt"]
    assert [s for _, s in find_sources([tmp_path])] == ["a/report.txt", "b/report.txt"]


def test_find_files_seed_folder() -> None:
    assert [p.name for p in find_files([SEEDS])] == sorted(p.name for p in SEEDS.glob("*.txt"))


# --- tables, headlines, datelines, wraps and running headers ----------------------------------------------


def test_pdf_running_header_page_footer_and_figure_table(tmp_path: Path) -> None:
    header = "Lakeside Transit Agency | 2023 Report"
    pages = [
        [
            header,
            "Lakeside Transit Agency",
            "Buses carried 12.5 million riders in 2023, up from 11.2 million.",
            "Page 1 of 3",
        ],
        [
            header,
            "Ridership",
            "Ridership grew on every route that gained more frequent service during the year.",
            "Measure 2022 2023",
            "Riders (millions) 11.2 12.5",
            "Routes 41 44",
            "On-time rate 88.1% 90.4%",
            "Page 2 of 3",
        ],
        [header, "Budget", "Operating costs were $96.4 million, within the approved budget.", "Page 3 of 3"],
    ]
    path = tmp_path / "transit.pdf"
    path.write_bytes(make_pdf_pages(pages, title="Lakeside Transit Agency Annual Report 2023"))
    doc = load_file(path)
    assert header not in doc.text and "Page 2" not in doc.text
    # metadata that extends the first heading is the fuller title; the running header never is
    assert doc.title == "Lakeside Transit Agency Annual Report 2023"
    assert "Routes: 2022 41, 2023 44" in doc.text
    assert "On-time rate: 2022 88.1%, 2023 90.4%" in doc.text


def test_a_one_page_pdf_footer_with_its_page_number_is_dropped(tmp_path: Path) -> None:
    # no running line to learn from one page: the footer prints "Page 1 of 1" beside the copyright, and kept it
    # was glued to the next line and quoted as an answer
    lines = [
        "Lindenfield Ferry Service - Timetable Notes",
        "The Lindenfield ferry crosses the estuary in 14 minutes and runs every half hour from six.",
        "An adult single ticket costs 3.40 euros; children under twelve travel free of charge.",
        "Page 1 of 1   (c) 2026 Lindenfield Transport Authority",
    ]
    path = tmp_path / "ferry.pdf"
    path.write_bytes(make_pdf_pages([lines]))
    text = load_file(path).text
    assert "Page 1" not in text and text.endswith("children under twelve travel free of charge.")


def test_pdf_wraps_never_split_a_number_and_a_sentence_goes_on_over_the_page(tmp_path: Path) -> None:
    from qa.ingest.formats.pdf import reflow

    # a column of Chinese text wrapped by character (full lines), as a two-column layout prints it
    column = "\n".join(
        [
            "青石县是浙江省丽水市下辖的一个县，位于浙江省",
            "西南部，因境内多青色石灰岩而得名。县域面积2,",
            "468平方公里。县境属亚热带季风气候，降水量1,72",
            "0毫米。2024年末青石县户籍人口41.3万人，常住人口33",
            ".8万人，其中城镇人口占到一半以上。一般公共预算收入19.",
            "6亿元，城镇化率为58.2%。",
        ]
    )
    text, runs_on = reflow(column)
    assert "县域面积2,468平方公里" in text and "降水量1,720毫米" in text, text
    assert "常住人口33.8万人" in text and "收入19.6亿元" in text, text
    assert not runs_on
    wide = "The reservoir held enough water for the whole district until the end of"
    pages = [
        # the first page ends mid-sentence in a full line: its sentence goes on over the page
        [wide, wide.replace("until", "up to")],
        ["the summer, when the rains came back again and the level rose.", wide, wide, "the year.", wide],
        ["Revenue grew by 3.2 percent over the previous year across the whole service area."],
    ]
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf_pages(pages))
    doc = load_file(path)
    assert "up to the end of the summer, when the rains came back" in doc.text, doc.text
    # after a full line too, a capital after a page break starts something new (a heading, a table, a name…)
    assert "\n\nRevenue grew" in doc.text, doc.text


def test_pdf_table_rows_under_a_header_of_labels_stay_rows() -> None:
    from qa.ingest.formats.pdf import reflow

    page = "\n".join(
        [
            "表3　2024年青石县部分乡镇主要指标，按乡镇列出面积人口和收入",
            "乡镇 面积（平方公里） 户籍人口（万人） 财政收入（亿元）",
            "石门镇 312.5 9.84 6.21",
            "白沙镇 286.0 6.17 3.05",
            "柳溪乡 198.7 2.36 0.88",
            "合计 1,040.3 20.29 10.81",
            "注：财政收入指一般公共预算收入。数据来源：青石县统计局。",
        ]
    )
    lines = reflow(page)[0].splitlines()
    assert "柳溪乡：面积（平方公里） 198.7，户籍人口（万人） 2.36，财政收入（亿元） 0.88" in lines, lines
    assert "合计：面积（平方公里） 1,040.3，户籍人口（万人） 20.29，财政收入（亿元） 10.81" in lines, lines
    assert lines[0].endswith("面积人口和收入"), lines


def test_docx_automatic_numbers_are_written_out() -> None:
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(
        0,
        parse_xml(
            f'<w:abstractNum {w} w:abstractNumId="90"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
            '<w:numFmt w:val="chineseCounting"/><w:lvlText w:val="第%1条"/><w:suff w:val="space"/></w:lvl>'
            '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="（%2）"/></w:lvl>'
            "</w:abstractNum>"
        ),
    )
    numbering.append(parse_xml(f'<w:num {w} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    for level, text in [(0, "为加强水库管理，制定本办法。"), (0, "管理处负责："), (1, "日常巡查；"), (1, "汛期值守。")]:
        paragraph = document.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(
            parse_xml(f'<w:numPr {w}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>')
        )
    for _ in range(9):
        document.add_paragraph("条文。")._p.get_or_add_pPr().append(
            parse_xml(f'<w:numPr {w}><w:ilvl w:val="0"/><w:numId w:val="90"/></w:numPr>')
        )
    buf = io.BytesIO()
    document.save(buf)
    lines = load_bytes(buf.getvalue(), "办法.docx").text.splitlines()
    assert lines[:4] == [
        "第一条 为加强水库管理，制定本办法。",
        "第二条 管理处负责：",
        "（1）日常巡查；",
        "（2）汛期值守。",
    ]
    assert lines[-1] == "第十一条 条文。", lines


def test_docx_table_rows_name_their_columns(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("各区计划如下。")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["区", "项目数（个）", "金额（万元）"], ["甲区", "12", "3,400"], ["乙区", "", "900"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    # a two-column key–value form has no header row
    form = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["申报单位", "某区文化馆"], ["联系人", "张三"]]):
        for c, value in enumerate(row):
            form.cell(r, c).text = value
    buf = io.BytesIO()
    document.save(buf)
    doc = load_bytes(buf.getvalue(), "计划.docx")
    assert "甲区：项目数（个） 12，金额（万元） 3,400" in doc.text
    assert "乙区：金额（万元） 900" in doc.text
    # a row stays one sentence, so a cited sentence always carries its row label
    from qa.chunk.sentences import split_sentences

    row = "甲区：项目数（个） 12，金额（万元） 3,400"
    assert [row[a:b] for a, b in split_sentences(row)] == [row]
    assert "| 申报单位 | 某区文化馆 |" in doc.text and "| 联系人 | 张三 |" in doc.text


def _with_footnote(data: bytes, after: str, note: str) -> bytes:
    """The .docx with a footnote on the paragraph ending in `after` (python-docx cannot write footnotes)."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "word/document.xml":
                ref = '<w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteReference w:id="1"/></w:r>'
                body = body.replace(f"{after}</w:t></w:r>".encode(), f"{after}</w:t></w:r>{ref}".encode())
            elif item.filename == "[Content_Types].xml":
                kind = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
                body = body.replace(
                    b"</Types>", f'<Override PartName="/word/footnotes.xml" ContentType="{kind}"/></Types>'.encode()
                )
            elif item.filename == "word/_rels/document.xml.rels":
                rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
                body = body.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rIdFn" Type="{rel}" Target="footnotes.xml"/></Relationships>'.encode(),
                )
            zout.writestr(item, body)
        zout.writestr(
            "word/footnotes.xml",
            f'<w:footnotes xmlns:w="{w}"><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
            f'</w:footnote><w:footnote w:id="1"><w:p><w:r><w:t>{note}</w:t></w:r></w:p></w:footnote></w:footnotes>',
        )
    return out.getvalue()


def test_docx_keeps_what_word_shows(tmp_path: Path) -> None:
    from docx.oxml import OxmlElement, parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    document.add_paragraph("本方案所称卫生厕所，以国家标准为准。")
    # a tracked change: the inserted name stays, the deleted one goes
    led = document.add_paragraph("The project is led by chief engineer ")
    led._p.append(parse_xml(f'<w:del {w} w:id="1" w:author="a"><w:r><w:delText>Tom Hale</w:delText></w:r></w:del>'))
    led._p.append(parse_xml(f'<w:ins {w} w:id="2" w:author="a"><w:r><w:t>Marisol Ortega</w:t></w:r></w:ins>'))
    led.add_run(".")
    # a template's content control
    control = OxmlElement("w:sdt")
    content = OxmlElement("w:sdtContent")
    control.append(content)
    content.append(document.add_paragraph("联系人：县农业农村局赵明远，联系电话：0578-6123456。")._p)
    document.element.body.insert(len(document.element.body) - 1, control)
    volume = document.add_paragraph("水库总库容为2.36×10")
    volume.add_run("8").font.superscript = True
    volume.add_run(" m")
    volume.add_run("3").font.superscript = True
    volume.add_run("。")
    # a header cell spanning two columns over their own names, and cells merged down both header rows
    rows = [
        ["乡镇", "2025年任务", "", "责任领导"],
        ["", "改厕（户）", "污水治理（村）", ""],
        ["石门镇", "1,250", "8", "王建国"],
    ]
    rows += [["合计", "", "19", "—"]]
    table = document.add_table(rows=4, cols=4)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value:
                table.cell(r, c).text = value
    table.cell(0, 1).merge(table.cell(0, 2))
    table.cell(0, 0).merge(table.cell(1, 0))
    table.cell(0, 3).merge(table.cell(1, 3))
    table.cell(3, 0).merge(table.cell(3, 1))
    buf = io.BytesIO()
    document.save(buf)
    data = _with_footnote(buf.getvalue(), "以国家标准为准。", "卫生厕所指符合GB 19379-2012要求的厕所。")
    text = load_bytes(data, "方案.docx").text
    assert "chief engineer Marisol Ortega." in text and "Tom Hale" not in text, text
    assert "联系电话：0578-6123456。" in text, text
    assert "2.36×10⁸ m³。" in text, text
    assert "注1：卫生厕所指符合GB 19379-2012要求的厕所。" in text, text
    assert "石门镇：2025年任务 改厕（户） 1,250，2025年任务 污水治理（村） 8，责任领导 王建国" in text, text
    # a merged cell keeps the columns after it in place
    assert "合计：2025年任务 污水治理（村） 19，责任领导 —" in text, text


def test_markdown_raw_html_tables_and_footnotes() -> None:
    md = """# 溪口水电站

溪口水电站于2016年9月28日并网发电[^1]。

<table>
<tr><th>机组</th><th>装机容量</th><th>投产时间</th></tr>
<tr><td>1号机组</td><td>25 MW</td><td>2008年6月</td></tr>
<tr><td>3号机组</td><td>40 MW</td><td>2015年11月</td></tr>
</table>

[^1]: 并网仪式由时任市长主持。
"""
    lines = load_bytes(md.encode(), "xikou.md").text.splitlines()
    assert "3号机组：装机容量 40 MW，投产时间 2015年11月" in lines, lines
    assert "溪口水电站于2016年9月28日并网发电。" in lines, lines
    assert "注1：并网仪式由时任市长主持。" in lines, lines


def test_markdown_tables_and_hard_wraps(tmp_path: Path) -> None:
    md = "\n".join(
        [
            "# Parking permits",
            "",
            "Residents can buy an annual permit for their street. For most households the",
            "price is $60 a year.",
            "",
            "- Apply online or at",
            "  City Hall.",
            "- Bring proof of address.",
            "",
            "| Permit | Price | Valid |",
            "|:---|---:|---|",
            "| Resident | $60 | 12 months |",
            "| Visitor | $5 | 1 day |",
            "",
            "```",
            "keep this",
            "as is",
            "```",
        ]
    )
    doc = load_bytes(md.encode(), "permits.md")
    assert "For most households the price is $60 a year." in doc.text
    assert "- Apply online or at City Hall.\n- Bring proof of address." in doc.text
    assert "Resident: Price $60, Valid 12 months" in doc.text
    assert "Visitor: Price $5, Valid 1 day" in doc.text
    assert "keep this\nas is" in doc.text
    assert doc.title == "Parking permits"


def test_txt_english_hard_wraps_joined_chinese_lines_never() -> None:
    text = "\n".join(
        [
            "Library hours change",
            "Starting in June the library will stay open until nine in the evening on",
            "weekdays, and on Sundays it will open at noon.",
            "Closed on public holidays.",
            "第一段说明开放时间调整的有关事项和具体安排",
            "第二段说明其他事项",
        ]
    )
    doc = load_bytes(text.encode(), "hours.txt")
    assert "nine in the evening on weekdays, and on Sundays it will open at noon." in doc.text
    assert "Closed on public holidays." in doc.text.split("\n")
    assert "第一段说明开放时间调整的有关事项和具体安排\n第二段说明其他事项" in doc.text


def test_html_headline_dateline_and_cjk_source_line_breaks() -> None:
    html = """<html><head><meta charset="utf-8"><title>某市公布第三批历史建筑名录--某市住房和城乡建设局</title></head>
<body><ul class="menu"><li><a href="/">网站首页</a></li><li><a href="/a">政务公开</a></li></ul>
<div class="con"><h2>某市公布第三批历史建筑名录</h2>
<div class="meta"><span>2024年06月03日 10:20</span> <span>来源：某市住建局</span>
<span>记者 李明</span> <span>浏览次数：88</span></div>
<p>经专家论证和公示，某市确定第三批历史建筑共31处，
其中民居类18处，公共建筑类13处。</p>
<p>名录公布后，各区将在三个月内完成挂牌保护工作，并建立一处一档的保护档案。</p>
<p>（责任编辑：王五）</p></div>
<div class="bottom"><p>版权所有：某市住房和城乡建设局 某ICP备00000000号</p></div></body></html>"""
    doc = load_bytes(html.encode(), "名录.htm")
    lines = doc.text.split("\n")
    assert doc.title == "某市公布第三批历史建筑名录"
    assert lines[0] == "某市公布第三批历史建筑名录"
    assert lines[1] == "2024年06月03日 10:20 来源：某市住建局 记者 李明"
    assert "共31处，其中民居类18处" in doc.text
    for noise in ("浏览次数", "责任编辑", "版权所有", "网站首页"):
        assert noise not in doc.text, noise
