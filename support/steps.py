"""``python -m support.steps``: the step catalogue, generated from the code.

    python -m support.steps                 every step: phrase, module:line, docstring, uses
    python -m support.steps --unused        only steps no feature uses
    python -m support.steps --find TEXT     which definition binds a step written TEXT
    python -m support.steps --check         exit 1 when a feature line is bound by no step or by two

(A module, not a package: the step definitions themselves are the top-level ``steps/``.)
"""
from __future__ import annotations

import argparse
import sys

from support import steps_catalogue as cat


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m support.steps", description=__doc__.splitlines()[0])
    ap.add_argument("--unused", action="store_true", help="only steps no feature uses")
    ap.add_argument("--find", metavar="TEXT", help="the definition that binds a step written TEXT")
    ap.add_argument("--check", action="store_true", help="fail on unbound or ambiguous feature steps")
    args = ap.parse_args(argv)
    if args.find:
        type_, phrase = cat.split_keyword(args.find)  # "When I …" as copied from a feature
        found = cat.find(phrase, type_)
        for d in found:
            print(f"{d.type.capitalize()} {d.phrase}\n    {d.module.replace('.', '/')}.py:{d.line}  {d.doc}")
        if not found:
            print(f"No step binds {args.find!r}.\n{cat.suggest(phrase, type_)}")
        return 0 if len(found) == 1 else 1
    if args.check:
        found = cat.problems()
        print("\n".join(found) or "every feature step is bound by exactly one step definition")
        return 1 if found else 0
    entries = cat.catalogue()
    print(cat.render(entries, unused_only=args.unused))
    unused = sum(e.unused for e in entries)
    print(f"\n{len(entries)} step definitions, {unused} unused", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
