"""Chinese-aware terms for the BM25 index: jieba search-mode segmentation, shared by indexing and querying.

Search mode emits a long word and its sub-words (房寺镇 → 房寺, 寺镇, 房寺镇), so a query naming part of a
compound still matches. FTS5 then ranks with its built-in BM25 over these space-joined terms.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from functools import cache

import jieba

# Function words and question words carry no topic; keeping them only adds noise to BM25.
_STOP_WORDS = frozenset(
    """的 了 是 在 和 与 及 或 等 也 都 就 而 但 并 把 被 对 从 向 为 以 于 上 中 下 个 之 其 这 那 有 没有 吗 呢 吧 啊
    什么 多少 几 哪 哪些 哪个 哪里 怎么 怎样 如何 为什么 是否 谁 何 何时 请问 一下
    a an the of to in on at for by with and or is are was were be been what which who whom whose when where why
    how many much does do did this that these those it its as from""".split()
)
_TERM = re.compile(r"\w", re.UNICODE)


@cache
def _segmenter() -> jieba.Tokenizer:
    # jieba logs its dictionary loading at DEBUG through its own handler; keep it out of our structured logs.
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def terms(text: str) -> list[str]:
    """Segment `text` into lower-cased index terms, dropping punctuation and stop words."""
    normalized = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for token in _segmenter().cut_for_search(normalized):
        token = token.strip()
        if not token or token in _STOP_WORDS or not _TERM.search(token):
            continue
        out.append(token)
    return out


def index_text(text: str) -> str:
    """The space-joined term string stored in the FTS5 table for a chunk."""
    return " ".join(terms(text))


def match_expression(query_terms: Iterable[str]) -> str | None:
    """An FTS5 MATCH expression OR-ing the quoted terms; None when the query has no usable term."""
    unique = list(dict.fromkeys(query_terms))
    if not unique:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in unique)
