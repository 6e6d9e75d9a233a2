"""cmrc2018-trial in traditional script, as Taiwan writes it: passages and questions through OpenCC `s2twp`.

The answer figures for traditional-script text in the top-level README come from this copy: the same passages
and questions, so a figure on it differs from the simplified one only by the script (and the phrases `s2twp`
replaces with their Taiwanese usage). Gold answers are converted the same way and still occur in their
converted passages.

    .venv/bin/python evals/cmrc2018/traditional.py ../shared/datasets/cmrc2018-trial /tmp/cmrc-trad
    .venv/bin/qa ingest /tmp/cmrc-trad/corpus --index-dir /tmp/cmrc-trad-idx
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import opencc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a folder with corpus/*.txt and questions.jsonl")
    parser.add_argument("dest", type=Path, help="where the converted corpus/ and questions.jsonl go")
    args = parser.parse_args()
    convert = opencc.OpenCC("s2twp").convert
    (args.dest / "corpus").mkdir(parents=True, exist_ok=True)
    passages = sorted((args.source / "corpus").glob("*.txt"))
    for path in passages:
        (args.dest / "corpus" / path.name).write_text(convert(path.read_text(encoding="utf-8")), encoding="utf-8")
    lines = []
    for line in (args.source / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        item["question"] = convert(item["question"])
        item["answers"] = [convert(a) for a in item.get("answers", [])]
        lines.append(json.dumps(item, ensure_ascii=False))
    (args.dest / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(passages)} passages and {len(lines)} questions written to {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
