"""Full-turn latency: message in → reply out through the REST channel, actions and database included.

Scenario per simulated citizen: greeting, a documents question, a follow-up about the
fee, a dossier lookup (code, then phone ending) and thanks. Run at 1 and at 20
concurrent citizens, on the seed data and on a PostgreSQL database with 1,000,000
generated dossiers. Every database here is created for the run and dropped after.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Tuple

import httpx

from benchmarks.dossier_data import code_for, generate, last4_for, time_lookups
from bot.cli.db import db_init
from tests.support.assistant import running_assistant
from tests.support.postgres import scratch_postgres

DEMO = ("000.00.15.H65-240312-0001", "5678")


def script(code: str, last4: str) -> List[str]:
    """The messages of one simulated citizen."""
    return ["xin chào", "làm giấy khai sinh cần giấy tờ gì", "còn lệ phí thì sao?",
            f"tra cứu hồ sơ {code}", last4, "cảm ơn nhé"]


async def _citizen(client: httpx.AsyncClient, url: str, messages: List[str], timings: List[float]) -> None:
    sender = f"bench-{uuid.uuid4().hex[:12]}"
    for message in messages:
        t0 = time.perf_counter()
        resp = await client.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message})
        resp.raise_for_status()
        assert resp.json(), f"no reply to {message!r}"
        timings.append((time.perf_counter() - t0) * 1000)


async def _load(url: str, users: int, rounds: int, dossiers: List[Tuple[str, str]]) -> Dict[str, float]:
    timings: List[float] = []
    rng = random.Random(users)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as client:
        for _ in range(rounds):
            await asyncio.gather(*[_citizen(client, url, script(*rng.choice(dossiers)), timings)
                                   for _ in range(users)])
    elapsed = time.perf_counter() - started
    timings.sort()
    return {"turns": len(timings), "median_ms": statistics.median(timings),
            "p95_ms": timings[int(0.95 * (len(timings) - 1))], "turns_per_s": len(timings) / elapsed}


def _measure(label: str, database_url: str, dossiers: List[Tuple[str, str]]) -> List[Dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, running_assistant(database_url, Path(tmp)) as url:
        asyncio.run(_load(url, 1, 1, dossiers))  # warm-up
        for users, rounds in ((1, 5), (20, 2)):
            rows.append({"data": label, "users": users, **asyncio.run(_load(url, users, rounds, dossiers))})
    return rows


def run(large: int = 1_000_000) -> Dict[str, Any]:
    """Rows of turn latency and the dossier lookup timing on the large database."""
    rows: List[Dict[str, Any]] = []
    with scratch_postgres("bench", migrate=False) as url:
        db_init(url)
        rows += _measure("seed data (PostgreSQL)", url, [DEMO])
    with scratch_postgres("bench", migrate=False) as url:
        db_init(url)
        gen_s = generate(url, large)
        rng = random.Random(1)
        sample = [(code_for(i), last4_for(i)) for i in (rng.randrange(large) for _ in range(200))]
        lookup = time_lookups(url, large)
        rows += _measure(f"{large:,} dossiers (PostgreSQL)", url, sample)
    return {"rows": rows, "generate_s": gen_s, "lookup": lookup, "large": large}


def print_tables(result: Dict[str, Any]) -> None:
    """Markdown tables."""
    rows = result["rows"]
    base = rows[0]["median_ms"]
    print("\n### Full turn through the REST channel (actions and database included)\n")
    print("| data | concurrent users | turns | median | p95 | median vs seed/1 user | turns/s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['data']} | {r['users']} | {r['turns']} | {r['median_ms']:.0f} ms | {r['p95_ms']:.0f} ms "
              f"| {r['median_ms'] / base:.2f}× | {r['turns_per_s']:.1f} |")
    lk = result["lookup"]
    print(f"\nDossier lookup by code on {result['large']:,} dossiers (generated in {result['generate_s']:.0f} s): "
          f"median {lk['median_ms']:.2f} ms, p95 {lk['p95_ms']:.2f} ms; plan: `{lk['plan']}`")


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    print_tables(run())
