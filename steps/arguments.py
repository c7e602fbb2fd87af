"""Argument coverage at run time: the ``@arg:<argument>`` tag, and the check that a scenario
claiming an argument did send it to the server under test (see support/coverage.py).

This module is a plugin (conftest.py loads every step module), so it needs no change
elsewhere: its ``pytest_bdd_apply_tag`` runs before support.plugin's (both ``tryfirst``;
pluggy calls the later-registered first) and handles only ``arg:`` tags, leaving every other
tag to support.plugin; an ``@arg:`` naming no argument of any tool is marked as an unknown
tag, which fails collection there with its file and line.
(PYTEST_DONT_REWRITE: the checks carry their own messages.)
"""
from __future__ import annotations

from typing import Any

import pytest

from support import coverage
from support.errors import UnsentArgument

_STEPS_DONE = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "arg(name): an argument of the scenario's tool its Then checks in "
                                       "Velociraptor; from @arg:<name> (support/coverage.py)")


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function: Any) -> bool | None:
    """``@arg:<name>`` → ``mark.arg(name=…)``; any other tag → None (support.plugin's turn)."""
    if not tag.startswith(coverage.TAG_PREFIX):
        return None
    if coverage.is_arg_tag(tag):
        pytest.mark.arg(name=tag[len(coverage.TAG_PREFIX):])(function)
    else:
        pytest.mark.raptorspec_unknown_tag(tag=tag)(function)
    return True


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    request.node.stash[_STEPS_DONE] = 0


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any) -> None:
    request.node.stash[_STEPS_DONE] = request.node.stash.get(_STEPS_DONE, 0) + 1


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """After a scenario that ran every step: each ``@arg:`` it claims was sent (with a value
    other than the contract's default) to its tool; else :class:`UnsentArgument`."""
    claimed = sorted({m.kwargs["name"] for m in request.node.iter_markers("arg")})
    if not claimed or request.node.stash.get(_STEPS_DONE, 0) < len(scenario.steps):
        return
    tools = [m.kwargs["name"] for m in request.node.iter_markers("tool")]
    ledger = request.getfixturevalue("ledger")
    wrong = coverage.unsent_claims(claimed, tools, ledger.calls)
    if wrong:
        raise UnsentArgument(f"Scenario {scenario.name!r} ({feature.rel_filename}:{scenario.line_number}) claims "
                             f"arguments it does not exercise: " + "; ".join(wrong))
