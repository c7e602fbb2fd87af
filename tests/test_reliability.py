"""bench/reliability.py on a tiny fake suite (never the real spec: that is the lead's N=5, K=3
run): a test whose outcome alternates between runs is reported flaky with its outcomes in run
order, stable ones are not, random-order runs carry their seeds, and the JSON holds wall times."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import reliability

FAKE_SUITE = '''
import os
from pathlib import Path

import pytest

COUNTER = Path(__file__).with_name("runs.txt")


def test_stable():
    pass


def test_alternates():
    n = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(n + 1))
    assert n % 2 == 0, f"run {n} fails"


@pytest.mark.skip(reason="always skipped")
def test_always_skipped():
    pass


@pytest.mark.xfail(strict=True, reason="always fails")
def test_known_defect():
    assert False
'''


def test_a_flip_flopping_test_is_flaky_and_the_rest_is_stable(tmp_path, monkeypatch, capsys):
    (tmp_path / "test_fake.py").write_text(FAKE_SUITE)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    out = tmp_path / "reliability.json"
    status = reliability.main(["--runs", "2", "--orders", "1", "--seed", "7", "--out", str(out),
                               "--cwd", str(tmp_path), "--", "test_fake.py", "-p", "no:cacheprovider"])
    assert status == 1
    result = json.loads(out.read_text())
    assert [r["order"] for r in result["runs"]] == ["file", "file", "random"]
    assert result["runs"][0]["seed"] is None and isinstance(result["runs"][2]["seed"], int)
    assert f"--randomly-seed={result['runs'][2]['seed']}" in result["runs"][2]["command"]
    assert all(r["wall_s"] > 0 for r in result["runs"]) and result["wall_s"]["total"] > 0
    assert result["tests"] == 4 and result["stable"] == 3
    assert result["flaky"] == [{"id": "test_fake::test_alternates", "outcomes": ["passed", "failed", "passed"]}]
    assert result["runs"][0]["counts"] == {"passed": 2, "skipped": 1, "xfailed": 1}
    assert "FLAKY test_fake::test_alternates: passed / failed / passed" in capsys.readouterr().out


def test_an_id_missing_from_a_run_is_flaky():
    assert reliability.compare([{"a": "passed", "b": "passed"}, {"a": "passed"}]) == (
        2, 1, [{"id": "b", "outcomes": ["passed", "absent"]}])


def test_a_run_without_junit_output_has_no_outcomes(tmp_path):
    assert reliability.outcomes_of(tmp_path / "missing.xml") == {}


# ---------------------------------------------------------------- parallel runs (issue 12)

BDD_FEATURE = """\
Feature: Parallel
  Scenario Outline: Scenario <n>
    Given scenario <n> runs

    Examples:
      | n |
""" + "".join(f"      | {n} |\n" for n in range(4))

BDD_STEPS = """\
from pathlib import Path
from pytest_bdd import given, parsers, scenarios

scenarios("features")

@given(parsers.parse("scenario {n:d} runs"))
def _(n):
    flag = Path(__file__).with_name("fail-once")
    if n == 2 and flag.exists():
        flag.unlink()
        assert False, "scenario 2 fails this once"
"""


def test_parallel_runs_are_checked_for_exit_audit_and_a_whole_report(tmp_path, monkeypatch, capsys):
    root = Path(reliability.__file__).resolve().parent.parent
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "p.feature").write_text(BDD_FEATURE)
    (tmp_path / "test_p.py").write_text(BDD_STEPS)
    (tmp_path / "fail-once").write_text("")           # the first run (-n 0, serial) has one red scenario
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(root))
    out = tmp_path / "reliability.json"
    status = reliability.main(["--runs", "1", "--orders", "0", "--workers", "0", "2", "2", "--out", str(out),
                               "--cwd", str(tmp_path), "--", "test_p.py", "-p", "support.report.plugin",
                               "-p", "no:cacheprovider", "--report", "none"])
    assert status == 1
    result = json.loads(out.read_text())
    runs = result["runs"]
    assert [r["workers"] for r in runs] == [0, 2, 2]
    assert ["-n", "2"] == runs[1]["command"][-5:-3] and "none" not in runs[1]["command"]
    assert [r["exit_code"] for r in runs] == [1, 0, 0] and [r["green"] for r in runs] == [False, True, True]
    assert all(r["audit_clean"] for r in runs)
    assert runs[1]["report"] == {"scenario_runs": 4, "not_run": 0, "ids_differ_from_baseline": [], "n_differ": 0,
                                 "whole": True}
    assert result["green_in_a_row"] == 2 and result["by_workers"]["2"] == {"runs": 2, "green": 2, "green_in_a_row": 2}
    assert [f["id"] for f in result["flaky"]] == ["test_p::test_scenario_n[2]"]
    assert "green: 2 of 3, 2 in a row" in capsys.readouterr().out


def test_a_report_that_lacks_a_scenario_or_differs_from_the_baseline_is_not_whole(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"scenarios": [{"nodeid": "a", "outcome": "passed"},
                                                 {"nodeid": "b", "outcome": "not run"}]}))
    assert reliability.report_of(results)["whole"] is False                      # a scenario not run
    results.write_text(json.dumps({"scenarios": [{"nodeid": "a", "outcome": "passed"}]}))
    assert reliability.report_of(results)["whole"] is True
    got = reliability.report_of(results, {"a": "passed", "b": "skipped"})          # b missing from this run
    assert got["whole"] is False and got["ids_differ_from_baseline"] == ["b"]
    assert reliability.report_of(tmp_path / "missing.json") == {"whole": False, "missing": True}
    assert reliability.longest_streak([True, False, True, True, False]) == 2
    assert reliability._with_report(["x", "--report", "none", "-q"], Path("r/i.html")) == ["x", "-q", "--report", "r/i.html"]


def test_a_sequence_stopped_midway_keeps_the_runs_it_made(tmp_path, monkeypatch):
    calls = []

    def fake_run_once(index, order, seed, pytest_args, cwd, workdir, timeout, workers=None, baseline=None):
        calls.append(index)
        if index == 2:
            raise KeyboardInterrupt   # the sequence is stopped (a deadline, Ctrl-C) during run 2
        return ({"index": index, "order": order, "seed": seed, "exit_code": 0, "wall_s": 1.0, "counts": {"passed": 1},
                 "workers": workers, "green": True, "audit_clean": True, "report": {"whole": True}},
                {"t::a": "passed"})

    monkeypatch.setattr(reliability, "run_once", fake_run_once)
    out = tmp_path / "r.json"
    try:
        reliability.main(["--runs", "3", "--orders", "0", "--workers", "2", "--out", str(out), "--cwd", str(tmp_path)])
    except KeyboardInterrupt:
        pass
    result = json.loads(out.read_text())
    assert calls == [1, 2] and [r["index"] for r in result["runs"]] == [1] and result["planned_runs"] == 3
    assert result["green_in_a_row"] == 1
