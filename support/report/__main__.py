"""``python -m support.report``: tools on written reports.

- ``merge OUT_DIR IN_DIR...``: one index.html and results.json from several runs
  (each IN_DIR holds a results.json, or is one).
- ``compare PREVIOUS CURRENT``: what changed between two results.json (or their folders).

Exit status: 0 done, 2 bad input (unreadable or format-1 results.json).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .compare import compare_files
from .merge import load, merge, write


def _results(path: str) -> Path:
    p = Path(path)
    return p / "results.json" if p.is_dir() else p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m support.report", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("merge", help="merge several runs' results.json into one report")
    m.add_argument("out_dir")
    m.add_argument("in_dirs", nargs="+")
    c = sub.add_parser("compare", help="what changed between two runs")
    c.add_argument("previous")
    c.add_argument("current")
    args = parser.parse_args(argv)
    try:
        if args.command == "merge":
            runs = [load(Path(p)) for p in args.in_dirs]
            page = write(merge(runs, command="python -m support.report merge " + " ".join(args.in_dirs)),
                         Path(args.out_dir))
            print(f"merged {len(runs)} runs ({sum(len(r.runs) for r in runs)} scenario runs) into {page}")
        else:
            current = json.loads(_results(args.current).read_text(encoding="utf-8"))
            changes = compare_files(_results(args.previous), current)
            print(f"compared with {changes.previous}")
            print("\n".join(changes.terminal_lines()))
    except (OSError, ValueError) as exc:
        print(f"python -m support.report {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
