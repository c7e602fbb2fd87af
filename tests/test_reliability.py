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
