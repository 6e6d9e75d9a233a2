"""Boilerplate removal: the five demo pages come out as their article text, and the rules are generic."""

from __future__ import annotations

from pathlib import Path

import opencc
import pytest

from qa.ingest import clean_text, load_file
from qa.ingest.clean import tidy_dateline
from qa.types import Document

SEEDS = Path(__file__).resolve().parents[2] / "data" / "seeds"


def _seed(stem: str) -> Document:
    return load_file(SEEDS / f"{stem}.txt")


# For each seed: title, sentences (with their figures) that must survive, and noise that must be gone.
# A keyed dateline right under the headline ("日期:2018-01-16") is content (it answers "when was it
# published"); the counters printed next to it are not. DATELINES lists the ones kept on purpose.
DATELINES = {
    "001_d0c4d6f7d8e882fc": "日期:2018-01-16",
    "003_99a266f6085778b9": "来源:青州新闻网 时间: 2018-01-04 10:31:40",
    "004_d1cad726720dc7e5": "时间:2022-03-30 02:39:51",
}

CASES = {
    "000_a7a2b6a9367c36c2": (
        "改革创新促发展 求真务实抓成效——房寺镇打响协同发展新战役",
        [
            "市直18个部门64项行政权力事项下放至我镇实施。",
            "设立综合执法办公室,市直11个执法部门413项执法权限下放实施。",
            "我镇组织架构整合为“六办两中心”",
            "在公园内建设恢复1400年历史的大觉寺",
            "努力把房寺镇建成经济文化强镇、区域发展重镇、禹城经济文化发展次中心。",
        ],
        ["版权与免责声明", "①凡本网注明", "②凡本网注明", "③鉴于本网", "追究其相关法律责任"],
    ),
    "001_d0c4d6f7d8e882fc": (
        "山东德州禹城市房寺镇“五个聚焦” 打造便民高效基层政务服务平台",
        [
            "目前,房寺镇规模以上企业达到59家。",
            "将18个市直部门的64项行政管理事项下放",
            "市直部门委托执法权事项413项。",
            "2017年全国综合实力千强镇排名第387位。",
            "11个村列入试点。",
        ],
        [
            "信息公开",
            "政策法规",
            "事业单位登记管理",
            "关于发布《济南市历城区事业单位业务范围清单",
            "当前位置",
            "浏览量",
            "地址:",
            "邮编",
            "联系电话",
            "ICP备案号",
            "联系邮箱",
        ],
    ),
    "002_75f8b97511d2f4b0": (
        "乡镇街道书记工作交流会有“门道” “开门红”背后看动力",
        [
            "温州有185个乡镇(街道)",
            "北白象镇一季度财政总收入6.19亿元、完成新产品产值26.4亿元",
            "去年投入技术研发8.69亿元、同比增长12.4%",
            "今年一季度批零住餐销售额44.52亿元、增速17.2%",
            "重点项目干出“精气神”",
            "星海街道党工委书记林滢峰的话道出了乡镇街道党员干部共同的心声。",
        ],
        [
            "温州网 2019-04-25",
            "07:05:43",
            "来源:温州日报",
            "记者:",
            "全媒体矩阵",
            "本文转自",
            "编辑:",
            "责任编辑",
            "举报",
            "拜尔口腔医院",
            "•",
        ],
    ),
    "003_99a266f6085778b9": (
        "谭坊镇2018年工作思路",
        [
            "2018年,全镇共梳理新建、续建、在谈重点项目22个。",
            "2018年新增花卉种植面积1000亩。",
            "确保新落地投资过亿元项目3个以上,其中至少1个工业项目。",
            "为加快“五强四宜”新青州建设贡献力量。",
        ],
        [
            "编辑:",
            "文章推荐",
            "频道精选",
            "精选专题",
            "谭坊镇2017年工作思路",
            "谭坊镇2016年工作思路",
            "版权所有",
            "网站声明",
            "通讯地址",
            "举报电话",
            "qznews360",
            "公网安备",
            "ICP备",
            "许可证编号",
            "\nx",
        ],
    ),
    "004_d1cad726720dc7e5": (
        "乡镇大讨论活动总结大会讲话",
        [
            "我镇现有10个行政村,虽然发展较迅速,但是未形成明显的经济中心。",
            "大多只是实现了行政村层面上的“村村通”",
            "中药材加工户主要集中在四个村,总计380来户。",
            "提高新农合、新农保、城镇医保的参保率。",
        ],
        ["时间:2022-03-30 02:39:51\n\n乡镇大讨论活动总结大会讲话"],
    ),
}


@pytest.mark.parametrize("stem", sorted(CASES))
def test_seed_keeps_article_and_drops_chrome(stem: str) -> None:
    title, keep, gone = CASES[stem]
    doc = _seed(stem)
    assert doc.title == title
    for sentence in keep:
        assert sentence in doc.text, f"{stem}: lost article text {sentence!r}"
    for noise in gone:
        assert noise not in doc.text, f"{stem}: kept boilerplate {noise!r}"
    # the headline opens the text exactly once (then its dateline, if any), the article is followed by nothing else
    assert doc.text.startswith(title + "\n")
    if stem in DATELINES:
        assert doc.text.split("\n", 3)[1:3] in ([DATELINES[stem], ""], ["", DATELINES[stem]]), doc.text[:200]
    assert doc.text.count(title) == 1
    assert doc.text.rstrip()[-1] in "。”"


@pytest.mark.parametrize("stem", sorted(CASES))
def test_seed_text_is_normalized(stem: str) -> None:
    text = _seed(stem).text
    lines = text.split("\n")
    assert all(line == line.strip() for line in lines)
    assert "\u3000" not in text and "\u00a0" not in text
    assert "\n\n\n" not in text
    assert lines[0] and lines[-1]


def test_paragraph_breaks_kept() -> None:
    text = _seed("003_99a266f6085778b9").text
    assert "\n\n一、依托一个载体,即“以项目建设为载体”\n\n动员全镇上下" in text


def test_cleaning_is_idempotent() -> None:
    for stem in CASES:
        text = _seed(stem).text
        assert clean_text(text) == text


# --- generic shapes on text that is not a seed ---------------------------------------------------------


def test_chinese_page_chrome_generic() -> None:
    raw = "\n".join(
        [
            "网站首页   机构概况   政务公开   办事服务   互动交流",
            "您的位置:首页 > 新闻中心 > 工作动态",
            "某市召开2024年防汛工作会议",
            "发布时间:2024-05-06 09:00:00  来源:市应急管理局  【字体:大 中 小】",
            "",
            "\u3000\u30005月6日,某市召开防汛工作会议,部署全市防汛抗旱工作。今年全市共储备防汛物资价值1.25亿元。",
            "\u3000\u3000会议强调,要落实以行政首长负责制为核心的防汛责任制,确保安全度汛。",
            "(记者 张三)",
            "上一篇:某市开展安全生产检查",
            "下一篇:某市举办招聘会",
            "相关阅读",
            "某市召开2023年防汛工作会议",
            "主办单位:某市人民政府办公室  技术支持:某某科技",
            "Copyright © 2024 All Rights Reserved  某ICP备00000000号-1",
        ]
    )
    text = clean_text(raw)
    # the dateline under the headline stays (without its font-size widget); the reporter credit at the
    # end does not
    assert text.split("\n")[:2] == ["某市召开2024年防汛工作会议", "发布时间:2024-05-06 09:00:00 来源:市应急管理局"]
    assert "今年全市共储备防汛物资价值1.25亿元。" in text
    assert "确保安全度汛。" in text
    for noise in (
        "网站首页",
        "您的位置",
        "字体",
        "记者",
        "上一篇",
        "下一篇",
        "相关阅读",
        "主办单位",
        "ICP",
    ):
        assert noise not in text, noise
    assert "2023年防汛" not in text


def test_english_page_chrome_generic() -> None:
    raw = "\n".join(
        [
            "Home | News | Sport | Weather | Contact",
            "Skip to content",
            "Council approves new bridge",
            "By Jane Smith",
            "Published: March 3, 2024",
            "The council voted 7 to 2 on Tuesday to approve a $45 million bridge across the river.",
            "Construction is expected to start in 2025 and finish two years later.",
            "Share this article",
            "Related articles",
            "Council debates budget",
            "Privacy Policy | Terms of Use | Cookie Settings",
            "Copyright © 2024 Example Media Ltd. All rights reserved.",
        ]
    )
    text = clean_text(raw)
    # byline and date under the headline are kept: they answer "who wrote it" and "when"
    assert text == (
        "Council approves new bridge\n"
        "By Jane Smith\n"
        "Published: March 3, 2024\n"
        "The council voted 7 to 2 on Tuesday to approve a $45 million bridge across the river.\n"
        "Construction is expected to start in 2025 and finish two years later."
    )


def test_real_content_that_resembles_noise_is_kept() -> None:
    raw = "\n".join(
        [
            "关于召开年度工作会议的通知",
            "各单位:",
            "经研究,定于下月召开年度工作会议,现将有关事项通知如下。",
            "时间:2024年3月1日上午9时",
            "日期:2024年3月1日 14:30",
            "2023年,全市地区生产总值增长6.2%,财政收入达到12.5亿元。",
            "2024年工作要点",
            "结论",
            "一是稳增长;二是促改革;三是惠民生。",
            "请各单位按时参会,联系人将于会前一天通知具体地点。",
            "某某市人民政府办公室",
            "2024年2月1日",
        ]
    )
    text = clean_text(raw)
    assert text == raw


def test_tail_list_without_footer_is_kept_and_footer_after_it_dropped() -> None:
    raw = "\n".join(
        [
            "Setup guide",
            "Install the package with pip and run the setup command once on each machine.",
            "Steps",
            "pip install tool",
            "tool init",
            "Email: help@example.org",
            "Follow us on Mastodon",
        ]
    )
    text = clean_text(raw)
    assert text.endswith("Steps\npip install tool\ntool init")


def test_mid_article_related_box_does_not_swallow_the_rest() -> None:
    body = "这是一段正文内容,用于说明推荐框出现在文章中间时不会截断后文。" * 2
    raw = "\n".join(["标题在这里", body, "相关阅读", "另一篇文章的标题", body + "后半部分。", body + "结尾。"])
    text = clean_text(raw)
    assert "相关阅读" not in text and "另一篇文章的标题" not in text
    assert text.endswith("结尾。")


def test_year_and_figures_survive_and_title_repeats_drop() -> None:
    raw = "年度报告\n年度报告\n1998年建厂以来,公司累计纳税6.19亿元。\n年度报告\n"
    assert clean_text(raw) == "年度报告\n1998年建厂以来,公司累计纳税6.19亿元。"


def test_whitespace_normalization() -> None:
    raw = "\ufeff标题\r\n\r\n\r\n\u3000\u3000第一段。\u00a0\r\n\t第二段   有空格。\r\n\n\n\n"
    assert clean_text(raw) == "标题\n\n第一段。\n第二段 有空格。"


# --- datelines, cookie banners, navigation runs, contact lines ----------------------------------------------


def test_dateline_kept_under_headline_and_credits_dropped_at_the_end() -> None:
    raw = "\n".join(
        [
            "某区举办秋季招聘会",
            "2024年10月12日 15:30 来源：某区融媒体中心 记者 王小明 浏览次数：321 打印",
            "10月12日，某区举办秋季招聘会，共有86家企业提供就业岗位2,300个，现场达成就业意向650人。",
            "记者：王小明",
            "来源：某区融媒体中心",
            "【责任编辑：李四 审核：赵五】",
        ]
    )
    assert clean_text(raw) == (
        "某区举办秋季招聘会\n"
        "2024年10月12日 15:30 来源：某区融媒体中心 记者 王小明\n"
        "10月12日，某区举办秋季招聘会，共有86家企业提供就业岗位2,300个，现场达成就业意向650人。"
    )


def test_dateline_buttons_and_widgets_are_tidied_away() -> None:
    for line in (
        "发布时间：2024-05-06 来源：县农业农村局 【打印本页】【关闭窗口】",
        "发布时间：2024-05-06 来源：县农业农村局 浏览次数：1,204 字号：[大 中 小]",
        "发布时间：2024-05-06 来源：县农业农村局 [ 打印本页 ] [ 关闭 ]",
    ):
        raw = f"县茶产业再上新台阶\n{line}\n今年全县茶园面积达到12.6万亩，干茶产量9,800吨，综合产值突破46亿元。"
        assert clean_text(raw).split("\n")[1] == "发布时间：2024-05-06 来源：县农业农村局", line


def test_dateline_widgets_in_traditional_script_between_bars_and_in_english_are_tidied() -> None:
    for line, tidied in (
        (
            "发布时间：2024-05-06 | 来源：县农业农村局 | 浏览次数：1,204 | 【打印本页】",
            "发布时间：2024-05-06 | 来源：县农业农村局",
        ),
        (
            "發布日期：2024-05-06 來源：嵐山市政府 瀏覽次數：1,204 【列印本頁】【關閉視窗】",
            "發布日期：2024-05-06 來源：嵐山市政府",
        ),
        ("發布日期：2025-05-14 ｜ 點閱數：1,207 ｜ [ 列印 ] [ 回上一頁 ]", "發布日期：2025-05-14"),
        (
            "Published 14 May 2025 | By Alan Pryce | 2,341 views | Print this page | Share",
            "Published 14 May 2025 | By Alan Pryce",
        ),
    ):
        assert tidy_dateline(line) == tidied, line


def test_a_traditional_page_is_cleaned_as_its_simplified_twin() -> None:
    simplified = "\n".join(
        [
            "岚山市立图书馆总馆启用",
            "岚山市立图书馆总馆于9月1日正式启用，馆舍总楼地板面积约2万3千平方公尺，藏书逾60万册。",
            "版权所有 © 岚山市政府 地址：岚山市中正路100号",
        ]
    )
    traditional = opencc.OpenCC("s2t").convert(simplified)
    assert clean_text(traditional) == opencc.OpenCC("s2t").convert(clean_text(simplified))
    assert "權所有" not in clean_text(traditional)
    # the wording Taiwan's sites use
    assert "著作權" not in clean_text(traditional.replace("版權所有", "著作權所有"))


def test_unkeyed_site_date_line_and_mid_article_dateline_are_dropped() -> None:
    body = "The committee approved the plan after a long debate about costs and timing in the spring."
    raw = "\n".join(["Plan approved", "Example News 2024-05-01 08:00:00", body, "Posted on May 1, 2024", body])
    text = clean_text(raw)
    assert "Example News" not in text and "Posted on" not in text
    assert text.count(body) == 2


def test_english_cookie_banner_and_navigation_run_are_chrome() -> None:
    raw = "\n".join(
        [
            "Skip to main content",
            "This site uses cookies to analyse traffic. By continuing you agree to our use of cookies. Accept",
            "Riverside Parks Department",
            "Home",
            "Parks & Trails",
            "Programs",
            "Permits",
            "About Us",
            "Search parks...",
            "Willow Creek Trail Reopens After Flood Repairs",
            "By Sam Ortiz",
            "The Willow Creek Trail reopened on Monday after four months of repairs costing $1.2 million.",
            "Crews rebuilt two footbridges and raised a 300-meter section above the flood line.",
            "Share: Facebook | X | Email",
            "Follow us: Facebook Instagram",
        ]
    )
    text = clean_text(raw)
    assert text.split("\n") == [
        "Willow Creek Trail Reopens After Flood Repairs",
        "By Sam Ortiz",
        "The Willow Creek Trail reopened on Monday after four months of repairs costing $1.2 million.",
        "Crews rebuilt two footbridges and raised a 300-meter section above the flood line.",
    ]


def test_title_case_list_inside_the_article_is_kept() -> None:
    raw = "\n".join(
        [
            "Board of Trustees",
            "The board has five members, each elected for a four-year term by the county voters.",
            "Ana Lopez",
            "Ben Carter",
            "Chen Wei",
            "Dana Brooks",
            "The board meets on the first Tuesday of every month at the county library.",
        ]
    )
    assert clean_text(raw) == raw


def test_contact_line_kept_before_sign_off_but_dropped_above_footer() -> None:
    notice = "\n".join(
        [
            "关于开展消防安全检查的通知",
            "各单位要在5月31日前完成自查，并将自查报告报送区应急管理局，逾期未报的将予以通报。",
            "联系电话：0791-1234567 电子邮箱：test@example.gov.cn",
            "某区应急管理局",
            "2025年5月6日",
        ]
    )
    assert clean_text(notice) == notice
    page = notice + "\n地址：某区人民路1号 邮编：330000\n某ICP备12345678号"
    assert clean_text(page) == notice


def test_long_english_headline_is_the_title() -> None:
    from qa.ingest.clean import guess_title

    headline = "Northbridge Council Approves Budget With New Funding for Libraries and Parks"
    assert len(headline) > 60
    text = clean_text(headline + "\nThe council approved the budget on Tuesday by a vote of six to one.")
    assert guess_title(text) == headline


def test_a_running_page_line_is_dropped_and_a_line_said_twice_is_kept() -> None:
    body = [f"第{i}节 示范村{i}：全村{300 + i}户，党支部书记为村民{i}。" for i in range(1, 10)]
    lines: list[str] = []
    for page, start in enumerate(range(0, 9, 3), start=1):
        lines += [*body[start : start + 3], f"示范县年鉴（2025）　内部资料　注意保存　第{page}页"]
    lines += ["进度：第1页至第2页已核对。", "进度：第1页至第2页已核对。"]
    cleaned = clean_text("\n".join(lines))
    assert "内部资料" not in cleaned, cleaned
    assert all(b in cleaned for b in body)
    # a line with a page number said only twice is text
    assert cleaned.count("进度：第1页至第2页已核对。") >= 1, cleaned
