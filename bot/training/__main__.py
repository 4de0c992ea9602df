"""``python -m bot.training import|export|collect``: the training data between git and the database.

* ``import [DIR]``: replace the stored training data with ``DIR`` (default ``nlu_data/nlu``);
* ``export [DIR]``: write it back (deterministic; prints the content hash);
* ``collect``: bring the NLU inbox up to date with the tracker store.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from bot.db.session import session_scope
from bot.settings import ROOT, get_settings

NLU_DIR = ROOT / "nlu_data" / "nlu"


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    top = argparse.ArgumentParser(prog="python -m bot.training", description=__doc__.splitlines()[0])
    top.add_argument("command", choices=["import", "export", "collect"])
    top.add_argument("directory", nargs="?", type=Path, default=NLU_DIR)
    top.add_argument("--actor", default="cli", help="name written to the audit log")
    args = top.parse_args(argv)
    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with session_scope() as session:
        if args.command == "import":
            from bot.training.importer import TrainingImportError, import_nlu

            try:
                stats = import_nlu(session, args.directory, args.actor)
            except TrainingImportError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(json.dumps(stats.__dict__, ensure_ascii=False))
        elif args.command == "export":
            from bot.training.export import export_nlu

            print(export_nlu(session, args.directory))
        else:
            from bot.training.collect import collect_inbox

            print(json.dumps(collect_inbox(session).__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
