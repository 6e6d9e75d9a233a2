"""Chinese word segmentation: one jieba tokenizer (jieba's own dictionary) for every stage that needs words.

`index_terms` are the terms of the BM25 index, the same for indexing and querying; `words` is the plain
segmentation that question analysis works on.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import cache

import jieba

# Function words and question words carry no topic; keeping them only adds noise to BM25.
STOP_WORDS = frozenset(
    """的 了 是 在 和 与 及 或 等 也 都 就 而 但 并 把 被 对 从 向 为 以 于 上 中 下 个 之 其 这 那 有 没有 吗 呢 吧 啊
    什么 多少 几 哪 哪些 哪个 哪里 怎么 怎样 如何 为什么 是否 谁 何 何时 请问 一下
    a an the of to in on at for by with and or is are was were be been what which who whom whose when where why
    how many much does do did this that these those it its as from""".split()
)
_TERM = re.compile(r"\w", re.UNICODE)


@cache
def _tokenizer() -> jieba.Tokenizer:
    # jieba logs its dictionary loading at DEBUG through its own handler; keep it out of our structured logs.
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def words(text: str) -> list[str]:
    """jieba's default segmentation of `text`, whitespace tokens dropped; case and punctuation kept."""
    return [token for token in _tokenizer().lcut(text) if token.strip()]


def index_terms(text: str) -> list[str]:
    """The BM25 terms of `text`: NFKC, lower case, punctuation and stop words dropped.

    jieba's search mode emits a long word and its sub-words (高标准 → 高标, 标准, 高标准), so a query naming
    part of a compound still matches.
    """
    normalized = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for token in _tokenizer().cut_for_search(normalized):
        token = token.strip()
        if not token or token in STOP_WORDS or not _TERM.search(token):
            continue
        out.append(token)
    return out
