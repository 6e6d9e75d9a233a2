"""Boilerplate removal: the five demo pages come out as their article text, and the rules are generic."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest import clean_text, load_file
from qa.types import Document

SEEDS = Path(__file__).resolve().parents[2] / "data" / "seeds"


def _seed(stem: str) -> Document:
    return load_file(SEEDS / f"{stem}.txt")


# For each seed: title, sentences (with their figures) that must survive, and noise that must be gone.
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
            "日期:2018-01-16",
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
            "来源:青州新闻网",
            "10:31:40",
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
        ["时间:2022-03-30", "02:39:51"],
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
    # the headline opens the text exactly once, the article is followed by nothing else
    assert doc.text.startswith(title + "\n")
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
    assert text.split("\n")[0] == "某市召开2024年防汛工作会议"
    assert "今年全市共储备防汛物资价值1.25亿元。" in text
    assert "确保安全度汛。" in text
    for noise in (
        "网站首页",
        "您的位置",
        "发布时间",
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
    assert text == (
        "Council approves new bridge\n"
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
