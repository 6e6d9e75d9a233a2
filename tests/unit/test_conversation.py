"""Follow-up rewriting parts that need no collection: reading questions, the retrieval evidence, the fitted
model file, the LLM prompt and the checks on its reply, the fallback when the LLM fails."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace

import pytest

from qa.config import Settings
from qa.conversation import Standalone, Turn, user_questions
from qa.conversation.carry import (
    FEATURES,
    MODEL_FILE,
    PARALLEL_FEATURES,
    Difference,
    Evidence,
    Logistic,
    TermCarry,
    ellipsis_frame,
    features,
    packaged_model,
    packaged_parallel,
)
from qa.conversation.fit import names_other_subject
from qa.conversation.llm import LLMCondenser, build_messages, load_prompt, parse_rewrite
from qa.conversation.terms import read
from qa.errors import LLMUnavailable
from qa.types import Passage, Signals


def test_unknown_names_read_as_one_term_weighed_by_their_rarest_piece() -> None:
    reading = read("乍都节公园位于什么地方？")
    assert reading.terms[0].text == "乍都节公园"
    assert reading.terms[0].weight > read("公园").terms[0].weight
    assert [t.text for t in read("温泉关的音译是什么？").terms][:1] == ["温泉关"]


def test_an_interrogatives_lone_character_is_no_piece_of_the_name_before_it() -> None:
    # the tagger reads the 多 of "多远" as a numeral, which joined the name before it ("莫斯科多")
    assert not any("多" in t.text for t in read("莫扎伊斯克距离莫斯科多远？").terms)
    # the nouns an interrogative holds stay words of the question
    assert "地区" in [t.text for t in read("草蓬是哪个地区对它的称呼？").terms]


def test_rare_subjects_outweigh_common_words_and_pronouns_are_noticed() -> None:
    headline = read("房寺镇下放了多少项权力?")
    weights = {t.text: t.weight for t in headline.terms}
    assert weights["房寺镇"] > weights["下放"] > max(w for k, w in weights.items() if "权力" in k)
    assert read("它的体重大约是多少？").pronoun
    assert not read("尤金袋鼠的体重大约是多少？").pronoun
    # jieba tags interrogatives and quantifiers `r` as well; they refer back to nothing
    assert not read("霍尔兹是在哪一年建立鸟兽脚类的?").pronoun
    assert not read("房寺镇的乡镇干部每周到社区集中办公几天?").pronoun
    assert read("该镇有多少人口?").pronoun_at == (0, 2)
    english = read("How many administrative powers were delegated to Fangsi town?")
    assert max(english.terms, key=lambda t: t.weight).text == "fangsi"


def _passage(doc: str, rank: int, dense: float) -> Passage:
    return Passage(
        chunk_id=rank,
        doc_id=doc,
        source=f"{doc}.txt",
        title=doc,
        text="",
        start=0,
        end=0,
        score=1.0 / rank,
        signals=Signals(dense=dense, dense_rank=rank, bm25=1.0, bm25_rank=rank),
    )


def test_evidence_compares_the_follow_up_alone_with_the_previous_documents() -> None:
    previous = [_passage("town", 1, 0.9), _passage("town", 2, 0.88), _passage("report", 3, 0.85)]
    follow_up = [_passage("lake", 1, 0.84), _passage("town", 2, 0.83), _passage("hill", 3, 0.8)]
    new_topic = [_passage("lake", 1, 0.92), _passage("hill", 2, 0.85)]
    near = Evidence.of(follow_up, previous)
    far = Evidence.of(new_topic, previous)
    assert near.top_in_previous == 0.0 and near.dense_rank == pytest.approx(0.693, abs=1e-3)
    assert near.dense_gap == pytest.approx(0.01)
    # none of the previous documents: ranked past the end, and the gap measured to the worst match
    assert far.dense_rank > near.dense_rank and far.dense_gap == pytest.approx(0.07)
    assert Evidence.of(previous, previous).top_in_previous == 1.0
    assert Evidence.of([], previous) == Evidence()


def test_the_packaged_model_matches_the_features_the_code_computes() -> None:
    model = packaged_model()
    assert model.features == FEATURES and 0.0 < model.threshold < 1.0
    assert Logistic.from_dict(model.to_dict()) == model
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    data["features"] = [*data["features"][:-1], "renamed"]
    with pytest.raises(ValueError, match="fitted on features"):
        Logistic.from_dict(data)


def test_the_packaged_parallel_model_matches_its_features() -> None:
    model = packaged_parallel()
    assert model.features == PARALLEL_FEATURES
    assert Logistic.from_dict(model.to_dict(), PARALLEL_FEATURES) == model
    with pytest.raises(ValueError, match="fitted on features"):
        Logistic.from_dict(model.to_dict())


def test_a_follow_up_without_an_interrogative_is_elliptical() -> None:
    assert ellipsis_frame("那执法权限呢?", "房寺镇下放了多少项权力?") == (6, 8)  # 多少
    assert ellipsis_frame("2017年4月呢？", "1992年4月，罗保铭担任什么职务？") is not None
    assert ellipsis_frame("那销售额是多少?", "五马街道今年一季度批零住餐销售额增长了多少?") is None
    assert ellipsis_frame("那执法权限呢?", "房寺镇的权力清单") is None  # nothing asked before: no frame to keep
    # a question that asks its own question is no ellipsis, though its Latin letters make it "English"
    assert ellipsis_frame("MIT OpenCourseWare指什么？", "MIT OpenCourseWare的目标是什么？") is None
    assert ellipsis_frame("佐敦谷南道连接哪两条道路？", "佐敦谷南道中文名称的由来是什么？") is None


def test_a_restated_question_about_another_subject_marks_the_replaced_word() -> None:
    previous, question = read("狭叶艾纳香分布在哪些地区？"), read("六耳铃分布在哪些地区？")
    difference = Difference.of(previous.text, question.text)
    subject = next(t for t in previous.terms if t.text.startswith("狭叶"))
    assert difference.substituted(subject, previous, question) == pytest.approx(8 / 13)
    # a word the follow-up still repeats is not what changed
    repeated = next(t for t in previous.terms if t.text == "分布")
    assert difference.substituted(repeated, previous, question) == 0.0
    # a pronoun in the subject's place refers to it: no substitution
    pronoun = read("它分布在哪些地区？")
    assert Difference.of(previous.text, pronoun.text).substituted(subject, previous, pronoun) == 0.0


def _row(question: str, previous: str) -> dict[str, dict[str, float]]:
    """Feature rows by candidate word, with named columns."""
    q, prev = read(question), read(previous)
    return {t.text: dict(zip(FEATURES, row, strict=True)) for t, row in features(q, prev, [prev], Evidence())}


def test_a_question_opening_with_its_own_name_is_marked_unless_it_refers_back() -> None:
    rows = _row("永兴街道靠“小微服务+”协调解决了多少起问题?", "星海街道党工委书记是谁?")
    assert rows and all(r["q_opens_novel_proper"] == 1.0 for r in rows.values())
    assert any(r["t_proper_and_q_opens_novel_proper"] == 1.0 for r in rows.values())
    # 它 refers to the previous subject whatever the question opens with
    rows = _row("戴尔·罗素提出它包含哪两个族？", "扁掌龙亚科在地球上生存了多少年？")
    assert all(r["q_opens_novel_proper"] == 0.0 for r in rows.values())
    # a follow-up that leaves its subject out opens with no name
    rows = _row("什么时候开始对游人开放？", "芙蓉洞位于什么地方？")
    assert all(r["q_opens_novel_proper"] == 0.0 for r in rows.values())


def test_questions_with_a_pronoun_or_their_own_name_are_decided_at_their_own_thresholds() -> None:
    model = packaged_model()
    classes = dict(model.thresholds)
    assert set(classes) == {"q_pronoun", "q_opens_novel_proper"} and all(0.0 < t < 1.0 for t in classes.values())
    pronoun = [0.0] * len(FEATURES)
    pronoun[FEATURES.index("q_pronoun")] = 1.0
    assert model.threshold_of(pronoun) == classes["q_pronoun"]
    opens = [0.0] * len(FEATURES)
    opens[FEATURES.index("q_opens_novel_proper")] = 1.0
    assert model.threshold_of(opens) == classes["q_opens_novel_proper"]
    assert model.threshold_of([0.0] * len(FEATURES)) == model.threshold
    # a model without them (as fitted before) decides every question at its threshold
    plain = replace(model, thresholds=())
    assert "thresholds" not in plain.to_dict() and Logistic.from_dict(plain.to_dict()) == plain
    assert plain.threshold_of(pronoun) == model.threshold
    with pytest.raises(ValueError, match="thresholds for features it does not have"):
        Logistic.from_dict({**model.to_dict(), "thresholds": {"q_renamed": 0.5}})


def test_cmrc_switches_within_a_passage_open_with_another_name() -> None:
    assert names_other_subject("刘七是怎么死的？", "刘六")
    assert not names_other_subject("刘六是怎么死的？", "刘六")  # the passage's own subject: same topic
    assert not names_other_subject("他是怎么死的？", "刘六")  # refers back
    # a place named further on: such questions often lean on their passage's subject
    assert not names_other_subject("谁会在09-10赛季被借到亚特兰大？", "阿夸弗雷斯卡")


def _no_search(text: str) -> list[Passage]:
    raise AssertionError(f"an elliptical follow-up needs no probe search, searched {text!r}")


def test_an_elliptical_follow_up_keeps_the_previous_questions_frame() -> None:
    carry = TermCarry(_no_search)
    assert carry.rewrite("2017年4月呢？", "1992年4月，罗保铭担任什么职务？") == "2017年4月，罗保铭担任什么职务？"
    assert carry.rewrite("软枝黄蝉呢？", "猴面包树的别名是什么？") == "软枝黄蝉的别名是什么？"
    framed = carry.rewrite("那执法权限呢?", "房寺镇下放了多少项权力?")
    assert framed.startswith("房寺镇下放了多少") and framed.endswith("执法权限?") and "权力" not in framed


def test_a_follow_up_phrase_ending_with_a_word_of_the_question_narrows_that_word() -> None:
    # a Chinese noun phrase ends with its head: "农村人口" is a kind of 人口, so it takes 人口's place and the subject
    # stays, where the parallel model, which sets aside the words a follow-up repeats, put it in the town's place
    carry = TermCarry(_no_search)
    assert carry.rewrite("农村人口呢?", "北白象镇的人口是多少?") == "北白象镇的农村人口是多少?"
    assert carry.rewrite("幼体身长呢？", "扁掌龙亚科的身长介于多少之间？") == "扁掌龙亚科的幼体身长介于多少之间？"
    # a phrase whose head the previous one shares replaces that phrase whole
    assert carry.rewrite("新产品产值呢?", "北白象镇一季度的工业产值是多少?") == "北白象镇一季度的新产品产值是多少?"
    # with a name in front, the follow-up may ask about another subject: left to the parallel model
    assert "北京" not in carry.rewrite("杭州人口呢?", "北京的人口是多少?")


def test_a_follow_up_naming_no_name_never_takes_the_subjects_place() -> None:
    # the parallel model, with no common noun to replace, put "户籍人口" in the street's place ("户籍人口下辖多少个
    # 居委会？"): such a follow-up asks about the previous question's subject, which the carry model brings
    carry = TermCarry(lambda text: [])
    assert carry.rewrite("那户籍人口呢？", "淮海中路街道下辖多少个居委会？") == "淮海中路街道那户籍人口呢？"
    assert carry.rewrite("城区面积呢?", "北白象镇的人口是多少?") == "北白象镇城区面积呢?"
    # where the previous question has a common noun for it, the frame stays
    assert carry.rewrite("面积呢?", "北京的人口是多少?") == "北京的面积是多少?"
    assert carry.rewrite("软枝黄蝉呢？", "猴面包树的别名是什么？") == "软枝黄蝉的别名是什么？"


def test_a_pronoun_keeps_the_word_it_refers_to_out_of_the_frame() -> None:
    # "它" stands for the subject: the frame keeps it when another word is parallel to the follow-up's ("面积" for
    # "人口"), and the pronoun takes it when the frame's only candidate is the subject itself ("位于哪里" has no
    # place for 面积)
    carry = TermCarry(lambda text: [])
    for place in ("宁海县", "台湾", "香港"):
        assert carry.rewrite("那它的人口呢？", f"{place}的面积是多少？") == f"{place}的人口是多少？"
    assert carry.rewrite("那它的面积呢？", "鹭鸶屿位于哪里？") == "鹭鸶屿的面积呢？"
    assert carry.rewrite("它的面积呢？", "台北位于哪里？") == "台北的面积呢？"
    assert carry.rewrite("那它的校园面积呢？", "岭海大学创立于哪一年？") == "岭海大学的校园面积呢？"


def test_an_english_pronoun_takes_the_name_or_person_it_refers_to() -> None:
    carry = TermCarry(lambda text: [])
    previous = "Who founded the Harbor Light Foundation?"
    assert carry.rewrite("When was it founded?", previous) == "When was Harbor Light Foundation founded?"
    assert carry.rewrite("What is its budget?", "Where is Fangsi town?") == "What is Fangsi's budget?"
    assert (
        carry.rewrite("When did she take over?", "Who is the executive director of the Harbor Light Foundation?")
        == "When did the executive director of the Harbor Light Foundation take over?"
    )
    # the subject after "is the" runs to the question's end; elsewhere the words after a name may be its verb
    assert carry.rewrite("Who restored it?", "How tall is the Ostvale lime kiln?") == "Who restored Ostvale lime kiln?"
    flying = carry.rewrite("How much does it cost?", "How far can the Kestrel K2 fly?")
    assert flying == "How much does Kestrel K2 cost?"
    # "her" before a word is possessive, at the end the object; "IT" in capitals is no pronoun
    assert carry.rewrite("Who hired her?", "Where does Maria Lopez work?") == "Who hired Maria Lopez?"
    assert carry.rewrite("What is her role?", "Where does Maria Lopez work?") == "What is Maria Lopez's role?"
    # with no interrogative of its own the follow-up is elliptical, yet its pronoun still names what it is about:
    # the previous question's frame ("Where is …") does not fit a population
    assert carry.rewrite("And its population?", "Where is Millbrook Harbour?") == "And Millbrook Harbour's population?"
    assert carry.rewrite("And her salary?", "Where does Maria Lopez work?") == "And Maria Lopez's salary?"
    assert read("Who runs the IT department?").pronoun_at is None and read("华为在IT行业排第几？").pronoun_at is None
    # a Chinese question's Latin words are no English names: "WTA" is not carried as one
    assert read("佩内塔在WTA赛事拿过几个冠军？").terms[1].tag == "eng"
    assert read("Who won the WTA Finals?").terms[-1].proper


def test_an_english_follow_up_naming_nothing_asks_about_what_the_previous_question_named() -> None:
    carry = TermCarry(lambda text: [])
    founded = "Who founded the Harbor Light Foundation?"
    assert carry.rewrite("And the budget?", founded) == "And the budget of Harbor Light Foundation?"
    assert carry.rewrite("Population?", "Where is Millbrook Harbour?") == "Population of Millbrook Harbour?"
    # another name, or a year, stands in the previous question's frame
    assert carry.rewrite("And Lyon?", "Where is Paris?") == "Where is Lyon?"
    population = "What is the population of Millbrook?"
    assert carry.rewrite("And Riverton?", population) == "What is the population of Riverton?"
    # a year where the previous question has none narrows it to that year; where it has one, the year stands in
    assert carry.rewrite("And in 2010?", population) == "What is the population of Millbrook in 2010?"
    assert carry.rewrite("In 2010?", population) == "What is the population of Millbrook in 2010?"
    assert carry.rewrite("2010?", "Who was the mayor of Millbrook?") == "Who was the mayor of Millbrook in 2010?"
    in_2000 = "What was the population of Millbrook in 2000?"
    assert carry.rewrite("And in 2010?", in_2000) == "What was the population of Millbrook in 2010?"


def test_what_about_asks_the_previous_question_again_as_and_does() -> None:
    carry = TermCarry(_no_search)
    assert carry.rewrite("What about Lyon?", "Where is Paris?") == "Where is Lyon?"
    assert carry.rewrite("And what about Lyon?", "Where is Paris?") == "Where is Lyon?"
    population = "What is the population of Millbrook?"
    assert carry.rewrite("How about Riverton?", population) == "What is the population of Riverton?"
    assert carry.rewrite("What about in 2010?", population) == "What is the population of Millbrook in 2010?"
    founded = "Who founded the Harbor Light Foundation?"
    assert carry.rewrite("What about the budget?", founded) == "And the budget of Harbor Light Foundation?"
    # a pronoun is read first, as in any follow-up
    assert carry.rewrite("What about its budget?", founded) == "What about Harbor Light Foundation's budget?"
    # a name's attribute stands alone: "Where is Lyon's population?" asked for a place
    assert carry.rewrite("And Lyon's population?", "Where is Paris?") == "And Lyon's population?"
    assert carry.rewrite("What about Lyon's population?", "Where is Paris?") == "And Lyon's population?"
    # a frame that asks something of its own keeps it
    assert carry.rewrite("And Lyon's cathedral?", "When was Paris founded?") == "When was Lyon's cathedral founded?"
    revenue = "What was Walmart's revenue in 2019?"
    assert carry.rewrite("And McDonald's revenue?", revenue) == "What was McDonald's revenue in 2019?"


def test_a_chinese_follow_up_giving_only_a_time_narrows_the_previous_question() -> None:
    carry = TermCarry(_no_search)
    assert carry.rewrite("2010年呢？", "房寺镇的人口是多少？") == "2010年房寺镇的人口是多少？"
    assert carry.rewrite("那去年呢？", "北白象镇的财政总收入是多少？") == "去年北白象镇的财政总收入是多少？"
    # a time in the previous question is what the follow-up's time stands in for
    assert carry.rewrite("2015年呢？", "房寺镇2010年的人口是多少？") == "房寺镇2015年的人口是多少？"
    assert carry.rewrite("今年呢？", "房寺镇去年的人口是多少？") == "房寺镇今年的人口是多少？"
    # the number of the interrogative ("几个") asks; it is not a time the year could stand in for
    assert carry.rewrite("2010年呢？", "房寺镇有几个村？") == "2010年房寺镇有几个村？"
    # "2013年美网" is read as 2013 and 年美网: the follow-up's 年 is the one that follows the year it replaces
    assert carry.rewrite("2015年那届呢?", "佩内塔在2013年美网取得了什么成绩?") == "佩内塔在2015年美网取得了什么成绩?"


def test_a_chinese_follow_up_giving_only_a_time_replaces_the_time_of_its_grain() -> None:
    carry = TermCarry(_no_search)
    # "去年" is no number: word parallels put it in the town's place ("去年2018年的财政总收入是多少？")
    assert carry.rewrite("去年呢？", "房寺镇2018年的财政总收入是多少？") == "房寺镇去年的财政总收入是多少？"
    # a year for a year, a quarter for a quarter; the other grain stays
    in_quarter = "北白象镇2018年一季度财政总收入是多少?"
    assert carry.rewrite("去年呢？", in_quarter) == "北白象镇去年一季度财政总收入是多少?"
    assert carry.rewrite("二季度呢？", in_quarter) == "北白象镇2018年二季度财政总收入是多少?"
    # no time of its grain: the year goes where a year goes, before the quarter
    assert carry.rewrite("去年呢？", "北白象镇一季度财政总收入是多少?") == "北白象镇去年一季度财政总收入是多少?"
    # a range is one time
    ranged = "蒋巨峰1996年到1997年在中央党校读的是哪个班?"
    assert carry.rewrite("1991年那次呢？", ranged) == "蒋巨峰1991年在中央党校读的是哪个班?"
    assert carry.rewrite("2017年4月呢？", "1992年4月，罗保铭担任什么职务？") == "2017年4月，罗保铭担任什么职务？"
    # a part of a year is a grain of its own: it stays when the year changes, and a half-year goes after the year
    first_half = "房寺镇2018年上半年的财政总收入是多少？"
    assert carry.rewrite("2019年呢？", first_half) == "房寺镇2019年上半年的财政总收入是多少？"
    assert carry.rewrite("下半年呢？", first_half) == "房寺镇2018年下半年的财政总收入是多少？"
    assert carry.rewrite("上半年呢？", "房寺镇2018年的财政总收入是多少？") == first_half
    # the tagger's set phrase "第一季度" is a time too
    first_quarter = "北白象镇2018年第一季度财政总收入是多少?"
    assert carry.rewrite("第三季度呢？", first_quarter) == "北白象镇2018年第三季度财政总收入是多少?"
    assert carry.rewrite("去年呢？", "北白象镇第一季度财政总收入是多少?") == "北白象镇去年第一季度财政总收入是多少?"
    # "去年底" tells a year and a part of it: it stands for the year "2018年" (it went after it: "2018年去年底")
    assert carry.rewrite("去年底呢？", "房寺镇2018年的财政总收入是多少？") == "房寺镇去年底的财政总收入是多少？"
    assert carry.rewrite("去年底呢？", first_half) == "房寺镇去年底的财政总收入是多少？"
    # a localizer after the time bounds it ("以前", "以后"): the follow-up still gives only a time, and the town stays
    assert carry.rewrite("2016年以前呢？", "房寺镇的人口是多少？") == "2016年以前房寺镇的人口是多少？"
    assert carry.rewrite("那2016年以后呢？", "房寺镇2018年的人口是多少？") == "房寺镇2016年以后的人口是多少？"
    # the follow-up's bound takes the place of the previous question's ("2016年以后以前" before)
    assert carry.rewrite("2016年以后呢？", "房寺镇2018年以前的人口是多少？") == "房寺镇2016年以后的人口是多少？"
    assert carry.rewrite("2016年呢？", "房寺镇2018年以来的人口增长了多少？") == "房寺镇2016年以来的人口增长了多少？"
    # traditional script: the day's mark is 號
    assert carry.rewrite("4號呢？", "5月3號的活動在哪裡舉行?") == "5月4號的活動在哪裡舉行?"
    assert carry.rewrite("去年呢？", "房寺鎮2018年的財政總收入是多少？") == "房寺鎮去年的財政總收入是多少？"


def test_a_part_of_a_year_stands_for_another_and_the_same_period_keeps_the_previous_one() -> None:
    carry = TermCarry(_no_search)
    # a half, a quarter and a month each stand for one another: "上半年一季度" asked for the quarter again
    assert carry.rewrite("上半年呢？", "北白象镇一季度的工业产值是多少？") == "北白象镇上半年的工业产值是多少？"
    assert carry.rewrite("4月呢？", "北白象镇2018年一季度的工业产值是多少？") == "北白象镇2018年4月的工业产值是多少？"
    # a day is added to its month
    assert carry.rewrite("4号呢？", "5月的活动在哪里举行?") == "5月4号的活动在哪里举行?"
    # "同期" after a year is the previous question's part of the year in that year, whether or not jieba glues the
    # two ("去年同期" is one word of its dictionary): it lost the attribute, or went before the quarter
    in_quarter = "房寺镇2018年一季度的工业产值是多少？"
    assert carry.rewrite("去年同期呢？", in_quarter) == "房寺镇去年一季度的工业产值是多少？"
    assert carry.rewrite("2017年同期呢？", in_quarter) == "房寺镇2017年一季度的工业产值是多少？"


def test_user_questions_skip_answers_and_blank_turns() -> None:
    history = [Turn("user", "房寺镇下放了多少项权力?"), Turn("assistant", "64项。"), Turn("user", "  ")]
    assert user_questions(history) == ["房寺镇下放了多少项权力?"]


HISTORY = [Turn("user", "房寺镇下放了多少项权力?"), Turn("assistant", "64项行政权力事项[1],413项执法权限[2]。")]


def test_the_condense_prompt_shows_the_turns_without_markers_in_the_question_language() -> None:
    messages = build_messages("那执法权限呢?", HISTORY, load_prompt("zh", None))
    assert messages[0]["role"] == "system" and "独立" in messages[0]["content"]
    user = messages[1]["content"]
    assert "用户: 房寺镇下放了多少项权力?" in user and "助手: 64项行政权力事项,413项执法权限。" in user
    assert user.rstrip().endswith("问题:那执法权限呢?\n改写:")
    english = build_messages("And its urbanization rate?", [Turn("user", "Where is Fangsi?")], load_prompt("en", None))
    assert "User: Where is Fangsi?" in english[1]["content"]


def test_a_rewrite_must_be_one_question_of_sensible_length() -> None:
    asked = ["房寺镇下放了多少项权力?"]
    assert parse_rewrite("改写:房寺镇下放了多少项执法权限?\n", "那执法权限呢?", asked) == "房寺镇下放了多少项执法权限?"
    assert parse_rewrite("“房寺镇下放了多少项执法权限?”", "那执法权限呢?", asked) == "房寺镇下放了多少项执法权限?"
    for raw, reason in (
        ("", "empty"),
        ("房寺镇下放了413项执法权限。\n这是因为……", "several lines"),
        ("房寺镇" * 40, "not a question"),
        ("???", "no words"),
    ):
        with pytest.raises(LLMUnavailable, match=reason):
            parse_rewrite(raw, "那执法权限呢?", asked)


class _Decided:
    """The fallback condenser's decision (what TermCarry would say), recorded so a test can see it was asked."""

    def __init__(self, standalone: bool) -> None:
        self.standalone = standalone
        self.calls = 0

    async def run(self, question: str, history: Sequence[Turn]) -> Standalone:
        self.calls += 1
        return Standalone(question) if self.standalone else Standalone(f"房寺镇 {question}", "terms")


def _condense(reply: str | Exception, question: str = "那执法权限呢?", standalone: bool = False) -> Standalone:
    async def complete(messages: list[dict[str, str]]) -> str:
        if isinstance(reply, Exception):
            raise reply
        return reply

    return asyncio.run(LLMCondenser(Settings(), _Decided(standalone), complete).run(question, HISTORY))


def test_a_rewrite_keeping_the_asked_words_is_used() -> None:
    assert _condense("房寺镇下放了多少项执法权限?") == Standalone("房寺镇下放了多少项执法权限?", "llm")


def test_a_question_the_llm_leaves_as_it_is_goes_to_the_fallback() -> None:
    assert _condense("那执法权限呢?") == Standalone("房寺镇 那执法权限呢?", "terms")
    switch = "温州有多少个乡镇(街道)?"
    assert _condense("温州有多少个乡镇（街道）？", switch, standalone=True) == Standalone(switch)


def test_when_the_llm_fails_or_answers_instead_the_fallback_decides_and_says_why() -> None:
    down = _condense(LLMUnavailable("no reply from http://127.0.0.1:9/v1 within 15 s"))
    assert down.question == "房寺镇 那执法权限呢?"
    # a code: the LLM's address and error are for the log, not for every client
    assert down.warnings == ("rewrite_without_llm",)
    chatty = _condense("房寺镇下放了413项执法权限。\n这些权限由综合执法办公室承接。")
    assert chatty.warnings == ("rewrite_without_llm",)
    # the small model sometimes repeats the previous question: the asked words are gone, the fallback decides
    assert _condense("房寺镇下放了多少项权力?") == Standalone("房寺镇 那执法权限呢?", "terms")
    # ... or states an answer instead of asking
    assert _condense("房寺镇下放了413项执法权限。") == Standalone("房寺镇 那执法权限呢?", "terms")
    # ... or only rephrases the question, with nothing from the conversation: searched for as asked
    switch = "温州有多少个乡镇(街道)?"
    assert _condense("温州共有多少个乡镇(街道)?", switch, standalone=True) == Standalone(switch)


def test_no_history_means_no_rewrite_and_no_llm_call() -> None:
    async def complete(messages: list[dict[str, str]]) -> str:
        raise AssertionError("the LLM must not be asked")

    fallback = _Decided(standalone=False)
    history = [Turn("assistant", "你好!请提问。")]
    result = asyncio.run(LLMCondenser(Settings(), fallback, complete).run("房寺镇下放了多少项权力?", history))
    assert result == Standalone("房寺镇下放了多少项权力?") and fallback.calls == 0
