"""NLU parse time of one model: ``python benchmarks/parse_time.py MODEL.tar.gz [TEXT ...]``.

Run with ``PYTHONPATH`` set to the tree the model belongs to (its own NLU components), as
:mod:`benchmarks.turn_cost` does for both sides of its A/B. Prints the median parse time in
milliseconds over the texts (each parsed 30 times after a warm-up), as JSON. The parse runs as
that tree's served Rasa runs it: with ``integrations.rasa_process.install()`` where the tree has
it (the turn it is compared with is timed on that Rasa), with stock Rasa where it does not.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import List

DEFAULT_TEXTS = ["xin chào", "làm giấy khai sinh cần giấy tờ gì", "còn lệ phí thì sao?",
                 "tra cứu hồ sơ 000.00.15.H65-240312-0001", "5678", "cảm ơn nhé"]


async def median_parse_ms(model: str, texts: List[str], repeats: int = 30) -> float:
    """Median wall time of ``Agent.parse_message`` (the NLU graph only) over ``texts``."""
    from rasa.core.agent import Agent

    import integrations

    # Only the tree's own adjustments: the project's editable install would otherwise lend a tree
    # from before them this checkout's ``integrations.rasa_process``.
    if (Path(integrations.__path__[0]) / "rasa_process.py").is_file():
        from integrations.rasa_process import install

        install()
    agent = Agent.load(model)
    for text in texts:
        await agent.parse_message(text)
    times = []
    for _ in range(repeats):
        for text in texts:
            start = time.perf_counter()
            await agent.parse_message(text)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.ERROR)
    texts = sys.argv[2:] or DEFAULT_TEXTS
    print(json.dumps({"parse_median_ms": asyncio.run(median_parse_ms(sys.argv[1], texts))}))
