"""General fixes to the refusal gate and sentence choice, each on real text slices of the held-out corpus
(evals/holdout/docs: invented documents in mixed languages and formats).

Each test names the failure it guards against; none depends on these documents' words in the code.
"""

from __future__ import annotations

from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.question import analyze, term_weight
from qa.answer.relevance import (
    assess,
    clauses,
    is_heading,
    satisfies_constraints,
    sentence_candidates,
    table_row_meaning,
    type_cue,
    year_conflict,
)
from qa.config import Settings
from qa.types import Passage

RIVERBEND_TITLE = "Riverbend Water Authority | 2024 Annual Report"
RIVERBEND_HEAD = (
    "Riverbend Water Authority | 2024 Annual Report\nRiverbend Water Authority\n2024 Annual Report\n"
    "Serving the City of Riverbend and the townships of Alder Creek and North Fallow since 1957.\n"
    "Message from the General Manager\n"
    "In 2024 the Authority delivered 38.7 billion liters of drinking water to 412,000 customers through "
    "1,940 miles of water mains."
)
RIVERBEND_MAINS = (
    "- Dana Whitfield, General Manager\n\nRiverbend Water Authority | 2024 Annual Report\n"
    "We replaced 27.5 miles of aging water mains, up from 19.2 miles in 2023, and replaced 3,140 lead service "
    "lines. About 6,800 known lead service lines remain; In 2025 the Authority plans to replace a further 30 "
    "miles of mains and 3,500 lead service lines, to begin design of a second river intake."
)
RIVERBEND_RATES = (
    "Riverbend Water Authority | 2024 Annual Report\n"
    "The Board of Directors approved a rate increase of 4.5%, effective July 1, 2025. Customers enrolled in the "
    "Helping Hands assistance program, who number 9,450, receive a 30% discount on the base charge."
)
SOLAR_TITLE = "Maple Grove Home Solar Rebate — Frequently Asked Questions"
SOLAR = (
    "The base rebate is $0.40 per watt of installed solar capacity (DC), up to a maximum of $3,000 per home. "
    "A typical 6-kilowatt system therefore receives $2,400."
)
LANXI_NEWS_TITLE = "岚溪县2024年农业经济运行稳中有进 农业总产值突破58亿元"
LANXI_RICE = (
    "其中，早稻种植面积8.1万亩，较上年扩大1.2万亩。县里对种粮大户按照每亩50元的标准发放稻谷目标价格补贴，"
    "全年共发放补贴资金1,046万元。"
)
SPEECH_TITLE = "在全县2025年经济工作会议上的讲话"
SPEECH_REVIEW_HEAD = "一、2024年经济工作回顾\n\n2024年是实施“十四五”规划的关键一年。"
SPEECH_REVIEW = "过去一年，全县上下攻坚克难，经济运行回升向好。全县实现地区生产总值312.4亿元，同比增长5.6%；"
SPEECH_TARGETS = (
    "八、2025年主要预期目标\n\n综合考虑各方面因素，2025年全县经济社会发展的主要预期目标是：地区生产总值增长6%左右。"
)
HERITAGE_TITLE = "西阳市第五批市级非物质文化遗产代表性项目名录公示--西阳市文化广电和旅游局"
HERITAGE = "本批推荐项目共23项，按类别分：传统技艺9项，民俗5项，传统音乐4项，传统美术3项，传统医药2项。"
TRANSPORT_TITLE = "澄川市发布综合交通运输发展规划（2026—2030年）"
AIRPORT = "澄川机场三期扩建工程将新建一座航站楼，到2030年旅客吞吐能力达到每年1,800万人次。"
LIBRARY_TITLE = "harbor_city_library_northside"
LIBRARY_OPEN = (
    "The Harbor City Public Library will open its new Northside Branch at 2200 Linden Avenue on Saturday, "
    "April 12, 2025, with a ribbon-cutting at 10 a.m. The branch replaces the small storefront library on Pier "
    "Road that served the neighborhood since 1988."
)
RENOVATION_TITLE = "关于做好2025年城镇老旧小区改造补助资金申报工作的通知"
RENOVATION_TABLE = (
    "| 区 | 小区数（个） | 居民户数（户） | 建筑面积（万平方米） | 预安排补助（万元） |\n"
    "| 东湖区 | 36 | 4,215 | 37.2 | 3,860 |\n| 西山区 | 28 | 3,370 | 29.5 | 2,950 |"
)


def passage(
    doc_id: str, title: str, text: str, *, chunk: int = 0, score: float = 0.2, dense: float | None = 0.85
) -> Passage:
    signals = {"dense": dense} if dense is not None else {}
    return Passage(chunk, doc_id, f"{doc_id}.txt", title, text, chunk * 1000, chunk * 1000 + len(text), score, signals)


def riverbend() -> list[Passage]:
    return [
        passage("riverbend", RIVERBEND_TITLE, RIVERBEND_HEAD, chunk=0, score=0.27, dense=0.88),
        passage("riverbend", RIVERBEND_TITLE, RIVERBEND_MAINS, chunk=1, score=0.25, dense=0.87),
        passage("riverbend", RIVERBEND_TITLE, RIVERBEND_RATES, chunk=2, score=0.23, dense=0.84),
    ]


def answer(question: str, passages: list[Passage]) -> tuple[bool, str]:
    result = ExtractiveAnswerer(Settings()).answer(question, passages)
    for c in result.citations:
        p = next(p for p in passages if p.doc_id == c.doc_id and p.start <= c.start and c.end <= p.end)
        assert p.text[c.start - p.start : c.end - p.start] == c.text
    return result.found, result.answer


# 1. language per passage --------------------------------------------------------------------------------


def test_one_passage_in_another_language_does_not_flip_the_gate() -> None:
    # A Chinese question over an English FAQ, with two loosely related Chinese passages around it: pooled
    # language said "zh", so English sentences were scored against Chinese words and the question refused.
    passages = [
        passage("solar", SOLAR_TITLE, SOLAR, score=0.27, dense=0.888),
        passage("lanxi_news", LANXI_NEWS_TITLE, LANXI_RICE, score=0.19, dense=0.824),
        passage("renovation", RENOVATION_TITLE, RENOVATION_TABLE, score=0.07, dense=0.854),
    ]
    found, text = answer("Maple Grove的家庭太阳能补贴每瓦补贴多少钱？", passages)
    assert found
    assert "$0.40" in text and "每亩50元" not in text


# 2. keyword weights: English commonness, the document's subject --------------------------------------------


def test_english_words_are_weighted_by_commonness() -> None:
    assert term_weight("system") < term_weight("renovation")
    assert term_weight("water") < term_weight("employees")


def test_the_subject_name_alone_does_not_answer() -> None:
    # every chunk says "Riverbend Water Authority": that is the subject, not a staff count
    found, _ = answer("How many employees does the Riverbend Water Authority have?", riverbend())
    assert not found


def test_a_running_header_is_never_the_answer() -> None:
    found, text = answer("Who is the general manager of the Riverbend Water Authority?", riverbend())
    assert found
    assert "Dana Whitfield" in text
    assert "2024 Annual Report[" not in text


# 3. years ------------------------------------------------------------------------------------------------


def test_a_year_stated_in_the_previous_chunk_still_holds() -> None:
    head = passage("speech", SPEECH_TITLE, SPEECH_REVIEW_HEAD, chunk=3, dense=0.87)
    review = passage("speech", SPEECH_TITLE, SPEECH_REVIEW, chunk=4, dense=0.89)
    targets = passage("speech", SPEECH_TITLE, SPEECH_TARGETS, chunk=9, dense=0.88)
    info = analyze("岚溪县2024年地区生产总值是多少？")
    assert satisfies_constraints(info, review, [head, review, targets])
    # a passage about another year fails; and when the document never names the asked year, nor does this one
    assert not satisfies_constraints(info, targets, [head, review, targets])
    assert not satisfies_constraints(analyze("岚溪县2023年地区生产总值是多少？"), review, [review, targets])


def test_a_sentence_about_another_year_loses() -> None:
    info = analyze("How many lead service lines did Riverbend replace in 2024?")
    assert year_conflict(info, "In 2025 the Authority plans to replace a further 30 miles of mains.")
    assert not year_conflict(info, "We replaced 3,140 lead service lines.")
    found, text = answer("How many lead service lines did Riverbend replace in 2024?", riverbend())
    assert found and "3,140" in text and "3,500" not in text


# 4. serial numbers -----------------------------------------------------------------------------------------


def test_a_numbered_batch_is_a_constraint() -> None:
    info = analyze("西阳市第四批市级非遗代表性项目名录有多少个项目？")
    assert any("第四批" in forms for forms in info.qualifiers)
    heritage = passage("heritage", HERITAGE_TITLE, HERITAGE)
    assert not satisfies_constraints(info, heritage)
    assert not assess(info, [heritage]).answerable
    assert satisfies_constraints(analyze("西阳市第五批市级非遗代表性项目名录有多少个项目？"), heritage)


# 5. quoting English dates -----------------------------------------------------------------------------------


def test_clauses_keep_month_day_and_year_together() -> None:
    spans = clauses(LIBRARY_OPEN)
    pieces = [LIBRARY_OPEN[a:b] for a, b in spans]
    assert any("April 12, 2025" in p for p in pieces)
    found, text = answer(
        "When does the Northside Branch library open?", [passage("library", LIBRARY_TITLE, LIBRARY_OPEN)]
    )
    assert found and "April 12, 2025" in text


# 6. question typing and headings ------------------------------------------------------------------------------


def test_extremes_and_totals_are_number_questions() -> None:
    assert analyze("What is the maximum solar rebate per home in Maple Grove?").kind == "number"
    assert analyze("What was the total cost of the new branch?").kind == "number"
    assert analyze("What share of residents must agree to a project?").kind == "number"


def test_heading_lines() -> None:
    assert is_heading("Riverbend Water Authority | 2024 Annual Report", RIVERBEND_TITLE)
    assert is_heading("Message from the General Manager")
    assert is_heading("一、2024年经济工作回顾")
    assert not is_heading("- Dana Whitfield, General Manager")
    assert not is_heading("| 东湖区 | 36 | 4,215 | 37.2 | 3,860 |")
    assert not is_heading("轨道交通：运营里程由46公里增至128公里")
    assert not is_heading("The base rebate is $0.40 per watt of installed solar capacity (DC).")


# 7. the attribute's unit ---------------------------------------------------------------------------------------


def test_an_investment_is_not_answered_by_a_passenger_count() -> None:
    info = analyze("澄川机场三期扩建工程总投资是多少？")
    assert info.unit_class == "money"
    airport = passage("transport", TRANSPORT_TITLE, AIRPORT, dense=0.9)
    assert type_cue(info, AIRPORT) < 1.0
    assert not assess(info, [airport]).answerable
    length = analyze("澄川地铁5号线一期全长多少公里？")
    assert length.unit_class == "length"
    # "多长时间" asks for a duration, not a length; a money word outside what is asked implies no unit
    assert (
        analyze("After I send the final inspection report, how long until the rebate check arrives?").unit_class == ""
    )
    assert analyze("讲话中说大讨论活动已经开展了多长时间?").unit_class == ""


def test_an_english_count_needs_the_counted_thing() -> None:
    info = analyze("How many books does Harbor City's Central Library hold?")
    assert info.count_noun == "books"
    assert type_cue(info, "Northside opens with a collection of about 65,000 books, films and games.") == 1.0
    assert not assess(info, [passage("library", LIBRARY_TITLE, LIBRARY_OPEN, dense=0.86)]).answerable


# tables ----------------------------------------------------------------------------------------------------------


def test_a_table_row_is_read_with_its_header() -> None:
    row_start = RENOVATION_TABLE.index("| 东湖区")
    row_end = RENOVATION_TABLE.index("\n", row_start)
    meaning = table_row_meaning(RENOVATION_TABLE, row_start, row_end)
    assert "36个" in meaning and "4,215户" in meaning and "小区数" in meaning
    flat = "东湖区：小区数（个） 36；"
    assert "36个" in table_row_meaning(flat, 0, len(flat))
    info = analyze("东湖区2025年计划改造多少个老旧小区？")
    cands = sentence_candidates(info, [passage("renovation", RENOVATION_TITLE, RENOVATION_TABLE)])
    row = next(c for c in cands if c.text.startswith("| 东湖区"))
    assert row.cue == 1.0
    found, text = answer(
        "东湖区2025年计划改造多少个老旧小区？", [passage("renovation", RENOVATION_TITLE, RENOVATION_TABLE)]
    )
    assert found and "36" in text
