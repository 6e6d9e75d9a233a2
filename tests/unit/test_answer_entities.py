"""Typed spans: the shapes a factoid answer takes, found by their form."""

from __future__ import annotations

from qa.answer.entities import typed_spans
from qa.text import fold


def _found(text: str) -> set[tuple[str, str]]:
    folded = fold(text)
    return {(folded[s.start : s.end], s.type) for s in typed_spans(folded)}


def _numbers(text: str) -> list[str]:
    folded = fold(text)
    return [folded[s.start : s.end] for s in typed_spans(folded) if s.type == "number"]


def test_numbers_keep_their_units() -> None:
    found = _found("将18个市直部门的64项行政管理事项下放，全长可达42公分。")
    assert {("18个", "number"), ("64项", "number"), ("达42公分", "number")} <= found


def test_numbers_keep_their_whole_measure_words() -> None:
    # 个 before a unit of time, and the quantity words the tagger knows ("万人次", "架次", "枚") beyond any list
    for text, number in (
        ("清河治理工程历时26个月。", "26个月"),
        ("开馆首日共接待读者2.1万人次。", "2.1万人次"),
        ("机场全年起降800架次。", "800架次"),
        ("共发射3枚导弹。", "3枚"),
        ("总投资约5000元人民币。", "约5000元人民币"),
    ):
        assert number in _numbers(text), text
    # a word with digits of its own is another number
    assert _numbers("地上7层、地下2层") == ["7层", "2层"]


def test_dates_are_dates_not_numbers() -> None:
    found = _found("正德六年（1511年）刘六攻占县城，2009年3月17日宣布解散政府。")
    assert ("1511年", "date") in found and ("2009年3月17日", "date") in found
    assert not any(text == "2009" and kind == "number" for text, kind in found)


def test_a_range_of_dates_is_one_date_whose_end_may_leave_out_what_it_shares_with_its_start() -> None:
    for text, period in (
        ("比赛于2009年9月27日-10月9日举行。", "2009年9月27日-10月9日"),
        ("首届比赛于2008年12月11日至22日在南京举行。", "2008年12月11日至22日"),
        ("修建于1638年至1641年。", "1638年至1641年"),
        ("活动在2019年3月至5月开展。", "2019年3月至5月"),
        ("有效期2022-03-30 - 2022-04-02。", "2022-03-30 - 2022-04-02"),
    ):
        found = _found(text)
        assert (period, "date") in found, text
        # its days or months are no number of their own ("22日", "3月至5月")
        assert not any(kind == "number" for _, kind in found), text
    # a year is no range's start when what follows is no date: "2019年-2020赛季"
    assert _found("2019年-2020赛季") >= {("2019年", "date")} and not any(
        t.startswith("2019年-") for t, _ in _found("2019年-2020赛季")
    )


def test_clock_times_dates_in_digits_and_ratios_are_one_span_each() -> None:
    # a clock's colon, a digit date's dashes and a ratio's colon join their figures: "14:00-16:00" is a time range,
    # not the numbers 14, 00-16 and 00
    found = _found("会议于下午14:00-16:00在镇政府召开，时间:2022-03-30 02:39:51，文件于2019/05/20印发。")
    assert ("下午14:00-16:00", "date") in found
    assert ("2022-03-30 02:39:51", "date") in found and ("2019/05/20", "date") in found
    assert _numbers("会议于上午9：30召开，发布于2021.3.15。") == []
    assert ("8:30 a.m. to 4:30 p.m.", "date") in _found("Monday to Friday, 8:30 a.m. to 4:30 p.m.")
    assert (fold("上午9：30"), "date") in _found("时间：上午9：30，地点：镇政府")
    assert _numbers("男女生比例约为1：7，比分为3:2，共1,100人。") == [fold("1：7"), "3:2", "共1,100人"]
    # a colon after a clause stays a clause mark, and a label's number is no ratio with the year after it
    assert _numbers("第3条：5个村") == ["3条", "5个"]
    assert ("2019年", "date") in _found("附件1：2019年统计表") and _numbers("附件1：2019年统计表") == ["1"]
    # a clock-like score or ratio is a number: after a word of comparing, or with an hour no clock has
    for text, score in (("比分为21:19", "21:19"), ("配比为1:10", "1:10"), ("半场45:38领先", "45:38")):
        assert (score, "number") in _found(text) and (score, "date") not in _found(text), text
    # a date in digits at the end of an English sentence
    assert ("2022-03-30", "date") in _found("Updated 2022-03-30.")
    # the figure after a ratio's colon is no number of its own
    assert _numbers("师生比为1:7人") == ["1:7"]


def test_a_date_in_digits_names_a_month_and_a_day() -> None:
    assert ("2021.3.15", "date") in _found("发布于2021.3.15。") and ("2020/02/29", "date") in _found("2020/02/29")
    for text in ("版本2021.13.45发布", "编号2019-00-12", "代码2018/11/32"):
        assert not any(kind == "date" and any(mark in t for mark in ".-/") for t, kind in _found(text)), text


def test_a_comma_groups_thousands_only_in_threes() -> None:
    # folding makes the Chinese comma "," too: "12038，2018年" is a number and a year, not the number "12038,2018"
    assert _numbers("2017年人口为12038，2018年为12510人") == ["12038", "12510人"]
    assert _numbers("分别为12，15，18个") == ["12", "15", "18个"]
    assert _numbers("共1,100人，投资12,345,678元") == ["共1,100人", "12,345,678元"]


def test_titles_quotes_and_names() -> None:
    found = _found("莫瓦桑主持《Docking48》，人称「牛佬」。")
    assert ("《docking48》", "title") in found
    assert ("「牛佬」", "quote") in found
    assert ("莫瓦桑", "person") in found


def test_a_lone_numeral_character_is_a_word() -> None:
    assert not any(kind == "number" for _, kind in _found("一是加强领导"))


def test_a_magnitude_alone_is_a_unit_not_a_number() -> None:
    # a flattened table row: its label names the unit, its cell the figure
    assert _numbers("社会消费品零售总额（亿元）：2024年 1398.5") == ["1398.5"]
    assert _numbers("投资万元以上项目三十万人次") == ["三十万人次"]


def test_amounts_over_several_magnitudes_and_ranges_are_one_number() -> None:
    for text, number in (
        ("全球員工約2萬1千人。", "约2万1千人"),
        ("总投资3亿5000万元。", "3亿5000万元"),
        ("泉温在53度至93度之间。", "53度至93度"),
        ("预计吸引3万至5万人。", "3万至5万人"),
        ("总投资1.5亿-2亿元。", "1.5亿-2亿元"),
        ("海拔落差自400公尺至1,350公尺。", "400公尺至1,350公尺"),
        ("年接待三千五百人次，日开约80班次。", "三千五百人次"),
    ):
        assert number in _numbers(text), text
    assert ("1990年代", "date") in _found("他于1990年代移居海外。")
    assert _numbers("从1998年到2003年，他任县长。") == []  # a date range, not a number


def test_an_english_number_takes_a_unit_not_the_next_word() -> None:
    assert _numbers("It had 42 full-time staff in 1998 in Boston.") == ["42"]
    assert _numbers("The list price is 48,500 euros, or $2.4 million for fifty.") == ["48,500 euros", "$2.4 million"]
    assert _numbers("The hull is 24 metres long and 5 km offshore.") == ["24 metres", "5 km"]
    assert _numbers("The Kestrel K2 is a drone.") == []  # a digit inside a word is no number
    # English writes ranges in words; "and" makes one only after "between"
    assert "30,000 and 50,000" in _numbers("It holds between 30,000 and 50,000 people.")
    assert "3 to 5 km" in _numbers("The walk is 3 to 5 km long.")
    assert _numbers("He bought 3 apples and 5 pears.") == ["3", "5"]
    # a one-letter unit stands apart: written on, the letter is a name's or a plural's
    assert _numbers("The pool is 5 m deep; 5G masts went up in the 1990s.") == ["5 m", "5", "1990"]


def test_a_figure_written_onto_a_noun_is_a_names_numeral_not_an_amount() -> None:
    # "309工业项目区" is a zone's name: an amount takes a measure word ("309个项目区")
    for text, figure in (
        ("全力打造东山工业园、309工业项目区两条工业发展隆起带。", "309"),
        ("拨打12345热线反映问题。", "12345"),
        ("入选985高校名单。", "985"),
    ):
        assert not any(figure in n for n in _numbers(text)), text
    # figures with a measure word, an approximation or a magnitude stay amounts, as do figures before a verb or a mark
    assert _numbers("镇区人口达到3万人，规模以上企业达到59家。") == ["3万人", "59家"]
    assert _numbers("面积100左右，其中30为男性，人口12345，共有3000多亩。") == ["100左右", "30", "12345", "3000多亩"]


def test_lai_after_a_figure_is_an_approximation_before_a_measure_word() -> None:
    assert _numbers("中药材加工户总计380来户。") == ["380来户"]
    assert _numbers("有10来个人参加。")[0].startswith("10来个")
    # not before another word: "2000来到" is a figure and a verb
    assert _numbers("他从2000来到这里。") == ["2000"]


def test_ge_stands_before_a_unit_of_time_only() -> None:
    # "23个项目" is 23 of 个, not "23个项" cut from the noun 项目; "26个月" is one measure
    assert _numbers("我局拟将23个项目列入名录，吸收30个部门参与。") == ["23个", "30个"]
    assert _numbers("历时26个月，每天工作3个小时。") == ["26个月", "3个小时"]


def test_hours_as_chinese_and_english_write_them_without_minutes_are_times() -> None:
    for text, time in (
        ("会议于下午3点召开。", "下午3点"),
        ("上午九点半开幕。", "上午九点半"),
        ("事故于15时30分发生。", "15时30分"),
        ("每年夏至当日正午12时26分。", "12时26分"),
        ("晚上8时举行。", "晚上8时"),
        ("Saturday hours are 10 a.m. to 6 p.m.", "10 a.m. to 6 p.m."),
        ("Open 9am-5pm daily.", "9am-5pm"),
    ):
        assert (fold(time), "date") in _found(text), text
    # a figure and 点 with no part of the day and no minutes are points, and hours a duration
    assert _numbers("提出3点意见，用了3小时。") == ["3点", "3小时"]
    assert not any(kind == "date" for _, kind in _found("提出3点意见，用了3小时。"))
