"""The suite's own per-scenario costs that bench/overhead.py found (issue 12), held down.

- A skipped (or ``pytest.xfail``-ed) scenario's traceback is never rendered: the report shows a
  failure's traceback only, and rendering one costs ~0.3 s (pytest parses the source file of
  every entry); with ~800 skips a run, that was ~4 min of a 19 min serial run.
- bench/breakdown.py, the measuring plugin, sorts time into its buckets.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FEATURE = """\
Feature: Outcomes
  Scenario: Skipped
    Given a step that skips

  Scenario: Xfailed
    Given a step that gives up

  Scenario: Failed
    Given a step that fails
"""

STEPS = """\
import pytest
from pytest_bdd import given, scenarios

scenarios("features")

@given("a step that skips")
def _():
    pytest.skip("not here")

@given("a step that gives up")
def _():
    pytest.xfail("known")

@given("a step that fails")
def _():
    assert False, "it failed"
"""

COUNTING = """\
import support.report.plugin as plugin

_real = plugin._short_repr
RENDERED = []

def _counting(excinfo):
    RENDERED.append(excinfo.typename)
    return _real(excinfo)

plugin._short_repr = _counting

def pytest_sessionfinish(session):
    import json, pathlib
    pathlib.Path("rendered.json").write_text(json.dumps(RENDERED))
"""


def test_only_a_failures_traceback_is_rendered_for_the_report(pytester: pytest.Pytester, monkeypatch):
    pytester.mkdir("features")
    (pytester.path / "features" / "o.feature").write_text(FEATURE)
    pytester.makepyfile(test_o=STEPS)
    pytester.makeconftest(COUNTING)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "support.report.plugin", "-p", "no:randomly", "-p", "no:cacheprovider",
                                           "--report", "out/index.html")
    result.assert_outcomes(failed=1, skipped=1, xfailed=1)
    rendered = json.loads((pytester.path / "rendered.json").read_text())
    # the failure: once for the report's full copy (makereport), once for its short one (_update)
    assert rendered and set(rendered) == {"AssertionError"}, rendered
    scenarios = {s["scenario"]: s for s in json.loads((pytester.path / "out" / "results.json").read_text())["scenarios"]}
    assert "it failed" in scenarios["Failed"]["traceback_full"] and scenarios["Failed"]["outcome"] == "failed"
    assert scenarios["Skipped"]["outcome"] == "skipped" and scenarios["Skipped"]["reason"] == "not here"
    assert scenarios["Xfailed"]["outcome"] == "xfailed"


def test_the_breakdown_sorts_time_into_buckets(pytester: pytest.Pytester, monkeypatch, tmp_path):
    pytester.makepyfile(test_b=textwrap.dedent("""\
        from support.sut.session import SutSession

        def test_drain():
            class S:
                _lock = __import__("threading").Lock()
                _thread = None
                reported = False
            SutSession.check_quiet(S(), drain=0)   # not running: returns at once, but is timed
        """))
    out = tmp_path / "breakdown.json"
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("RAPTORSPEC_BREAKDOWN", str(out))
    result = pytester.runpytest_subprocess("-p", "bench.breakdown", "-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    data = json.loads(out.read_text())
    assert data["items"] == 1 and data["buckets"]["sut_drain"]["n"] == 1
    assert data["wall_s"] >= data["unaccounted_s"] >= 0 and data["phases"]["protocol"] >= data["phases"]["call"]
