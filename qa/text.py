"""Character classes shared by the stages that need to tell Chinese text from other scripts."""

from __future__ import annotations

import re

# CJK unified ideographs (extension A and the basic block) and the compatibility ideographs.
CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
