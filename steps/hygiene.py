"""Hygiene over every tool a server under test lists (support/hygiene.py). The scenarios are
tagged ``@tool:server:hygiene`` (a row every SUT has, support/contract.py SERVER_ROWS), so a
profile records what they find as ``"server:hygiene::<scenario title>"`` known defects.
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)
"""
from __future__ import annotations

from pathlib import Path

from pytest_bdd import parsers, then, when

from support import hygiene


def _judged(sut, problems, what):
    """Fail with one line per tool that fails the aspect."""
    assert not problems, f"SUT {sut.name}: {len(problems)} tool(s) {what}:\n" + "\n".join(v.line for v in problems)


@when("I call every tool the server under test lists once, with arguments its schema allows",
      target_fixture="verdicts")
def _(sut, ledger, lab):
    """Calls each listed tool once (deployment tools skipped); the verdicts are shared by the run's
    hygiene scenarios, across xdist workers too (through the lab's ``hygiene/`` folder)."""
    return hygiene.sweep(sut, ledger, shared=Path(lab.dir) / "hygiene")


@then("no tool answers with internal error text")
def _(sut, verdicts):
    """No answer carries a traceback or a Python exception name."""
    _judged(sut, hygiene.failing(verdicts, "internal error text"), "answered with internal error text")


@then("no tool reports an error as success")
def _(sut, verdicts):
    """No answer with isError false carries an error body."""
    _judged(sut, hygiene.failing(verdicts, "error reported as success"), "reported an error as success")


@then(parsers.parse("every tool answers within {seconds:d} seconds"))
def _(sut, verdicts, seconds):
    """No call hung past the bound (nor took longer than the seconds given)."""
    slow = [v for v in verdicts if v.verdict == "hang" or (v.seconds or 0) > seconds]
    _judged(sut, slow, f"gave no answer within {seconds} s")


@then("no tool writes anything but protocol on its output, nor kills the server")
def _(sut, verdicts):
    """No call corrupted the stdout stream or ended the server process."""
    _judged(sut, hygiene.failing(verdicts, "non-protocol output", "crash"),
            "broke the protocol stream or the process")
