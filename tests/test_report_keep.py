"""A run that goes wrong never costs the previous results.

A usage or collection error writes no report and rotates nothing (it says so on stderr); a
run whose lab did not start (``pytest.exit``) writes a report that says so at the top and
does not push the last run that ran scenarios out of ``results.previous.json``.
"""
from __future__ import annotations

import json

import pytest

from tests.test_report import KNOWN, run_known

pytest_plugins = ["pytester"]

_USAGE = '''
import pytest

def pytest_collection_modifyitems(config, items):
    raise pytest.UsageError("unknown tag @nope (known: @slow, @destructive)")
'''

_LAB_FAILS = '''
import pytest

@pytest.fixture(autouse=True, scope="session")
def lab():
    pytest.exit("the embedded lab did not start: WaitError: the frontend did not answer /healthz", returncode=3)
'''


def _files(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("*")) if p.is_file()}


@pytest.fixture
def good(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html")
    result.assert_outcomes(**KNOWN)
    pytester.makepyfile(usage_error_plugin=_USAGE, lab_fails_plugin=_LAB_FAILS)
    return pytester.path / "out"


def test_a_usage_error_writes_no_report_and_rotates_nothing(pytester, monkeypatch, good):
    before = _files(good)
    for _ in range(2):
        result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html", "-p", "usage_error_plugin")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*usage error: no report written*"])
    assert _files(good) == before
    assert "results.previous.json" not in before


def test_a_collection_error_writes_no_report(pytester, monkeypatch, good):
    before = _files(good)
    pytester.makepyfile(test_broken="def test_x(:\n    pass\n")
    result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stderr.fnmatch_lines(["*collection errors: no report written*"])
    assert _files(good) == before


def test_a_lab_that_did_not_start_says_so_and_keeps_the_last_real_run(pytester, monkeypatch, good):
    first = json.loads((good / "results.json").read_text())
    for _ in range(2):
        result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html", "-p", "lab_fails_plugin")
        assert result.ret == 3
        results = json.loads((good / "results.json").read_text())
        assert results["stopped"].startswith("the embedded lab did not start: WaitError")
        assert "The run stopped early" in (good / "index.html").read_text()
        assert "the embedded lab did not start" in (good / "index.html").read_text()
        previous = json.loads((good / "results.previous.json").read_text())
        assert previous["generated"] == first["generated"], "the last run that ran scenarios is the previous one"
    # the next real run is compared with the last real run
    result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html", variant="after")
    result.stdout.fnmatch_lines(["*compared with*"])
    previous = json.loads((good / "results.previous.json").read_text())
    assert previous["generated"] == first["generated"]
    assert json.loads((good / "results.json").read_text())["stopped"] == ""


def test_a_report_path_without_html_is_a_folder_of_its_own(pytester, monkeypatch):
    """`--report out/run-a` wrote an HTML file named run-a with results.json beside it in out/,
    so the next `--report out/run-b` (another server) was compared with run-a's results and said
    "newly passing" of a different server. A path without .html is a folder: each run's report,
    results.json and comparison stay in it."""
    for name in ("run-a", "run-b"):
        result, _ = run_known(pytester, monkeypatch, "--report", f"out/{name}")
        result.assert_outcomes(**KNOWN)
        folder = pytester.path / "out" / name
        assert folder.is_dir() and (folder / "index.html").is_file() and (folder / "results.json").is_file()
    assert not (pytester.path / "out" / "results.json").exists()
    assert not (pytester.path / "out" / "run-b" / "results.previous.json").exists(), "run-b compared with run-a"
