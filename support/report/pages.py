"""The living doc's pages computed from the code at report time, not from the run: the step
catalogue (:mod:`support.steps_catalogue`), the argument coverage of the contract
(:func:`support.coverage.matrix`) and, when :mod:`support.hygiene` exists, its per-SUT
verdicts (``support.hygiene.summary()``, imported lazily: no module, no section).

:func:`collect` never raises: a page that cannot be computed (a step module that does not
import, a feature that does not parse, a broken exceptions file) is replaced by the reason,
shown on the page, so the report of a run is always written. Needs no lab.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import clean, clean_obj


@dataclass
class Pages:
    """What the code-derived sections show.

    - ``steps``: one dict per step definition, in module and line order::

        {"type": "given" | "when" | "then" | "step", "phrase": str, "module": "steps/x.py",
         "where": "steps/x.py:12", "doc": str, "unused": bool,
         "uses": [{"file": "features/…", "line": int, "text": str}, …]}   # one per feature line

      or None when not computed;
    - ``arguments``: :func:`support.coverage.matrix`'s structure, or None;
    - ``hygiene``: ``support.hygiene.summary()`` (``{sut: {"counts": {verdict: n},
      "tools": [line, …]}}``), or None when that module does not exist;
    - ``errors``: page name ("steps", "arguments", "hygiene") → why it could not be computed.
    """

    steps: list[dict[str, Any]] | None = None
    arguments: dict[str, Any] | None = None
    hygiene: dict[str, Any] | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _why(exc: BaseException) -> str:
    return clean(f"{type(exc).__name__}: {exc}")


def steps_page(steps_dir: Path | None = None, features_dir: Path | None = None) -> list[dict[str, Any]]:
    """The step catalogue as plain dicts (see :class:`Pages`); raises what
    :func:`support.steps_catalogue.catalogue` raises (ImportError of a step module, a parse
    error of a feature)."""
    from support import steps_catalogue as cat

    kwargs: dict[str, Any] = {}
    if steps_dir is not None:
        kwargs["steps_dir"] = Path(steps_dir)
    if features_dir is not None:
        kwargs["features_dir"] = Path(features_dir)
    out = []
    for entry in cat.catalogue(**kwargs):
        d = entry.definition
        uses: dict[tuple[str, int], str] = {}
        for u in entry.uses:                  # an Outline's line once, with its first row's text
            uses.setdefault((u.file, u.line), u.text)
        out.append({"type": d.type, "phrase": d.phrase, "module": f"{d.module.replace('.', '/')}.py",
                    "where": entry.where, "doc": d.doc, "unused": entry.unused,
                    "uses": [{"file": f, "line": n, "text": uses[f, n]} for f, n in sorted(uses)]})
    return clean_obj(out)


def arguments_page(features_dir: Path | None = None, exceptions_file: Path | None = None) -> dict[str, Any]:
    """:func:`support.coverage.matrix` (its arguments passed on when given); raises what it raises."""
    from support import coverage

    kwargs: dict[str, Any] = {}
    if features_dir is not None:
        kwargs["features_dir"] = Path(features_dir)
    if exceptions_file is not None:
        kwargs["exceptions_file"] = Path(exceptions_file)
    return clean_obj(coverage.matrix(**kwargs))


def hygiene_page() -> dict[str, Any] | None:
    """``support.hygiene.summary()``, or None when :mod:`support.hygiene` does not exist (or
    has no ``summary``). Imported only here, when a report is written."""
    try:
        if importlib.util.find_spec("support.hygiene") is None:
            return None
    except (ImportError, ValueError):
        return None
    module = importlib.import_module("support.hygiene")
    summary = getattr(module, "summary", None)
    if summary is None:
        return None
    return clean_obj(summary() or {})


def collect(steps_dir: Path | None = None, features_dir: Path | None = None,
            exceptions_file: Path | None = None) -> Pages:
    """Every code-derived page; the project's own ``steps/`` and ``features/`` by default.
    Never raises (see the module's docstring); takes about 1–3 s (the step modules are
    imported and every feature parsed)."""
    pages = Pages()
    try:
        pages.steps = steps_page(steps_dir, features_dir)
    except Exception as exc:  # noqa: BLE001 - the report must be written whatever the code holds
        pages.errors["steps"] = _why(exc)
    try:
        pages.arguments = arguments_page(features_dir, exceptions_file)
    except Exception as exc:  # noqa: BLE001
        pages.errors["arguments"] = _why(exc)
    try:
        pages.hygiene = hygiene_page()
    except Exception as exc:  # noqa: BLE001
        pages.errors["hygiene"] = _why(exc)
    return pages
