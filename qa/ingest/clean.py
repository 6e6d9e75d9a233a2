"""Boilerplate removal for plain text: scraped pages saved as text, and HTML after main-text extraction.

Pages arrive with their chrome flattened into lines: menus, breadcrumbs, bylines, copyright and contact
footers, editor credits, pagers, related-article lists and ads. Every line is classified by its *shape*
(many short segments, a footer keyword, a date with a source, one or two characters ...) and the chrome
is dropped, so the rules carry over to sites never seen. Nothing here may name a particular site.

The output keeps paragraph line breaks (one paragraph per line, at most one blank line between blocks)
because chunking and citations work on that stored text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import islice

from qa.text import CJK_CHAR, fold, simplified_in_place

# Exotic spaces become plain spaces so that `str.strip` and the segment rules see them.
_SPACES = re.compile(r"[\t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MULTI_SPACE = re.compile(r" {2,}")

_SENTENCE_END = "。!?！？;；…．."
_CLOSERS = "”’\"')）」』】》]"
# Punctuation that only prose carries; menus and link lists have none of it.
_PROSE_PUNCT = re.compile(r"[。,，;；!?！？、]|[a-z]{2,}[,.;:!?]\s")

# Lines carrying these are footer chrome wherever they appear (when short enough to be a footer line).
_FOOTER_STRONG = re.compile(
    r"ICP\s*[备证]|公网安备|版权所有|著作权所有|版权归.{0,20}所有|Copyright\s*(?:©|\(c\)|&copy;|\d{4})|©\s*(?:\d{4}|[A-Za-z]|[\u4e00-\u9fff]{2})"
    r"|All\s+rights\s+reserved|许可证(?:编号|号)|信息服务许可|经营许可证|违法和不良信息|不良信息举报"
    r"|举报(?:电话|邮箱|中心|专区)|网络谣言|网站标识码|网站识别码",
    re.IGNORECASE,
)
# Footer words that prose can also use: only a line without prose punctuation is dropped.
_FOOTER_WEAK = re.compile(
    r"免责声明|网站声明|法律声明|隐私政策|隐私保护|使用条款|服务条款|网站地图|联系我们|关于我们|主办单位|承办单位"
    r"|主管单位|协办单位|技术支持|运营维护|建议使用.{0,20}浏览器|分辨率|Privacy\s+Policy|Terms\s+of\s+(?:Use|Service)"
    r"|Cookie\s+(?:Policy|Settings|Preferences)|Powered\s+by|Contact\s+us|About\s+us|Sitemap",
    re.IGNORECASE,
)
_CONTACT = re.compile(
    r"(?:通讯地址|联系地址|地址|邮政编码|邮编|联系电话|咨询电话|服务热线|热线电话|电话|传真|联系邮箱|电子邮箱|电子信箱|邮箱"
    r"|E-?mail|Tel|Fax|Phone|Address)\s*[:：]",
    re.IGNORECASE,
)
# Credits open a short line ("编辑:", "N 编辑:", "【责任编辑:"); a colon is required so that a sentence
# which merely contains the word survives.
_CREDIT = re.compile(
    r"^(?:[A-Za-z0-9]{1,2}\s+)?[\[【(（]?\s*(?:责任编辑|责编|值班编辑|编辑|主编|记者|通讯员|作者|撰稿|撰文|文字|摄影|摄像"
    r"|图片来源|来源|稿源|出处|本文来源|文章来源|信息来源|本文转自|转自|转载自|转载|校对|审核|审校|终审|初审|二审|三审|编审"
    r"|监制|供稿|策划|制作|Editor|Edited\s+by|Author|Source|Reporter|Reporting\s+by|Photo|Credit)s?\s*[:：]",
    re.IGNORECASE,
)
_PAREN_CREDIT = re.compile(r"^[(（\[【]\s*(?:记者|通讯员|作者|编辑|责任编辑)[^)）\]】]{0,30}[)）\]】]$")
_EN_BYLINE = re.compile(r"^By\s+[A-Z][\w.'’-]+(?:\s+(?:[A-Z][\w.'’-]+|and|&)){0,5}$")
_END_MARK = re.compile(r"^[(（\[【]\s*(?:完|全文完|END|The\s+End)\s*[)）\]】]$", re.IGNORECASE)

_BREADCRUMB = re.compile(
    r"^(?:当前位置|您的位置|你的位置|您现在的位置|你现在的位置|您当前的位置|所在位置|现在位置|位置|You\s+are\s+here)\s*[:：]"
    r"|^(?:首页|主页|网站首页|Home)\s*(?:>|>|»|›|→|/|\\|-{1,2}>)",
    re.IGNORECASE,
)
_CRUMB_SEP = re.compile(r"\s*(?:>|>|»|›|→)\s*")
_BULLET_SEP = re.compile(r"(?:^|\s)[·•▪●◆■◇□○]")
# a page number as a running header or footer prints it
_PAGE_MARK = re.compile(r"第\s*\d{1,4}\s*[页頁]|\bpage\s*\d{1,4}\b|^[-—–]\s*\d{1,4}\s*[-—–]$", re.I)
_RUNNING_DIGITS = re.compile(r"\d+")
_MAX_RUNNING_CHARS = 80
_RUNNING_REPEATS = 3
_PAGER = re.compile(
    r"^(?:[•·▪●\-*]\s*)?\d{1,3}$"
    r"|^第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?$|^共\s*\d+\s*页$"
    r"|^(?:Page\s+)?\d+\s*(?:of|/)\s*\d+$|^Page\s+\d+$|^[-—–]\s*\d+\s*[-—–]$",
    re.IGNORECASE,
)
_PAGER_WORDS = frozenset(
    "上一页 下一页 首页 尾页 末页 前页 后页 上页 下页 跳转 到 页 确定 go prev previous next first last « » ‹ ›".split()
)
# Whole-line UI labels (compared after dropping brackets and trailing punctuation, lower-cased).
_UI_LINES_ZH = (
    "打印 打印本页 打印此页 关闭 关闭窗口 关闭本页 收藏 收藏本页 加入收藏 设为首页 分享 分享到 分享至 返回"
    " 返回顶部 返回首页 返回列表 回到顶部 顶部 更多 更多>> 查看更多 点击查看 点击进入 阅读全文 展开全文 全文 纠错"
    " 我要纠错 字号 大 中 小 默认 扫一扫 微信扫一扫 扫码 二维码 手机版 电脑版 无障碍 繁体 简体 繁體 登录 注册 搜索"
    " 高级搜索 首页 导航 菜单 网站导航 广告"
)
_UI_LINES_EN = (
    "skip to content|skip to main content|skip navigation|menu|main menu|navigation|search|log in|login|sign in"
    "|sign up|register|subscribe|share|share this|print|email|back to top|top|next|previous|advertisement|ad"
    "|close|open menu|toggle navigation|cookies|accept|accept all|reject all"
)
_UI_LINES = frozenset(_UI_LINES_ZH.split()) | frozenset(_UI_LINES_EN.split("|"))
_UI_WORDS = frozenset(w for line in _UI_LINES for w in line.split())
_UI_PREFIX = re.compile(
    r"^(?:上一篇|下一篇|上一条|下一条|上篇|下篇|Previous\s+(?:post|article)|Next\s+(?:post|article))\s*[:：]?",
    re.IGNORECASE,
)
_CALL_TO_ACTION = re.compile(
    r"^(?:share|follow\s+us|subscribe|sign\s+up|join\s+us|download\s+(?:our|the)\s+app|click\s+here)\b[^.!?。]{0,60}$",
    re.IGNORECASE,
)
_META_KEY_LINE = re.compile(
    r"^[【\[(（]?\s*(?:字号|字体|浏览量|浏览次数|浏览|阅读量|阅读数|阅读次数|点击数|点击量|点击|访问量|评论数?)\s*[:：]",
)

_CN_DATE = re.compile(
    r"(?:19|20)\d{2}\s*(?:年\s*\d{1,2}\s*月\s*\d{1,2}\s*日?|[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2})"
    r"(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?"
)
# Page bylines print machine dates ("2019-04-25 07:05:43"); people write "2024年3月1日 9:00".
_NUMERIC_DATE = re.compile(r"(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}")
_EN_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_EN_DATE = re.compile(
    rf"\b{_EN_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}\b|\b\d{{1,2}}\s+{_EN_MONTH}\s+(?:19|20)\d{{2}}\b",
    re.IGNORECASE,
)
# A byline key with a colon marks metadata even next to a written-out date ("发布时间:2018年3月1日").
_BYLINE_KEY = re.compile(
    r"(?:来源|发布时间|发布日期|发表时间|更新时间|更新日期|发布|作者|编辑|浏览量|浏览次数|浏览|阅读|点击|字号"
    r"|信息来源|文章来源|稿源)\s*[:：]"
    r"|\b(?:Published|Posted|Updated|Last\s+updated|Modified)\b\s*(?:on|at)?\s*:?|^By\s",
    re.IGNORECASE,
)
# "时间:"/"日期:" also head meeting notices ("时间:3月1日上午9时"), so they need a numeric date or a clock time.
_WEAK_BYLINE_KEY = re.compile(r"(?:时间|日期|Date)\s*[:：]", re.IGNORECASE)
# Credits that name who wrote the article (kept in a top byline) as opposed to who edited or supplied it.
_REPORTER_CREDIT = re.compile(
    r"^[\[【(（]?\s*(?:记者|通讯员|作者|撰稿|撰文|Author|Reporter|Reporting\s+by)|^By\s", re.IGNORECASE
)
# Counters and widgets printed inside a byline ("浏览次数：1862", "字号：大 中 小", "2,341 views", "打印"): not
# content. Matched on the folded line (simplified script, lower case: 瀏覽次數 and 列印本頁 alike), same offsets.
_BYLINE_WIDGET = re.compile(
    r"[【\[(（]?\s*(?:字号|字体|浏览量|浏览次数|浏览|阅读量|阅读数|阅读次数|点击数|点击量|点击|点阅数|点阅|访问量|评论数?|views?|"
    r"comments?)\s*[:：]\s*(?:\d[\d,]*\s*(?:次|人次)?|[【\[(（]?\s*(?:[大中小]\s*)+[】\])）]?)?\s*[】\])）]?"
    r"|\b\d[\d,]*\s+(?:views|reads|comments)\b",
)
_BYLINE_UI_TAIL = re.compile(
    r"(?:\s*[|｜/]?\s*[【\[]?\s*(?:打印|列印|关闭|分享|收藏|回上一页|返回|print|share|email)"
    r"\s*(?:本页|此页|窗口|视窗|本文|文章|this\s+page)?\s*[】\]]?)+\s*$",
)
# the separators a removed widget leaves side by side, or at an end
_LOOSE_SEPARATORS = re.compile(r"\s*[|｜](?:\s*[|｜])+\s*")
_MAX_DATELINES = 3

# Cookie/consent banners: they mention cookies and ask for a decision.
_COOKIE = re.compile(r"cookie|使用\s*cookie", re.IGNORECASE)
_CONSENT = re.compile(
    r"accept|agree|consent|reject|decline|manage|preferences|settings|continu|got\s+it|同意|接受|拒绝|知道了|设置",
    re.IGNORECASE,
)
# A search box's placeholder flattened into text: "Search the catalog...", "请输入关键词…"
_SEARCH_PLACEHOLDER = re.compile(
    r"^(?:search|find|enter|type)\b[^.!?]{0,40}(?:\.{3}|…)$|^(?:请输入|输入)[^。]{0,12}(?:\.{3}|…)?$", re.IGNORECASE
)
_SOCIAL_WORDS = frozenset(
    "facebook twitter x instagram youtube linkedin tiktok pinterest reddit whatsapp telegram mastodon threads"
    " bluesky email e-mail print rss weibo wechat 微信 微博 qq qq空间 抖音 今日头条 复制链接 copy link".split()
)
# A navigation item: a few capitalised words, no sentence punctuation, no digits.
_NAV_ITEM = re.compile(r"^[A-Za-z][\w'’&/+-]*(?:\s+(?:[A-Za-z][\w'’&/+-]*|&|/|\+)){0,3}$")
_NAV_SMALL_WORDS = frozenset("a an and & of the to for in on at by with your my our or + /".split())
_MIN_NAV_RUN = 3

_NOTICE_HEADING = re.compile(r"版权|免责|声明|Copyright|Disclaimer|Legal\s+Notice", re.IGNORECASE)
_NOTICE_WORDS = re.compile(
    r"版权|转载|著作权|授权|本网|本站|法律责任|作品|侵权|copyright|rights|permission|reproduc|liab|warrant",
    re.IGNORECASE,
)
_RELATED_HEADING = re.compile(
    r"^(?:文章推荐|相关文章|相关阅读|相关新闻|相关链接|相关报道|相关推荐|相关资讯|相关内容|推荐阅读|延伸阅读|扩展阅读|拓展阅读"
    r"|猜你喜欢|你可能感兴趣的?(?:文章|内容)?|热门推荐|热点推荐|热点新闻|热点关注|热门文章|热门新闻|热门阅读|最新文章|最新新闻"
    r"|最新资讯|更多新闻|更多阅读|更多精彩|频道精选|精选专题|精彩推荐|编辑推荐|今日推荐|图片新闻|往期回顾|往期推荐|专题推荐"
    r"|Related|Related\s+(?:articles|posts|stories|news|content|reading|links)|Read\s+(?:more|next|also)|See\s+also"
    r"|More\s+(?:stories|news|articles|from\s+.{1,30})|You\s+(?:may|might)\s+also\s+like"
    r"|Recommended(?:\s+for\s+you|\s+articles|\s+stories|\s+reading|\s+posts)?|Trending(?:\s+now|\s+stories)?"
    r"|Popular(?:\s+posts|\s+articles|\s+stories)?|Most\s+(?:read|popular|viewed))$",
    re.IGNORECASE,
)

# A paragraph is "substantial" (article body, not chrome) when it is this long or ends like a sentence.
_SUBSTANTIAL_CHARS = 40


class Kind(Enum):
    CONTENT = "content"
    BLANK = "blank"
    # dropped: footer, credit, byline, pager, UI label, tiny fragment
    NOISE = "noise"
    # dropped, and everything above it in the page head is chrome as well: menus, breadcrumbs, link lists
    CHROME = "chrome"
    # a heading that opens a block running to the end of the page
    NOTICE = "notice"
    RELATED = "related"
    # publication date / reporter line: content at the top of the article, noise anywhere else
    DATELINE = "dateline"
    # address/phone/email line: content inside the article, footer when page furniture follows it
    CONTACT = "contact"
    # cookie banners and navigation runs: chrome above the first body paragraph (or below the last)
    EDGE = "edge"


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    kind: Kind


def normalize_lines(text: str) -> list[str]:
    """Unicode-normalized, whitespace-stripped lines; blank lines are ''."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    return [line.strip() for line in text.split("\n")]


_CORE_STRIP = " •·▪●◆■-*>»|#【】[]()（）<>《》:：,，.。!！?？、"


def _core(line: str) -> str:
    """The line without decoration: bullets, brackets and punctuation at either end."""
    return line.strip(_CORE_STRIP)


def _has_prose(line: str) -> bool:
    return bool(_PROSE_PUNCT.search(line))


def is_substantial(line: str) -> bool:
    stripped = line.rstrip(_CLOSERS)
    return len(line) >= _SUBSTANTIAL_CHARS or (bool(stripped) and stripped[-1] in _SENTENCE_END)


def _is_menu(line: str) -> bool:
    if _has_prose(line):
        return False
    # "Home | News | About" (a markdown/table row starts with '|' and is content)
    if not line.startswith("|"):
        parts = [p.strip() for p in re.split(r"[|｜]", line)]
        if len(parts) >= 3 and all(0 < len(p) <= 25 for p in parts):
            return True
    # "·headline one ·headline two": a run of links flattened onto one line
    if len(_BULLET_SEP.findall(line)) >= 2:
        return True
    segments = line.split()
    if len(segments) >= 4 and all(len(s) <= 12 for s in segments) and len(re.findall(r"\S {2,}\S", line)) >= 3:
        return True
    # CJK prose has no spaces, so five or more short space-separated CJK words are a menu
    if len(segments) >= 5 and all(len(s) <= 10 for s in segments) and not re.search("[:：]", line):
        cjk = sum(1 for s in segments if CJK_CHAR.search(s))
        if cjk >= 0.8 * len(segments):
            return True
    crumbs = _CRUMB_SEP.split(line)
    return len(crumbs) >= 3 and all(0 < len(c) <= 20 for c in crumbs)


def _is_pager(line: str) -> bool:
    if _PAGER.match(line):
        return True
    words = line.replace("[", " ").replace("]", " ").split()
    return len(words) >= 2 and all(w.isdigit() or w.lower() in _PAGER_WORDS for w in words)


def _is_ui_label(line: str) -> bool:
    core = _core(line).lower()
    if core in _UI_LINES:
        return True
    words = core.split()
    # "打印 关闭 收藏" / "大 中 小": a row of UI labels
    return len(words) >= 2 and all(w in _UI_WORDS for w in words)


def _is_byline(line: str) -> bool:
    if len(line) > 90 or "。" in line:
        return False
    dates = _CN_DATE.findall(line) + _EN_DATE.findall(line)
    if not dates:
        return False
    rest = _CN_DATE.sub(" ", line)
    rest = _EN_DATE.sub(" ", rest)
    if _BYLINE_KEY.search(line):
        rest = _WEAK_BYLINE_KEY.sub(" ", _BYLINE_KEY.sub(" ", rest))
        return len(_core(re.sub(r"\s+", "", rest))) <= 40 and not _has_prose(rest)
    remainder = re.sub(r"[\s\W_]+", "", _WEAK_BYLINE_KEY.sub(" ", rest))
    if _NUMERIC_DATE.search(line):
        # "SiteName 2019-04-25 07:05:43"
        return len(remainder) <= 12
    # A written-out date alone ("2024年2月1日") signs official documents and dates letters: content.
    return False


def _has_byline_key(line: str) -> bool:
    """A keyed dateline ("发布时间：…", "Posted on …", "时间:2022-03-30") rather than a bare "SiteName date"."""
    if _BYLINE_KEY.search(line):
        return True
    return bool(_WEAK_BYLINE_KEY.search(line) and _NUMERIC_DATE.search(line))


def is_dateline(line: str) -> bool:
    """A publication-date or reporter line of the shape pages print under a headline (its view counter and font
    buttons aside)."""
    line = tidy_dateline(line.strip())
    if not line or len(line) > 120:
        return False
    if _REPORTER_CREDIT.match(line) and (_CREDIT.match(line) or _PAREN_CREDIT.match(line) or _EN_BYLINE.match(line)):
        return True
    return _is_byline(line) and _has_byline_key(line)


def tidy_dateline(line: str) -> str:
    """The dateline without the counters and buttons printed next to it (in either script)."""
    folded = fold(line)
    tail = _BYLINE_UI_TAIL.search(folded)
    end = tail.start() if tail else len(line)
    kept = list(line[:end])
    for m in _BYLINE_WIDGET.finditer(folded, 0, end):
        kept[m.start() : m.end()] = [" "] * (m.end() - m.start())
    tidied = _LOOSE_SEPARATORS.sub(" | ", "".join(kept))
    return _MULTI_SPACE.sub(" ", tidied).strip(" |｜")


def _is_social_row(line: str) -> bool:
    words = [w for w in re.split(r"[\s|｜/·•,，:：]+", line.lower()) if w]
    if words and words[0] in ("share", "分享", "分享到", "follow", "follow us", "关注"):
        words = words[1:]
    return len(words) >= 2 and all(w in _SOCIAL_WORDS or w in ("us", "on", "copy", "link") for w in words)


def _is_nav_item(line: str) -> bool:
    if len(line) > 30 or not _NAV_ITEM.match(line):
        return False
    words = line.split()
    return all(w.lower() in _NAV_SMALL_WORDS or any(c.isupper() for c in w) for w in words)


def _classify(line: str, *, headings: bool = True) -> Kind:
    if not line:
        return Kind.BLANK
    # the patterns are written in simplified script: a traditional page's 著作權所有 is 著作权所有 (same length,
    # case kept for the checks that read it)
    line = simplified_in_place(line)
    n = len(line)
    core = _core(line)
    # layout debris ("x", "›", "• 3", "第 2 页"): a pager/page number, one character, or two that are not
    # a CJK word (two-character headings such as "结论" are content)
    if len(core) <= 1 or _is_pager(line) or (len(core) == 2 and not all(CJK_CHAR.match(c) for c in core)):
        return Kind.NOISE
    # table rows (docx/markdown) carry their own structure; only the block rules apply to them
    if line.startswith("|") and line.endswith("|") and len(line) > 2:
        return Kind.CONTENT
    if headings and n <= 40 and _RELATED_HEADING.match(core):
        return Kind.RELATED
    if (
        headings
        and n <= 40
        and _NOTICE_HEADING.search(line)
        and (line.endswith((":", "：")) or (len(core) <= 12 and not _FOOTER_STRONG.search(line)))
    ):
        return Kind.NOTICE
    if _BREADCRUMB.match(line):
        return Kind.CHROME
    if n <= 200 and _FOOTER_STRONG.search(line):
        return Kind.NOISE
    if n <= 120 and _FOOTER_WEAK.search(line) and not _has_prose(line):
        return Kind.NOISE
    if n <= 120 and "。" not in line and _CONTACT.search(line):
        return Kind.CONTACT
    if n <= 80 and (_CREDIT.match(line) or _PAREN_CREDIT.match(line) or _EN_BYLINE.match(line)):
        # "来源：X 时间：2018-01-04" under a headline is the dateline; "来源：X" alone is a credit
        return Kind.DATELINE if is_dateline(line) else Kind.NOISE
    if _END_MARK.match(line) or _META_KEY_LINE.match(line) or _UI_PREFIX.match(line):
        return Kind.NOISE
    byline = tidy_dateline(line)  # a view counter or font buttons beside it make it no less a byline
    if _is_byline(byline):
        return Kind.DATELINE if _has_byline_key(byline) else Kind.NOISE
    if (n <= 30 and _is_ui_label(line)) or _CALL_TO_ACTION.match(line) or _SEARCH_PLACEHOLDER.match(line):
        return Kind.NOISE
    if n <= 120 and _is_social_row(line):
        return Kind.NOISE
    if n <= 400 and _COOKIE.search(line) and _CONSENT.search(line):
        return Kind.EDGE
    if n <= 300 and _is_menu(line):
        return Kind.CHROME
    return Kind.CONTENT


def _content_chars(lines: Sequence[_Line]) -> int:
    return sum(len(x.text) for x in lines if x.kind is Kind.CONTENT)


def _notice_follows(lines: Sequence[_Line]) -> bool:
    """A copyright/disclaimer heading is followed by notice wording (or by nothing)."""
    following = list(islice((x.text for x in lines if x.kind is not Kind.BLANK), 6))
    if not following:
        return True
    hits = sum(1 for t in following if _NOTICE_WORDS.search(t))
    return hits * 2 >= len(following)


def _cut_blocks(lines: list[_Line]) -> list[_Line]:
    """Drop notice and related-article blocks.

    A block heading seen after the article body ends the article: everything below it is page furniture.
    A related-article box injected mid-article (more body below than above) only loses its own
    short link lines, so an early false heading can never swallow the article.
    """
    out: list[_Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.kind in (Kind.NOTICE, Kind.RELATED):
            before = _content_chars(out)
            rest = lines[i + 1 :]
            after = _content_chars(rest)
            is_block = line.kind is Kind.RELATED or _notice_follows(rest)
            if is_block and before > 0 and before >= after:
                break
            if is_block:
                i += 1
                while i < len(lines) and (lines[i].kind is not Kind.CONTENT or not is_substantial(lines[i].text)):
                    i += 1
                continue
            # not a block after all: judge the line like any other
            line = _Line(line.text, _classify(line.text, headings=False))
        out.append(line)
        i += 1
    return out


def _first_body(lines: Sequence[_Line]) -> int:
    return next((i for i, x in enumerate(lines) if x.kind is Kind.CONTENT and is_substantial(x.text)), len(lines))


def _last_body(lines: Sequence[_Line]) -> int:
    return max((i for i, x in enumerate(lines) if x.kind is Kind.CONTENT and is_substantial(x.text)), default=-1)


def _mark_nav_runs(lines: list[_Line]) -> list[_Line]:
    """Above the body, a run of short capitalised lines without punctuation ("Home", "Catalog",
    "Kids & Teens" ...) is a flattened navigation menu. Only the page head is searched: inside or after
    the article such a run may be a real list (names, ingredients)."""
    first_body = _first_body(lines)
    out = list(lines)
    i = 0
    while i < first_body:
        if not (out[i].kind is Kind.CONTENT and _is_nav_item(out[i].text)):
            i += 1
            continue
        run = [i]
        j = i + 1
        while j < first_body and (
            out[j].kind is Kind.BLANK or (out[j].kind is Kind.CONTENT and _is_nav_item(out[j].text))
        ):
            if out[j].kind is Kind.CONTENT:
                run.append(j)
            j += 1
        if len(run) >= _MIN_NAV_RUN:
            last = run[-1]
            # the headline often follows the menu directly: spare a last item that reads like one
            if len(out[last].text.split()) >= 3 and _next_is_article(out, last):
                run.pop()
            for k in run:
                out[k] = _Line(out[k].text, Kind.EDGE)
        i = j
    return out


def _next_is_article(lines: Sequence[_Line], i: int) -> bool:
    nxt = next((x for x in lines[i + 1 :] if x.kind is not Kind.BLANK), None)
    return nxt is not None and (nxt.kind is Kind.DATELINE or (nxt.kind is Kind.CONTENT and is_substantial(nxt.text)))


def _resolve_edges(lines: list[_Line]) -> list[_Line]:
    """Cookie banners and navigation runs are chrome at the page's edges; inside the article they are text."""
    body = [x for x in lines if x.kind is not Kind.EDGE]
    if len(body) == len(lines):
        return lines
    first_text = _first_body(body)
    first = lines.index(body[first_text]) if first_text < len(body) else len(lines)
    last_text = _last_body(body)
    last = lines.index(body[last_text]) if last_text >= 0 else -1
    return [
        _Line(x.text, Kind.CHROME if i < first or i > last else Kind.CONTENT) if x.kind is Kind.EDGE else x
        for i, x in enumerate(lines)
    ]


def _trim_head(lines: list[_Line]) -> list[_Line]:
    """Above the first body paragraph, whatever precedes the last menu/breadcrumb line is chrome too
    (site name, logo text, "English" switches): the headline sits between the menus and the body."""
    first_body = _first_body(lines)
    last_chrome = max((i for i, x in enumerate(lines[:first_body]) if x.kind is Kind.CHROME), default=-1)
    return lines[last_chrome + 1 :]


def _trim_tail(lines: list[_Line]) -> list[_Line]:
    """Below the last body paragraph, the first footer/credit line starts the page footer: short lines
    after it are footer too (site slogans, ad labels). Short lines before it (a closing list, a
    signature) are left alone. Contact lines right above the footer belong to it; contact lines followed
    by the article's own sign-off (a notice's "联系电话：…" then the issuer and date) are kept."""
    last_body = _last_body(lines)
    if last_body < 0:
        return lines
    tail = lines[last_body + 1 :]
    first_noise = next((i for i, x in enumerate(tail) if x.kind in (Kind.NOISE, Kind.CHROME, Kind.DATELINE)), None)
    if first_noise is None:
        return lines
    cut = first_noise
    j = first_noise - 1
    while j >= 0 and tail[j].kind in (Kind.CONTACT, Kind.BLANK):
        if tail[j].kind is Kind.CONTACT:
            cut = j
        j -= 1
    return lines[: last_body + 1 + cut]


def clean_text(text: str, *, title: str | None = None) -> str:
    """The article text of `text`, chrome removed, one paragraph per line, blank runs collapsed.

    `title`, when known (HTML metadata, an explicit upload title), is treated like a first headline:
    later lines repeating it are dropped, its first occurrence is kept.
    """
    raw = _without_running_lines(normalize_lines(text))
    lines = [_Line(t, _classify(t)) for t in raw]
    lines = _cut_blocks(lines)
    lines = _mark_nav_runs(lines)
    lines = _resolve_edges(lines)
    lines = _trim_head(lines)
    lines = _trim_tail(lines)
    first_body = _first_body(lines)
    # a long headline is "substantial" too: the dateline may sit under it
    first_paragraph = next(
        (
            i
            for i, x in enumerate(lines)
            if x.kind is Kind.CONTENT and is_substantial(x.text) and not is_title_like(x.text)
        ),
        len(lines),
    )

    kept: list[str] = []
    seen_title = False
    headline = _normalize_title(title) if title else None
    datelines = 0
    for i, x in enumerate(lines):
        if x.kind is Kind.BLANK:
            if kept and kept[-1]:
                kept.append("")
            continue
        if x.kind is Kind.DATELINE and i < first_paragraph and datelines < _MAX_DATELINES:
            # the date and reporter under a headline answer "when"/"who reported it"; the same line
            # below the article is a credit
            dateline = tidy_dateline(_MULTI_SPACE.sub(" ", x.text))
            if is_dateline(dateline) and dateline not in kept:  # pages print it twice (head and article)
                kept.append(dateline)
                datelines += 1
            continue
        if x.kind is Kind.CONTACT and i > first_body:
            kept.append(_MULTI_SPACE.sub(" ", x.text))
            continue
        if x.kind is not Kind.CONTENT:
            continue
        t = _MULTI_SPACE.sub(" ", x.text)
        if headline is None:
            headline = _normalize_title(t) if is_title_like(t) else ""
            seen_title = bool(headline)
        elif headline and _normalize_title(t) == headline:
            # repeated headline (pages print it in the head, the body and the related list)
            if seen_title:
                continue
            seen_title = True
        kept.append(t)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept)


def _without_running_lines(lines: list[str]) -> list[str]:
    """Without the page header or footer a paginated text repeats ("年鉴（2025） 内部资料 第12页"): a short line
    with a page number, found again and again with only its numbers changed."""
    keys = [
        _RUNNING_DIGITS.sub("#", line) if len(line) <= _MAX_RUNNING_CHARS and _PAGE_MARK.search(line) else None
        for line in lines
    ]
    counts: dict[str, int] = {}
    for key in keys:
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    return [line for line, key in zip(lines, keys, strict=True) if key is None or counts[key] < _RUNNING_REPEATS]


def _normalize_title(t: str) -> str:
    return re.sub(r"\s+", "", t)


def is_title_like(line: str) -> bool:
    """A headline: short, not a sentence, not a bare number. Latin headlines run longer in characters
    than Chinese ones carrying the same words."""
    stripped = line.strip()
    limit = 60 if CJK_CHAR.search(stripped) else 100
    if not stripped or len(stripped) > limit or len(_core(stripped)) < 2:
        return False
    if stripped.rstrip(_CLOSERS)[-1:] in "。.;；,，:：":
        return False
    return not stripped.replace(".", "").isdigit()


def guess_title(cleaned: str) -> str | None:
    """The headline of cleaned text: its first line when that line looks like a headline (a dateline
    printed above the headline is skipped)."""
    for line in cleaned.split("\n"):
        if line.strip() and not is_dateline(line):
            return line.strip().lstrip("#").strip() if is_title_like(line) else None
    return None
