"""The BM25 index's FTS5 side: term strings stored for chunks and MATCH expressions for queries.

The terms themselves come from `qa.segment.index_terms`, the same for indexing and querying; FTS5 ranks
with its built-in BM25 over these space-joined terms.
"""

from __future__ import annotations

from collections.abc import Iterable

from qa.segment import index_terms

# the query side uses the same terms; `terms` is the name the store code and its tests know them by
terms = index_terms

__all__ = ["index_text", "match_expression", "terms"]


def index_text(text: str) -> str:
    """The space-joined term string stored in the FTS5 table for a chunk."""
    return " ".join(index_terms(text))


def match_expression(query_terms: Iterable[str]) -> str | None:
    """An FTS5 MATCH expression OR-ing the quoted terms; None when the query has no usable term."""
    unique = list(dict.fromkeys(query_terms))
    if not unique:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in unique)
