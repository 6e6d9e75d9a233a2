"""Character classes shared by the stages that need to tell Chinese text from other scripts."""

from __future__ import annotations

import re

# CJK unified ideographs (extension A and the basic block) and the compatibility ideographs.
CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Characters a line of East Asian text is made of, punctuation and full-width forms included: two lines
# of it join without a space (CJK radicals through the unified ideographs, compatibility ideographs,
# half- and full-width forms).
WIDE_CHARS = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_WIDE_CHAR = re.compile(f"[{WIDE_CHARS}]")


def is_wide(ch: str) -> bool:
    """Whether `ch` (one character) is East Asian text that joins its neighbours without a space."""
    return bool(_WIDE_CHAR.match(ch))
