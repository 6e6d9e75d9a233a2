"""Content words of a question and how much each one says.

A word's weight is its rarity in general language: 8 minus its Zipf frequency from `wordfreq` (an
open, corpus-independent frequency list over many sources, with one scale for Chinese and English), so
"房寺镇" or "rebate" outweigh "的", "权力" or "town" without reference to any collection.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

# Function words of each language: a closed class, never the topic of a question.
ZH_FUNCTION_WORDS = frozenset(
    """的 了 是 在 有 和 与 及 或 也 都 就 而 被 把 对 于 为 以 之 其 这 那 这个 那个 这些 那些 个 吗 呢 吧 啊 呀 么
    请问 请 一下 我 你 他 她 它 你们 他们 它们 我们 要 会 能 可以 应该 等 中 上 下 里 又 还 给 让 得 地 着 过 所 并 但
    如果 因为 所以 由于 可 该 此 则 即 将 已 已经 曾 曾经 被称为 称为 叫做 共 共有 一共 总共 分别""".split()
)
# Chinese measure words and units: a closed class of the language, not a list of any corpus's units. A
# quantity's interrogative asks for one ("几层"), and a number found in text carries one ("7层").
ZH_MEASURE_WORDS = frozenset(
    """个 项 家 元 块 户 亩 人 名 位 座 所 条 种 次 件 台 辆 只 头 匹 间 栋 套 篇 部 本 张 份 批 期 届 支 队 类 处
    层 级 倍 岁 天 日 年 月 周 小时 分钟 秒 世纪 星期
    公里 千米 平方米 平方公里 平方千米 米 厘米 毫米 公分 公尺 英里 英尺 英寸 海里 公顷 英亩 坪 吨 公吨 公斤 千克 克
    公克 毫克 磅 升 公升 毫升 度 摄氏度 瓦 千瓦 伏 赫兹 字节 美元 欧元 英镑 日元 港元 港币 元人民币
    人次 班次 车次 架次 % ％ ‰""".split()
)
# The units of the dimension a Chinese quantity's adjective asks for: "多高", "多远" or "多长" ask for a length,
# "多重" for a weight, so a sentence giving "235.6米" answers "有多高" as one giving "7层" answers "几层". Groups of
# the measure words above, by physical dimension. Not 大, 久 or 快: "多大" asks for an area, a size, a tonnage or an
# age alike, a duration's units (年, 月, 日) are also a date's, and a speed's are written too many ways.
_LENGTH_UNITS = ("米", "千米", "公里", "厘米", "毫米", "公分", "公尺", "英里", "英尺", "英寸", "海里")
ZH_DIMENSION_UNITS: Mapping[str, tuple[str, ...]] = {
    **dict.fromkeys("高远长深宽厚", _LENGTH_UNITS),
    "重": ("吨", "公吨", "公斤", "千克", "克", "公克", "毫克", "磅"),
}
# The same for an English question's adjective after "how": a length's units and a weight's, in English and in
# Chinese, for an English question is often asked of Chinese text. Not "long" (as often a duration's as a length's:
# "how long did the war last"), "big", "large" or "old", as 大 and 久 above. The units are looked for inside the
# candidate answers, letters within words: none that common words hold ("ton" of "Washington", "gram" of "program",
# "ft" of "Microsoft", "foot" of "football", "meter" of "diameter").
EN_DIMENSION_UNITS: Mapping[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("tall", "high", "far", "deep", "wide", "thick"),
        ("km", "cm", "mm", "metre", "meters", "mile", "feet", "inch", *_LENGTH_UNITS),
    ),
    "heavy": ("kg", "kilogram", "tonne", "lbs", *ZH_DIMENSION_UNITS["重"]),
}
# English units, currencies and magnitudes: a closed class, as the Chinese measure words are. A number's next word
# is its unit only if it is one of them ("42 km", "2.4 million euros"), not whatever follows ("1998 in"). A
# one-letter unit must stand apart ("5 m"): written on, the letter is a name's ("5G") or a plural's ("1990s").
EN_MEASURE_WORDS = frozenset(
    """% percent thousand million billion trillion bn mn
    km cm mm nm mi ft yd kg mg lb lbs oz ml ha acre acres sq
    meter meters metre metres kilometer kilometers kilometre kilometres mile miles foot feet inch inches
    gram grams kilogram kilograms ton tons tonne tonnes pound pounds litre litres liter liters hectare hectares
    degree degrees °c °f kw kwh mw gw hz khz mhz ghz kb mb gb tb
    ms hr hrs min mins sec secs second seconds minute minutes hour hours day days week weeks month months
    year years decade decades century centuries
    dollar dollars euro euros yuan yen usd eur gbp rmb cny hkd twd""".split()
)
# the units written as one letter, standing apart from their number ("5 m", "3 t")
EN_LETTER_UNITS = "kmgtlshwv"
EN_FUNCTION_WORDS = frozenset(
    """a an the of to in on at by for from with about into over under and or but if then than as is are was were be
    been being am do does did doing have has had having will would shall should can could may might must this that
    these those it its they them their there here what which who whom whose when where why how many much any some
    all each every no not i you he she we me my your our us his her one s t just also only very more most other such
    own same so too please tell know give""".split()
)

_LATIN_WORD = re.compile(r"[a-z0-9]+(?:[.\-'][a-z0-9]+)*")
_HAS_WORD_CHAR = re.compile(r"\w")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Zipf frequencies run from 0 (unseen) to ~8 ("的", "the"); a term unseen anywhere weighs the most.
_ZIPF_TOP = 8.0
_MIN_WEIGHT = 0.5


def content_terms(tokens: Sequence[str]) -> list[str]:
    """Content words among the words of folded text, function words and punctuation removed, first occurrence
    order."""
    seen: dict[str, None] = {}
    for token in tokens:
        if not _HAS_WORD_CHAR.search(token):
            continue
        if token.isascii():
            for sub in _LATIN_WORD.findall(token):
                if sub not in EN_FUNCTION_WORDS and (len(sub) > 1 or sub.isdigit()):
                    seen.setdefault(sub, None)
        elif token not in ZH_FUNCTION_WORDS:
            seen.setdefault(token, None)
    return list(seen)


@lru_cache(maxsize=1)
def _zipf() -> Callable[[str, str], float]:
    import jieba
    from wordfreq import zipf_frequency

    # wordfreq segments Chinese with jieba, whose logger announces its dictionary at DEBUG on its own handler
    jieba.setLogLevel(logging.WARNING)
    return zipf_frequency


@lru_cache(maxsize=65536)
def term_weight(term: str) -> float:
    """How much a term says: 8 − its Zipf frequency in general language (numbers count as rare)."""
    if _NUMBER.fullmatch(term):
        return _ZIPF_TOP
    lang = "en" if term.isascii() else "zh"
    return max(_MIN_WEIGHT, _ZIPF_TOP - _zipf()(term, lang))
