"""Command line: database set-up and imports, training, serving, chatting, conversation tests.

Run ``python -m bot.cli --help`` (the Makefile wraps the common commands).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

from bot.settings import ROOT, get_settings


def parser() -> argparse.ArgumentParser:
    """The sub-commands and their options."""
    top = argparse.ArgumentParser(prog="citizen-bot", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="cmd", required=True)
    sub.add_parser("db-init", help="migrate and seed the database")
    p = sub.add_parser("import-catalogue", help="import a procedure catalogue JSON export")
    p.add_argument("path", type=Path)
    p.add_argument("--prune", action="store_true", help="delete procedures missing from the export")
    p = sub.add_parser("import-dossiers", help="import dossiers from a JSON file")
    p.add_argument("path", type=Path)
    sub.add_parser("gen-lookups", help="regenerate nlu_data/lookups from the catalogue")
    p = sub.add_parser("train", help="train if data/config changed")
    p.add_argument("--force", action="store_true")
    sub.add_parser("serve", help="run the assistant")
    p = sub.add_parser("chat", help="chat in the terminal with the running assistant")
    p.add_argument("--url")
    sub.add_parser("test-stories", help="run conversation tests")
    p = sub.add_parser("create-staff", help="create a staff account of the console (the first admin, say)")
    p.add_argument("username")
    p.add_argument("--role", default="admin", choices=["admin", "editor", "trainer", "agent", "analyst"])
    p.add_argument("--name", default="", help="display name")
    p.add_argument("--random-password", action="store_true", help="generate the password and print it once")
    p = sub.add_parser("telegram-webhook", help="register the Telegram webhook (with its secret token); "
                                                "same as `python -m integrations.telegram ACTION`")
    p.add_argument("action", nargs="?", default="set-webhook",
                   choices=["set-webhook", "delete-webhook", "webhook-info"])
    return top


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.cmd == "db-init":
        from bot.cli.db import db_init

        print(json.dumps(db_init(), ensure_ascii=False))
    elif args.cmd == "import-catalogue":
        from bot.cli.db import import_catalogue_cmd

        return import_catalogue_cmd(args.path, args.prune)
    elif args.cmd == "import-dossiers":
        from bot.cli.db import import_dossiers_cmd

        return import_dossiers_cmd(args.path)
    elif args.cmd == "gen-lookups":
        from bot.cli.nlu_data import generate_lookups

        print("changed" if generate_lookups() else "up to date")
    elif args.cmd == "train":
        from bot.cli.train import train

        print(train(args.force))
    elif args.cmd == "serve":
        from bot.cli.serve import serve

        return serve()
    elif args.cmd == "chat":
        from bot.cli.chat import chat

        chat(args.url)
    elif args.cmd == "test-stories":
        from bot.cli.stories import test_stories

        return test_stories()
    elif args.cmd == "create-staff":
        from bot.cli.staff import create_staff_cmd

        return create_staff_cmd(args.username, args.role, args.name, "" if args.random_password else None)
    elif args.cmd == "telegram-webhook":
        return subprocess.call([sys.executable, "-m", "integrations.telegram", args.action], cwd=ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
