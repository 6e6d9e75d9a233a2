"""Chinese word segmentation: one tokenizer (rjieba, the Rust port of jieba with jieba's dictionary) for every
stage that needs words.

`index_terms` are the terms of the BM25 index, the same for indexing and querying; `words` is the plain
segmentation that question analysis works on. rjieba segments ~17x faster than Python jieba with no start-up
cost; its default mode gives jieba's tokens, its search mode differs on some compounds (measured on retrieval
quality in bench/retrieval_quality.py). The `jieba` package stays installed: Milvus Lite's analyzer needs it.
"""

from __future__ import annotations

import re

import rjieba

from qa.text import fold

# Function words and question words carry no topic; keeping them only adds noise to BM25.
STOP_WORDS = frozenset(
    """的 了 是 在 和 与 及 或 等 也 都 就 而 但 并 把 被 对 从 向 为 以 于 上 中 下 个 之 其 这 那 有 没有 吗 呢 吧 啊
    什么 多少 几 哪 哪些 哪个 哪里 怎么 怎样 如何 为什么 是否 谁 何 何时 请问 一下
    a an the of to in on at for by with and or is are was were be been what which who whom whose when where why
    how many much does do did this that these those it its as from""".split()
)
_TERM = re.compile(r"\w", re.UNICODE)

# Stamped on every collection's keyword index: when the way terms are made changes, this changes, and a
# collection whose stamp differs is re-tokenized from its stored text when opened. Part of it: the segmenter
# and its version, the folding (NFKC, lower case, traditional → simplified), the stop words.
TOKENIZER_VERSION = "rjieba-0.2.2+fold-t2s+stop-1"


def words(text: str) -> list[str]:
    """The default segmentation of `text`, whitespace tokens dropped; case and punctuation kept."""
    return [token for token in rjieba.cut(text) if token.strip()]


def tagged(text: str) -> list[tuple[int, int, str]]:
    """(start, end, part-of-speech flag) of each word of `text`, by jieba's tagger (rjieba's port): what tells a
    name (nr, ns, nt, nz) or a numeral (m) among the words."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    for word, flag in rjieba.tag(text):
        start = text.find(word, pos)
        if start < 0:
            continue
        pos = start + len(word)
        out.append((start, pos, flag))
    return out


def index_terms(text: str) -> list[str]:
    """The BM25 terms of `text`: folded (`qa.text.fold`: NFKC, lower case, traditional script simplified, so a
    question in either script matches text in either), punctuation and stop words dropped.

    Search mode emits a long word and its sub-words (高标准 → 高标, 标准, 高标准), so a query naming part of a
    compound still matches.
    """
    out: list[str] = []
    for token in rjieba.cut_for_search(fold(text)):
        token = token.strip()
        if not token or token in STOP_WORDS or not _TERM.search(token):
            continue
        out.append(token)
    return out
