"""Which procedure questions reach the procedure search at all: ``python -m benchmarks.search_routing``.

The search tables (:mod:`benchmarks.search`) score the search on each phrasing. In a conversation the
trained NLU decides first: a procedure intent (``ask_*``) or a bare answer (``inform``) goes to the
procedure answer and its search; ``nlu_fallback`` is answered only for an exact catalogue code
(``actions/routing.py``); ``out_of_scope``, ``feedback``, ``help`` and the rest get their own replies.
This prints, for the issue set and the blind sets, the share of phrasings each route receives, with the
latest trained model (``make train``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Dict, List

import yaml

from benchmarks.nlu_eval import _parse_all
from benchmarks.search import PHRASINGS, SETS

TO_SEARCH = {"ask_procedure", "ask_documents", "ask_fee", "ask_duration", "ask_place", "ask_online", "inform"}
COLUMNS = ["to the search", "nlu_fallback", "out_of_scope", "feedback", "help", "other"]


def route(intent: str) -> str:
    """The column a parsed intent falls in (the NLU's threshold already turned weak intents into a fallback)."""
    if intent in TO_SEARCH:
        return "to the search"
    return intent if intent in COLUMNS else "other"


def main() -> int:
    models = sorted((PHRASINGS.parents[2] / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        print("no trained model: run `make train` first")
        return 1
    named = [("all (issue set)", PHRASINGS)] + [(name, path) for name, path in SETS if "fresh 1" in name]
    texts: List[str] = []
    owner: List[str] = []
    for name, path in named:
        for case in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["cases"]:
            texts.append(case["text"])
            owner.append(name)
    parsed, _ = asyncio.run(_parse_all(models[-1], texts))
    counts: Dict[str, Counter] = {name: Counter() for name, _ in named}
    for name, result in zip(owner, parsed):
        counts[name][route(result["intent"]["name"])] += 1
    print(f"Where the NLU ({models[-1].name}) sends procedure questions (share of each set)\n")
    print("| set | n | " + " | ".join(COLUMNS) + " |\n|---|---|" + "---|" * len(COLUMNS))
    for name, c in counts.items():
        n = sum(c.values()) or 1
        print(f"| {name} | {sum(c.values())} | " + " | ".join(f"{c[k] / n:.2f}" for k in COLUMNS) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
