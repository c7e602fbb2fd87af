"""``python -m support.report merge OUT IN...`` (issue 12): two shards of the known spec,
merged, make the report one whole run makes, apart from timings."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from support.report.merge import load, merge
from support.report.model import FeatureDoc, Run, ScenarioRun, StepDoc
from test_report import FIXTURES, KNOWN, ROOT, run_known

#: What differs between two runs of the same spec and is not content.
_TIMING_KEYS = {"duration", "generated", "command", "order", "seconds"}


def _content(value):
    """results.json without timings, run dates, commands and collection positions."""
    if isinstance(value, dict):
        return {k: _content(v) for k, v in value.items() if k not in _TIMING_KEYS}
    if isinstance(value, list):
        return [_content(v) for v in value]
    return value


def _page(html: str) -> str:
    """index.html without timings and the run's date and command."""
    html = re.sub(r'<span class="d">[^<]*</span>', "", html)
    return re.sub(r'<div class="meta">.*?</div>', "", html, flags=re.S)


def _merge_cli(out, *inputs):
    return subprocess.run([sys.executable, "-m", "support.report", "merge", str(out), *map(str, inputs)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_two_shards_merged_equal_one_whole_run(pytester, monkeypatch):
    result, _ = run_known(pytester, monkeypatch, "--report", "whole/index.html")
    result.assert_outcomes(**KNOWN)
    result, _ = run_known(pytester, monkeypatch, "--report", "shard1/index.html", "-k", "label")
    result.assert_outcomes(passed=3, failed=1)
    result, _ = run_known(pytester, monkeypatch, "--report", "shard2/index.html", "-k", "not label")
    result.assert_outcomes(passed=2, failed=1, skipped=2, xfailed=1)
    root = pytester.path
    done = _merge_cli(root / "merged", root / "shard2", root / "shard1" / "results.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"merged 2 runs (10 scenario runs) into {root / 'merged' / 'index.html'}"
    whole = json.loads((root / "whole" / "results.json").read_text())
    merged = json.loads((root / "merged" / "results.json").read_text())
    assert _content(merged) == _content(whole)
    assert _page((root / "merged" / "index.html").read_text()) == _page((root / "whole" / "index.html").read_text())
    # not vacuous: the shards each lack what the other has
    shard1 = json.loads((root / "shard1" / "results.json").read_text())
    assert len(shard1["scenarios"]) == 4 and _content(shard1) != _content(whole)


def _run(outcome: str) -> Run:
    """A one-scenario run, through results.json and back (as merge reads it)."""
    feature = FeatureDoc(key="f.feature", keyword="Feature", name="F", description="", tags=[], background=[],
                         line=1, path="features/f.feature")
    record = ScenarioRun(nodeid="t::s[alpha]", feature="f.feature", scenario="S", keyword="Scenario", line=3,
                         order=0, sut="alpha", outcome=outcome, steps=[StepDoc("Then", "it works", outcome=outcome)])
    return Run.from_results(json.loads(json.dumps(Run(features={"f.feature": feature}, runs=[record]).results())))


def test_a_rerun_overrides_and_a_not_run_record_never_does():
    assert [r.outcome for r in merge([_run("failed"), _run("passed")]).runs] == ["passed"]
    assert [r.outcome for r in merge([_run("failed"), _run("not run")]).runs] == ["failed"]
    assert [r.outcome for r in merge([_run("not run"), _run("failed")]).runs] == ["failed"]
    merged = merge([_run("failed")])
    assert merged.runs[0].steps[0].text == "it works" and merged.features["f.feature"].path == "features/f.feature"


def test_merge_refuses_a_format_1_results_json(tmp_path):
    done = _merge_cli(tmp_path / "merged", FIXTURES / "compare" / "before.json")
    assert done.returncode == 2
    assert "format 1" in done.stderr and "re-run the spec" in done.stderr
    assert not (tmp_path / "merged").exists()


def test_load_says_which_file_is_not_json(tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        load(tmp_path)
