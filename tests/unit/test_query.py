"""The query stage: one reading of a question (kind, terms, numbers, frame) shared by every later stage."""

from __future__ import annotations

import pytest

from qa.query import analyze
from qa.query.lexicon import is_name_candidate, is_name_word, romanizations
from qa.text import fold


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("房寺镇下放了多少项权力?", "number"),
        ("纽西兰鸡毛松有多高？", "number"),
        ("尤金袋鼠最初是何时被发现的？", "date"),
        ("硝酰氟首先被谁制成？", "person"),
        ("严长寿的出生地在哪里？", "place"),
        ("大冠鹫又叫做什么？", "name"),
        ("为什么称猴面包树为笨蛋水果？", "reason"),
        ("高英是怎么死的？", "manner"),
        ("什么是羊水栓塞？", "definition"),
        ("香港羽毛球公开赛每年都有比赛吗？", "yesno"),
        ("莎莉公司在2012年被拆分成哪两家公司？", "list"),
        ("爱爱腔的形成吸收了哪派的风格？", "entity"),
        ("哪怕下雨也要去吗？", "yesno"),
        ("How many villages does the town have?", "number"),
        ("When did the library open?", "date"),
        ("Who chairs the committee?", "person"),
    ],
)
def test_answer_kind_comes_from_the_interrogative(question: str, kind: str) -> None:
    assert analyze(question).kind == kind


def test_an_interrogative_character_inside_a_name_or_a_word_asks_nothing() -> None:
    # 几 in a country's name and 何 in a person's: the question asks with its own interrogative, and the frame
    # around that one keeps the name whole
    assert analyze("几内亚的首都是哪里？").kind == "place"
    assert analyze("西新几内亚的Ekagi族用六十进制来计算什么？").kind == "entity"
    assert analyze("何塞在哪里出生？").frame == ("何塞在", "出生")
    assert analyze("何法倪的母亲是谁？").frame == ("何法倪的母亲是", "")
    # but a whole interrogative jieba tags as a name still asks
    assert analyze("何谓羊水栓塞？").kind == "definition"
    # the words 几何, 几率 and 任何 hold no interrogative; 几 elsewhere asks for a number
    assert analyze("几何学的创始人是谁？").frame == ("几何学的创始人是", "")
    assert analyze("几何学是什么？").kind == "definition"
    assert analyze("成功的几率是多少？").frame == ("成功的几率是", "")
    assert analyze("任何人都能参加什么活动？").frame == ("任何人都能参加", "活动")
    for question in ("龚秀娥的徒弟中有几人是省级代表性传承人？", "共有几万人？", "几代人？", "他是几岁？"):
        assert analyze(question).kind == "number", question


def test_which_n_things_frames_the_answer_around_the_counted_noun() -> None:
    # "哪两个族": the interrogative takes the number and its classifier, the counted noun stays in the frame
    assert analyze("扁掌龙亚科包含哪两个族？").frame == ("扁掌龙亚科包含", "族")


def test_terms_leave_out_the_interrogative_and_the_asked_unit() -> None:
    q = analyze("房寺镇下放了多少项权力?")
    assert "下放" in q.terms and "权力" in q.terms
    assert "多少" not in q.terms and "项" not in q.terms
    assert q.units == ("项",)
    # rarer words weigh more than common ones
    assert q.weights["下放"] > q.weights["权力"]


def test_an_interrogative_glued_to_its_measure_word_is_no_term_and_names_the_unit() -> None:
    # segmentation gives "几层" one word: kept as a term it never matches "7层" and half the question looked unmet
    q = analyze("新馆共有几层？")
    assert q.terms == ("新馆",) and q.units == ("层",)
    assert analyze("牛佬多少岁开始从事漫画行业？").units == ("岁",)
    # 几 before no measure word asks nothing: the word stays a term
    assert "几何学" in analyze("几何学是什么？").terms


def test_a_quantitys_adjective_names_the_units_of_its_dimension() -> None:
    # "有多高" is answered by "235.6米" as "几层" is by "54层": the sentence with a length has the unit asked for
    assert "米" in analyze("富国银行广场有多高？").units and "千米" in analyze("莫扎伊斯克距离莫斯科多远？").units
    assert "公斤" in analyze("大熊猫有多重？").units
    # a noun of time makes 多长 a duration's, and 多大 asks for an area, a size or an age alike
    assert analyze("这条河有多长时间的历史？").units == ()
    assert analyze("赛里木湖的面积有多大？").units == ()


def test_an_english_quantitys_adjective_names_the_units_of_its_dimension() -> None:
    # in English and in Chinese, as an English question is often asked of Chinese text
    units = analyze("How tall is the Wells Fargo Plaza?").units
    assert "metre" in units and "米" in units
    assert "公斤" in analyze("How heavy is a giant panda?").units
    # "how long" asks for a duration as often as for a length
    assert analyze("How long did the war last?").units == ()


def test_an_attribute_asked_with_duo_stays_a_term() -> None:
    # "多高" asks for a height: 高 is what the answer sentence talks about ("树高可达55米")
    assert "高" in analyze("纽西兰鸡毛松有多高？").terms
    # and so it does where segmentation glues it to 多: "多长" is in no text, "全长1122米" holds 长
    terms = analyze("东关街有多长？").terms
    assert "长" in terms and "多长" not in terms


def test_stated_numbers_are_constraints_and_terms() -> None:
    q = analyze("2009年3月17日谁宣布解散政府？")
    assert q.numbers == ("2009", "3", "17")
    assert "2009" in q.terms


@pytest.mark.parametrize(
    ("question", "years"),
    [
        ("青川市2022年地区生产总值是多少?", (2022,)),
        ("2019—2023年间粮食产量增长了多少？", (2019, 2023)),
        ("二〇二三年的粮食产量是多少？", (2023,)),
        ("What was the city's GDP in 2023?", (2023,)),
        ("Who won the 1998 final?", (1998,)),
        ("房寺镇下放了多少项权力?", ()),
        ("第2019号文件是什么？", ()),  # a number, not a year: no 年
        ("How long is the 1500 m race?", ()),  # a length
        ("How many of the 2,000 people voted?", ()),
    ],
)
def test_the_years_a_question_names(question: str, years: tuple[int, ...]) -> None:
    assert analyze(question).years == years


def test_frame_is_the_question_around_its_interrogative() -> None:
    q = analyze("尤金袋鼠的体重大约是多少？")
    assert q.frame == ("尤金袋鼠的体重大约是", "")
    assert analyze("怡良最初在哪里任职？").frame == ("怡良最初在", "任职")


def test_traditional_and_simplified_questions_read_the_same() -> None:
    simplified = analyze("尤金袋鼠最初是何时被发现的？")
    traditional = analyze("尤金袋鼠最初是何時被發現的？")
    assert traditional.terms == simplified.terms
    assert traditional.kind == simplified.kind == "date"
    assert traditional.text == "尤金袋鼠最初是何時被發現的？"  # the asked text is kept as asked


def test_an_english_question_searches_chinese_translations_too() -> None:
    q = analyze("How many administrative villages does the town have?")
    assert q.lang == "en"
    assert "行政" in q.expansions
    assert analyze("房寺镇下放了多少项权力?").expansions == ()


def test_an_english_question_keeps_the_chinese_names_it_spells_in_pinyin() -> None:
    q = analyze("What rank did Fangsi town hold among China's top 1,000 towns by overall strength?")
    assert q.names == ("fangsi",)  # town, china, hold…: English words, searched through their translations
    assert analyze("How many villages does Tanfang manage under the river chief system?").names == ("tanfang",)
    assert analyze("What is MIT OpenCourseWare?").names == ()
    assert analyze("房寺镇下放了多少项权力?").names == ()


def test_a_chinese_word_is_spelled_as_english_writes_a_name() -> None:
    assert romanizations("房寺") == ["fangsi"]
    assert romanizations("西安") == ["xian"]  # syllables run together, as English writes names
    assert set(romanizations("重庆")) == {"chongqing", "zhongqing"}  # one spelling for each reading of 重
    assert is_name_word("Beibaixiang") and not is_name_word("town") and not is_name_word("China")
    assert is_name_candidate("谭坊") and not is_name_candidate("乘船")  # a common word is not taken for a name


def test_fold_keeps_offsets() -> None:
    for text in ("ＧＤＰ２０３０年①㎡…", "乾燥的頭髮 Ｈｅｌｌｏ", "𠮷野家"):
        assert len(fold(text)) == len(text)
    assert fold("ＧＤＰ２０３０年") == "gdp2030年"
    assert fold("島嶼地區") == "岛屿地区"
