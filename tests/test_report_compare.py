"""What changed since the last run (issue 13 §4): ``--compare`` and the report folder's
results.previous.json, on two small known runs (before: alpha fails to remove a label and
has a known VQL defect; after: alpha removes labels, beta no longer adds them, alpha's VQL
defect is fixed)."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from support.report.compare import compare
from test_report import FIXTURES, KNOWN, ROOT, run_known

BEFORE = FIXTURES / "compare" / "before.json"   # format 1 (an older report), from the "before" run
AFTER = FIXTURES / "compare" / "after.json"     # format 2, from the "after" run
AFTER_OUTCOMES = {"passed": 5, "failed": 3, "skipped": 2}   # a strict xfail that passes fails the run

ADD = "A label I add is on the client in Velociraptor"
REMOVE = "Removing a label takes it off the client"
VQL = "Broken VQL is reported, not answered with nothing"
EXPECTED_TERMINAL = [
    f"newly failing: features/label_client.feature:10  {ADD} [[]beta] (passed → failed): assert 'case-4711' in set()",
    f"newly passing: features/label_client.feature:15  {REMOVE} [[]alpha] (failed → passed)",
    f"expected failures that now pass: features/run_vql.feature:12  {VQL} [[]alpha] (xfailed → xpassed): "
    "alpha answers broken VQL with an empty result",
    "matrix [[]alpha] label_client: failed → passed",
    "matrix [[]alpha] run_vql: xfailed → xpassed",
    "matrix [[]beta] label_client: passed → failed",
]


def _load(path):
    return json.loads(path.read_text())


def test_compare_sorts_each_change_per_sut():
    changes = compare(_load(BEFORE), _load(AFTER), label="before.json")
    assert [(c.sut, c.scenario, c.before, c.after) for c in changes.newly_failing] == [("beta", ADD, "passed", "failed")]
    assert [(c.sut, c.scenario, c.before, c.after) for c in changes.newly_passing] == [("alpha", REMOVE, "failed", "passed")]
    assert [(c.sut, c.scenario, c.after) for c in changes.xfail_passes] == [("alpha", VQL, "xpassed")]
    assert changes.other == [] and changes.added == changes.removed == 0
    assert [(c.sut, c.row, c.before, c.after) for c in changes.cells] == [
        ("alpha", "label_client", "failed", "passed"), ("alpha", "run_vql", "xfailed", "xpassed"),
        ("beta", "label_client", "passed", "failed")]
    assert changes.newly_failing[0].where == "features/label_client.feature:10"
    # and nothing changes between a run and itself
    assert compare(_load(AFTER), _load(AFTER)).empty


def test_the_second_run_in_a_folder_is_compared_with_the_first(pytester, monkeypatch):
    result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html")
    result.assert_outcomes(**KNOWN)
    out = pytester.path / "out"
    assert not (out / "results.previous.json").exists()
    assert "compared with" not in result.stdout.str()
    first = (out / "results.json").read_text()

    result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html", variant="after")
    result.assert_outcomes(**AFTER_OUTCOMES)
    assert (out / "results.previous.json").read_text() == first      # the previous run, kept
    result.stdout.fnmatch_lines([f"*compared with {out / 'results.previous.json'} (*)*", *EXPECTED_TERMINAL])
    result.stdout.fnmatch_lines(["XPASS features/run_vql.feature:12  " + VQL + " [[]alpha]: *"])
    html = (out / "index.html").read_text()
    section = html[html.index('id="changes"'):html.index('id="matrix"')]
    headings = re.findall(r'data-changes="([^"]+)">([^<(]+)\((\d+)\)', section)
    assert headings == [("newly_failing", "Newly failing ", "1"), ("newly_passing", "Newly passing ", "1"),
                        ("xfail_passes", "Expected failures that now pass ", "1"),
                        ("cells", "Matrix cells that changed ", "3")]
    assert re.search(r'<li data-sut="beta"><b>\[beta\]</b> <a href="#s-[^"]+">' + re.escape(ADD) + "</a>", section)


def test_compare_names_any_previous_results_json(pytester, monkeypatch):
    """``--compare`` with a folder (or file) elsewhere, of format 1; ``--compare none`` turns it off."""
    previous = pytester.path / "last-week"
    previous.mkdir()
    (previous / "results.json").write_text(BEFORE.read_text())
    result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html", "--compare", "last-week", variant="after")
    result.assert_outcomes(**AFTER_OUTCOMES)
    result.stdout.fnmatch_lines([f"*compared with {previous / 'results.json'} (2026-11-28 10:00:00 UTC)*",
                                 *EXPECTED_TERMINAL])
    result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html", "--compare", "none", variant="after")
    assert "compared with" not in result.stdout.str()
    assert 'id="changes"' not in (pytester.path / "out" / "index.html").read_text()


def test_an_unreadable_baseline_is_said_and_the_report_still_written(pytester, monkeypatch):
    result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html", "--compare", "missing.json")
    result.assert_outcomes(**KNOWN)
    result.stdout.fnmatch_lines(["cannot compare with */missing.json: *No such file*"])
    assert (pytester.path / "out" / "index.html").is_file()


def test_the_compare_command():
    done = subprocess.run([sys.executable, "-m", "support.report", "compare", str(BEFORE), str(AFTER)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"compared with {BEFORE} (2026-11-28 10:00:00 UTC)"
    assert len(lines) == 1 + len(EXPECTED_TERMINAL)
    assert lines[1].startswith("newly failing: features/label_client.feature:10")
