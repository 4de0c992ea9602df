"""Answer length per aspect over the whole catalogue: what a citizen sees on a phone.

For every procedure and aspect, the answer is rendered with the real domain texts,
once as the assistant sends it (short: the main legal instruments, the first documents)
and once with nothing left out (what it sent before), in lines and characters.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml
from sqlalchemy import select

from actions.answers import SCREEN_COLUMNS, render_answer, screen_lines
from bot.catalogue.importer import import_catalogue
from bot.catalogue.service import CatalogueService
from bot.db.models import Procedure
from bot.db.session import session_scope, upgrade
from bot.settings import ROOT

ASPECTS = ("documents", "fee", "duration", "place", "online", "overview")


def domain() -> Dict[str, Any]:
    """Responses of the real domain."""
    responses: Dict[str, Any] = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses.update(yaml.safe_load(path.read_text("utf-8")).get("responses") or {})
    return {"responses": responses}


def text_of(dom: Dict[str, Any], proc: Procedure, aspect: str, full: bool) -> str:
    """The answer's text as a channel shows it."""
    response, values = render_answer(dom, proc, aspect, full=full)
    if full:  # before: every legal instrument in the line
        values["legal_basis"] = "; ".join(proc.legal_basis or [])
    template = dom["responses"][response][0]["text"]
    return template.format(**values)


def measure() -> List[Tuple[str, List[int], List[int], List[int], List[int]]]:
    """(aspect, screen lines, chars, screen lines before, chars before) over the catalogue."""
    dom = domain()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'answers.db'}"
        upgrade(url)
        rows = []
        with session_scope(url) as session:
            import_catalogue(session, ROOT / "data" / "procedures.json")
            service = CatalogueService(session)
            procs = [service.get(code) for code in session.execute(select(Procedure.code)).scalars()]
            for aspect in ASPECTS:
                now = [text_of(dom, p, aspect, False) for p in procs]
                before = [text_of(dom, p, aspect, True) for p in procs]
                rows.append((aspect, [screen_lines(t) for t in now], [len(t) for t in now],
                             [screen_lines(t) for t in before], [len(t) for t in before]))
    return rows


def main() -> None:
    """Print the table."""
    rows = measure()
    print(f"Answers for {len(rows[0][1])} procedures x {len(ASPECTS)} aspects, rendered with the domain texts; "
          f"screen lines on a phone of {SCREEN_COLUMNS} characters a line.\n")
    print("| aspect | screen lines median / max | characters median / max | before: screen lines median / max "
          "| before: characters median / max | characters, before ÷ now (median) |")
    print("|---|---|---|---|---|---|")
    for aspect, lines, chars, lines_b, chars_b in rows:
        ratio = statistics.median(b / n for b, n in zip(chars_b, chars))
        print(f"| {aspect} | {statistics.median(lines):.0f} / {max(lines)} | {statistics.median(chars):.0f} / "
              f"{max(chars)} | {statistics.median(lines_b):.0f} / {max(lines_b)} | "
              f"{statistics.median(chars_b):.0f} / {max(chars_b)} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
