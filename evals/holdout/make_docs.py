"""Regenerate the binary and non-UTF-8 documents of the held-out corpus in evals/holdout/docs/.

The generated files are committed; this script is here so they can be rebuilt or varied. The texts are
invented (no real organisation, place or person is meant). It needs python-docx (a project dependency)
and, for the PDF, Debian's `chromium` (headless print-to-PDF: a real-world PDF producer, Skia), because
neither reportlab nor fpdf2 is in the venv.

    .venv/bin/python evals/holdout/make_docs.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

DOCS = Path(__file__).resolve().parent / "docs"

NOTICE_STEM = "关于做好2025年城镇老旧小区改造补助资金申报工作的通知"
PDF_STEM = "riverbend_water_annual_report_2024"
GB_STEM = "xiyang_heritage_list"


def make_notice_docx(path: Path) -> None:
    """A county-level policy notice the way such files look: 文号, salutation, numbered items, a table."""
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "仿宋"
    style.font.size = Pt(14)

    head = doc.add_paragraph("云川市住房和城乡建设局文件")
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    num = doc.add_paragraph("云建城〔2025〕17号")
    num.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title = doc.add_heading("关于做好2025年城镇老旧小区改造补助资金申报工作的通知", level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER

    paras = [
        "各区住房和城乡建设局，市直有关单位：",
        "为扎实推进城镇老旧小区改造工作，根据省住房和城乡建设厅《关于下达2025年城镇老旧小区改造计划的通知》要求，"
        "结合我市实际，现就2025年老旧小区改造补助资金申报有关事项通知如下。",
        "一、改造范围",
        "本次改造对象为2000年底前建成、失养失修失管、市政配套设施不完善的城镇住宅小区。2025年全市计划改造老旧小区"
        "112个，涉及居民13,560户，建筑面积约118.4万平方米。",
        "二、补助标准",
        "市级财政按改造内容分类给予补助：基础类改造每平方米补助120元，完善类改造每平方米补助80元，提升类改造每平方米补助50元。"
        "同一小区同时实施多类改造的，补助合计不超过每平方米200元。加装电梯另按每台15万元给予一次性补助。",
        "三、各区改造计划",
        "各区2025年改造计划及市级补助资金预安排情况见下表。",
    ]
    for text in paras:
        doc.add_paragraph(text)

    rows = [
        ("区", "小区数（个）", "居民户数（户）", "建筑面积（万平方米）", "预安排补助（万元）"),
        ("东湖区", "36", "4,215", "37.2", "3,860"),
        ("西山区", "28", "3,370", "29.5", "2,950"),
        ("南塘区", "31", "3,842", "33.6", "3,410"),
        ("北岸区", "17", "2,133", "18.1", "1,780"),
        ("合计", "112", "13,560", "118.4", "12,000"),
    ]
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value

    tail = [
        "四、申报要求",
        "（一）各区须于2025年4月30日前将改造项目申报材料报送市住房和城乡建设局城市更新科，逾期不予受理。",
        "（二）申报材料包括项目实施方案、居民意愿征询表（同意率须达到三分之二以上）和资金筹措方案。",
        "（三）改造项目须于2025年6月底前全部开工，2025年12月底前完工率不低于80%。",
        "五、资金拨付",
        "补助资金分两次拨付：项目开工后拨付60%，竣工验收合格后拨付剩余40%。",
        "联系人：城市更新科 马卫东，联系电话：0793-5821736。",
        "云川市住房和城乡建设局",
        "2025年3月18日",
    ]
    for text in tail:
        doc.add_paragraph(text)
    doc.core_properties.title = "关于做好2025年城镇老旧小区改造补助资金申报工作的通知"
    doc.core_properties.author = "市住建局办公室"
    doc.save(str(path))


REPORT_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Riverbend Water Authority 2024 Annual Report</title>
<style>
body { font-family: serif; font-size: 11pt; margin: 0 1.5cm; }
h1 { font-size: 20pt; } h2 { font-size: 14pt; margin-top: 18pt; }
table { border-collapse: collapse; margin: 8pt 0; } td, th { border: 1px solid #444; padding: 3pt 8pt; }
.running { font-size: 8pt; color: #666; border-bottom: 1px solid #999; margin-bottom: 12pt; }
.folio { font-size: 8pt; color: #666; border-top: 1px solid #999; margin-top: 18pt; }
.page { page-break-after: always; }
</style></head><body>
<div class="page">
<div class="running">Riverbend Water Authority | 2024 Annual Report</div>
<h1>Riverbend Water Authority<br>2024 Annual Report</h1>
<p>Serving the City of Riverbend and the townships of Alder Creek and North Fallow since 1957.</p>
<h2>Message from the General Manager</h2>
<p>In 2024 the Authority delivered 38.7 billion liters of drinking water to 412,000 customers through
1,940 miles of water mains. We met every state and federal drinking water standard, with 99.97% of
compliance samples passing on the first test.</p>
<p>The year's most visible milestone was the commissioning of the Eastgate Treatment Plant in October 2024.
The plant adds 45 million gallons per day (MGD) of treatment capacity and replaces the 1962 Mill Street
facility, which will be decommissioned in 2025. Eastgate was completed $3.1 million under its
$212 million budget.</p>
<p>- Dana Whitfield, General Manager</p>
<div class="folio">Page 1</div>
</div>
<div class="page">
<div class="running">Riverbend Water Authority | 2024 Annual Report</div>
<h2>Operations</h2>
<p>Non-revenue water, the share of treated water that is lost to leaks, theft or metering error before it
reaches a paying customer, fell from 21.4% in 2023 to 18.9% in 2024. Crews repaired 1,126 main breaks,
and acoustic leak detection surveyed 610 miles of pipe.</p>
<p>We replaced 27.5 miles of aging water mains, up from 19.2 miles in 2023, and replaced 3,140 lead
service lines at no direct cost to homeowners. About 6,800 known lead service lines remain; the
Authority's goal is to replace all of them by the end of 2029.</p>
<h2>Key figures</h2>
<table>
<tr><th>Measure</th><th>2023</th><th>2024</th></tr>
<tr><td>Customers served</td><td>405,500</td><td>412,000</td></tr>
<tr><td>Water delivered (billion liters)</td><td>39.4</td><td>38.7</td></tr>
<tr><td>Non-revenue water</td><td>21.4%</td><td>18.9%</td></tr>
<tr><td>Main breaks repaired</td><td>1,302</td><td>1,126</td></tr>
<tr><td>Lead service lines replaced</td><td>2,210</td><td>3,140</td></tr>
<tr><td>Average residential bill (per month)</td><td>$46.10</td><td>$48.20</td></tr>
</table>
<div class="folio">Page 2</div>
</div>
<div class="page">
<div class="running">Riverbend Water Authority | 2024 Annual Report</div>
<h2>Finances</h2>
<p>Operating revenue was $184.6 million, and operating expenses were $131.9 million. Capital spending
reached $86.3 million, of which $41.5 million went to the Eastgate Treatment Plant and $22.8 million to
main replacement. The Authority's bond rating was affirmed at AA+ in June 2024.</p>
<p>The Board of Directors approved a rate increase of 4.5%, effective July 1, 2025. For a typical household
this adds about $2.17 to the monthly bill. Customers enrolled in the Helping Hands assistance program,
who number 9,450, receive a 30% discount on the base charge.</p>
<h2>Looking ahead</h2>
<p>In 2025 the Authority plans to replace a further 30 miles of mains and 3,500 lead service lines, to
begin design of a 5-million-gallon storage tank in Alder Creek, and to finish installing smart meters for
all customers by March 2026.</p>
<div class="folio">Page 3</div>
</div>
</body></html>
"""


def make_report_pdf(path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("the PDF needs Debian's chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "report.html"
        html.write_text(REPORT_HTML, encoding="utf-8")
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--no-pdf-header-footer",
                f"--print-to-pdf={path}",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


GB_HTML = """<!DOCTYPE html>
<html>
<head>
<meta charset="gb18030">
<title>西阳市第五批市级非物质文化遗产代表性项目名录公示--西阳市文化广电和旅游局</title>
</head>
<body>
<div class="top"><a href="/">首页</a> | <a href="/sy/">设为首页</a> | <a href="/sc/">加入收藏</a></div>
<ul class="menu">
<li><a href="/">网站首页</a></li><li><a href="/jgzn/">机构职能</a></li><li><a href="/zwgk/">政务公开</a></li>
<li><a href="/whyc/">文化遗产</a></li><li><a href="/lyfw/">旅游服务</a></li><li><a href="/hdjl/">互动交流</a></li>
</ul>
<div class="pos">您现在的位置：<a href="/">首页</a> &gt;&gt; <a href="/tzgg/">通知公告</a></div>
<div class="con">
<h2>西阳市第五批市级非物质文化遗产代表性项目名录公示</h2>
<p class="date">发布日期：2025年08月04日　　信息来源：非遗保护科　　点击数：936</p>
<p>根据《中华人民共和国非物质文化遗产法》和《西阳市非物质文化遗产保护条例》有关规定，经各县（市、区）申报、专家评审委员会评审，
我局拟将“䶮溪竹编技艺”等23个项目列入西阳市第五批市级非物质文化遗产代表性项目名录，现予以公示。</p>
<p>本批推荐项目共23项，按类别分：传统技艺9项，民俗5项，传统音乐4项，传统美术3项，传统医药2项。
其中，新入选项目19项，扩展项目4项。</p>
<p>本批项目中申报数量最多的是石门县，共有6个项目入选；其次是清河区，入选5项。</p>
<p>部分入选项目简介：</p>
<p>1．䶮溪竹编技艺（传统技艺），申报单位：石门县文化馆。该技艺已有三百余年历史，代表性传承人龚秀娥现年71岁，带徒42人。</p>
<p>2．西阳鼓词（传统音乐），申报单位：清河区文化馆。鼓词以当地方言演唱，现存传统曲目86个。</p>
<p>3．青瓦窑烧制技艺（传统技艺），申报单位：柳溪镇人民政府。窑址始建于清代道光年间，现存古窑5座。</p>
<p>4．端午龙舟竞渡（民俗），申报单位：东津区文化馆。每年农历五月初五举行，参赛龙舟最多时达到48条。</p>
<p>公示期为2025年8月4日至8月15日（10个工作日）。公示期间，如有异议，请以书面形式实名向西阳市文化广电和旅游局非遗保护科反映。</p>
<p>联系电话：0795-3268810　电子邮箱：xyfy@example.gov.cn</p>
<p align="right">西阳市文化广电和旅游局<br>2025年8月4日</p>
</div>
<div class="bottom">
<p>【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】
【<a href="#top">返回顶部</a>】</p>
<p>Copyright 2019-2025 西阳市文化广电和旅游局 版权所有 技术支持：西阳市信息中心</p>
<p>备案号：赣ICP备19003318号　赣公网安备 36090202000211号</p>
</div>
</body>
</html>
"""


def make_gb18030_htm(path: Path) -> None:
    # '䶮' (U+4DAE, CJK Extension A) is outside GBK/GB2312: decoding as GBK would corrupt it
    path.write_bytes(GB_HTML.encode("gb18030"))


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    make_notice_docx(DOCS / f"{NOTICE_STEM}.docx")
    make_report_pdf(DOCS / f"{PDF_STEM}.pdf")
    make_gb18030_htm(DOCS / f"{GB_STEM}.htm")


if __name__ == "__main__":
    main()
