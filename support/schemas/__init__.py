"""JSON Schemas for the rows of the artifacts the spec collects (one ``<name>.json`` each).

``load("linux-user")`` returns a schema; :func:`field_errors` checks every row against it and
returns one line per wrong field (never stopping at the first), for pytest-check to report.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Iterable

from jsonschema import Draft202012Validator

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.json"))


@cache
def load(name: str) -> dict[str, Any]:
    path = HERE / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no row schema {name!r} in {HERE} (known: {', '.join(names())})")
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return schema


def check_rows(rows: Iterable[dict[str, Any]], name: str, where: str) -> int:
    """Report every wrong field through pytest-check (the scenario goes on, all are listed);
    return how many were wrong."""
    from pytest_check import check

    problems = field_errors(rows, name)
    for problem in problems:
        check.fail(f"{where}: {problem}")
    return len(problems)


def field_errors(rows: Iterable[dict[str, Any]], name: str) -> list[str]:
    """One line per (row, field) that breaks schema ``name``: where, what, and the value seen."""
    validator = Draft202012Validator(load(name))
    out = []
    for i, row in enumerate(rows):
        for err in sorted(validator.iter_errors(row), key=lambda e: list(map(str, e.absolute_path))):
            where = "/".join(map(str, err.absolute_path)) or "(row)"
            out.append(f"row {i} field {where}: {err.message}")
    return out
