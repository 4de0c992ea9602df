"""Derive the compact national procedure catalogue from the national-database snapshot.

Source: the 5,652 ``data/Data_DVC/<code>.txt`` records of the public repository
``hdtruong802/Vietnam-AI-Innovation-Challenge-2026`` (facts rendered from the national
database of administrative procedures, dichvucong.gov.vn, frozen 2026-07-17). Only the
facts are used; no code of that repository is.

    python scripts/national_catalogue.py --source <bare git dir | folder> --out data/national/procedures.json.gz

Standard library only. The output is deterministic: records sorted by code, keys sorted,
gzip header without timestamp or file name, so a re-run gives the same bytes.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

from national.record import SNAPSHOT, SOURCE, RecordError, parse_record

REPOSITORY = "hdtruong802/Vietnam-AI-Innovation-Challenge-2026"
SUBDIR = "data/Data_DVC"
FORMAT = "national-catalogue/1"


# -- reading the snapshot ---------------------------------------------------------------

def read_source(source: Path) -> tuple[Iterator[tuple[str, str]], str | None]:
    """(path, text) of every record, from a bare git directory (HEAD) or a folder of .txt files."""
    if (source / "objects").is_dir() and (source / "HEAD").is_file():
        git = ["git", f"--git-dir={source}"]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
        names = subprocess.run([*git, "ls-tree", "-r", "--name-only", "HEAD", SUBDIR + "/"], check=True,
                               capture_output=True, text=True).stdout.split("\n")
        names = sorted(n for n in names if n.endswith(".txt"))
        batch = subprocess.run([*git, "cat-file", "--batch"], check=True, capture_output=True,
                               input="".join(f"HEAD:{n}\n" for n in names).encode())
        return _read_batch(names, batch.stdout), commit
    folder = source / SUBDIR if (source / SUBDIR).is_dir() else source
    files = sorted(folder.glob("*.txt"))
    return ((f"{SUBDIR}/{f.name}", f.read_text("utf-8")) for f in files), None


def _read_batch(names: list[str], data: bytes) -> Iterator[tuple[str, str]]:
    pos = 0
    for name in names:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        yield name, data[header_end + 1: header_end + 1 + size].decode("utf-8")
        pos = header_end + 1 + size + 1


def build(records: Iterable[tuple[str, str]], commit: str | None) -> dict[str, Any]:
    out = [parse_record(text, path) for path, text in records]
    codes = collections.Counter(r["code"] for r in out)
    if dupes := [c for c, n in codes.items() if n > 1]:
        raise RecordError(f"duplicate codes: {dupes[:5]}")
    return {
        "format": FORMAT,
        "provenance": {"commit": commit, "path": SUBDIR, "repository": REPOSITORY, "snapshot": SNAPSHOT,
                       "source": SOURCE, "licence": "facts from state-published decisions (Law on IP art. 15)"},
        "procedures": sorted(out, key=lambda r: r["code"]),
    }


def dump(catalogue: dict[str, Any], out: Path) -> bytes:
    raw = json.dumps(catalogue, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    if out.suffix != ".gz":
        return raw
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    return buf.getvalue()


def summary(catalogue: dict[str, Any]) -> dict[str, Any]:
    procs = catalogue["procedures"]
    flags = collections.Counter(f for r in procs for f in r["flags"])
    channels = [c for r in procs for c in r["channels"]]
    fees = [f for c in channels for f in c["fees"]]
    return {
        "records": len(procs),
        "by_level": dict(sorted(collections.Counter(r["level"] or "unknown" for r in procs).items())),
        "channel_entries": len(channels),
        "durations_without_number": sum(c["duration"]["value"] is None for c in channels),
        "durations_unit_other": sum(c["duration"]["unit"] == "OTHER" for c in channels),
        "durations_unit_other_per_mode": sum(len(c["modes"]) for c in channels if c["duration"]["unit"] == "OTHER"),
        "fee_items": len(fees),
        "fees_by_status": dict(sorted(collections.Counter(f["status"] for f in fees).items())),
        "fees_doubtful_reasons": dict(sorted(collections.Counter(d for f in fees for d in f.get("doubt", [])).items())),
        "records_by_flag": dict(sorted(flags.items())),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", required=True, type=Path, help="bare git dir of the repository, or a folder of .txt")
    ap.add_argument("--out", required=True, type=Path, help="output .json or .json.gz")
    args = ap.parse_args(argv)
    records, commit = read_source(args.source)
    try:
        catalogue = build(records, commit)
    except RecordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    data = dump(catalogue, args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    report = summary(catalogue)
    report["output_bytes"] = len(data)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
