"""Failures in the suite's own words: no assertion introspection, tracebacks from our code down.

pytest rewrites the ``assert`` statements of every module it loads as a plugin (the step
modules are ``pytest_plugins``, so ``register_assert_rewrite`` cannot leave them out), and a
rewritten ``assert cond, message`` raises ``AssertionError("message\\nassert …\\n +  where …")``.
Our assertions carry their own message, so for a scenario step the introspection after it is
dropped (:func:`own_message`). A bare ``assert`` keeps its introspection (it has nothing else to
say) without the ``+ where`` lines, which repeat whole objects' reprs.

A failure's traceback runs through pytest's runner, pluggy's callers, pytest's logging,
capture and skipping plugins, pytest-bdd's scenario runner and fixture caller before it
reaches a step; :func:`our_entries` keeps the step and what it called.
"""
from __future__ import annotations

import os
import re
import sys
from types import TracebackType

import _pytest
import pluggy
import pytest_bdd
from _pytest._code import ExceptionInfo, Traceback

# Where pytest, pluggy and pytest-bdd live: frames there are machinery, not the suite's code.
_MACHINERY = tuple(
    os.path.dirname(os.path.abspath(m.__file__)) + os.sep
    for m in (_pytest, pluggy, pytest_bdd, sys.modules.get("pytest", _pytest))
    if getattr(m, "__file__", None)
)
_WHERE = re.compile(r"^\s*\+\s+where\b")


def _raising_globals(exc: BaseException) -> dict:
    tb: TracebackType | None = exc.__traceback__
    if tb is None:
        return {}
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals


def own_message(exc: BaseException) -> str | None:
    """The message of an assertion without pytest's introspection, or None to keep it as is.

    Only for an ``AssertionError`` raised in a module pytest rewrote (its globals hold
    ``@pytest_ar``). ``assert cond, "message"`` → ``"message"``; a bare ``assert`` → its
    ``assert …`` explanation without the ``+ where …`` lines.
    """
    if not isinstance(exc, AssertionError) or len(exc.args) != 1 or not isinstance(exc.args[0], str):
        return None
    if "@pytest_ar" not in _raising_globals(exc):
        return None
    lines = exc.args[0].split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("assert ")]
    if not starts:
        return None
    cut = starts[-1]
    if cut > 0:
        return "\n".join(lines[:cut]).rstrip()
    kept = [line for line in lines if not _WHERE.match(line)]
    return "\n".join(kept).rstrip() if len(kept) != len(lines) else None


def is_machinery(path: str | os.PathLike[str]) -> bool:
    """True for a frame in pytest, pluggy or pytest-bdd."""
    return os.path.abspath(str(path)).startswith(_MACHINERY)


def our_entries(excinfo: ExceptionInfo[BaseException]) -> Traceback | None:
    """The traceback without pytest's, pluggy's and pytest-bdd's frames, and without frames
    that set ``__tracebackhide__``; None when nothing would be left (the failure is the
    machinery's own, e.g. a step with no definition: keep the whole traceback then)."""
    kept = [entry for entry in excinfo.traceback
            if not is_machinery(entry.path) and not entry.ishidden(excinfo)]
    if not kept or len(kept) == len(excinfo.traceback):
        return None
    return Traceback(kept)
