"""The living-documentation report, tested on a tiny known run (tests/report_fixtures/).

The run: two features, two fake servers under test (alpha, beta). Per server: a passing
scenario; "Removing a label…" fails its last step on alpha (with a message and an MCP
transcript) and passes on beta; run_vql is skipped on beta ("SUT beta has no run_vql"), and
its broken-VQL scenario is a strict xfail on alpha. A planted private key leaks into a
failure message, an xfail message and the transcripts; the report must mask it.
"""
from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support.report import canonical

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "report_fixtures"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]
# Where the browser test keeps its report and screenshot for people and CI to look at.
SELFTEST_DIR = ROOT / "reports" / "report-selftest"

FAILURE = "Velociraptor still shows label 'case-4711' on C.1234567890abcdef"


def _planted_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def run_known(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str, variant: str = "before"):
    """Run the known spec in a pytester dir; returns (result, planted key).

    ``variant="after"`` runs it as a later run would turn out (see spec_conftest.py); the
    files are copied once, so two calls in one test are two runs of the same spec.
    """
    if not (pytester.path / "features").exists():
        shutil.copytree(FIXTURES / "features", pytester.path / "features")
        shutil.copy(FIXTURES / "spec_conftest.py", pytester.path / "conftest.py")
        shutil.copy(FIXTURES / "spec_binding.py", pytester.path / "test_spec.py")
        shutil.copy(FIXTURES / "fixture_rows.py", pytester.path / "fixture_rows.py")
        (pytester.path / "planted_key.pem").write_text(_planted_key())
    key = (pytester.path / "planted_key.pem").read_text()
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("REPORT_KNOWN_RUN", variant)
    result = pytester.runpytest_subprocess("-p", "support.report.plugin", "-p", "no:cacheprovider", *args)
    return result, key


#: The known run's outcomes (before): alpha fails the label removal and the OS comparison.
KNOWN = {"passed": 5, "failed": 2, "skipped": 2, "xfailed": 1}


@pytest.fixture
def known_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    result, key = run_known(pytester, monkeypatch, "--report", "out/index.html")
    result.assert_outcomes(**KNOWN)
    out = pytester.path / "out"
    return out, key


class _Cells(HTMLParser):
    """The matrix cells: (tool, sut) → outcome, from the data attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and "data-tool" in a:
            self.cells[(a["data-tool"] or "", a["data-sut"] or "")] = a["data-outcome"] or ""


def matrix_cells(html: str) -> dict[tuple[str, str], str]:
    parser = _Cells()
    parser.feed(html)
    return parser.cells


def test_the_report_shows_features_scenarios_steps_and_outcomes(known_run):
    out, _ = known_run
    html = (out / "index.html").read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&quot;", '"').replace("&#x27;", "'")
    for expected in (
        "Feature: Label a client",                                   # feature title
        "So that hunts can target exactly the machines in scope",    # narrative
        "Background: Given an enrolled linux client",                # background as written
        "Scenario: Removing a label takes it off the client",        # scenario
        'Then Velociraptor shows the client without the label "case-4711"',  # step text
        FAILURE,                                                     # failure message
        "Reason: SUT beta has no run_vql",                           # skip reason
        "Reason: alpha answers broken VQL with an empty result",     # xfail reason
        '"operation": "remove"',                                     # what the SUT was sent
        "ok, debug key [MASKED",                                     # … and answered, masked
        "@tool:label_client", "@destructive", "@bad_input",          # tags
    ):
        assert expected in text, f"the report does not show {expected!r}"
    summary = dict(re.findall(r'data-count="([^"]+)"><b>([^<]+)</b>', html))
    assert summary == {"features": "3", "scenarios": "5", "total": "10", "passed": "5", "failed": "2",
                       "skipped": "2", "xfailed": "1", "coverage": "3/54"}


def test_the_matrix_has_every_canonical_tool_and_each_servers_outcome(known_run):
    out, _ = known_run
    cells = matrix_cells((out / "index.html").read_text())
    assert cells[("label_client", "alpha")] == "failed"
    assert cells[("label_client", "beta")] == "passed"
    assert cells[("run_vql", "alpha")] == "xfailed"   # one pass, one strict xfail: the worst shows
    assert cells[("run_vql", "beta")] == "skipped"
    rows = {tool for tool, _ in cells}
    assert rows == set(canonical.matrix_rows())
    assert cells[("collect_artifact", "alpha")] == "not covered"
    assert cells[("prompt:threat_hunt", "beta")] == "not covered"
    assert cells[("resource:velociraptor://clients/{client_id}", "alpha")] == "not covered"


def test_results_json_has_one_line_per_scenario_run(known_run):
    out, _ = known_run
    results = json.loads((out / "results.json").read_text())
    rows = {(r["scenario"], r["sut"]): r for r in results["scenarios"]}
    assert len(rows) == 10
    failed = rows[("Removing a label takes it off the client", "alpha")]
    assert failed["feature"] == "Label a client"
    assert failed["tools"] == ["label_client"]
    assert failed["outcome"] == "failed" and FAILURE in failed["reason"]
    assert failed["duration"] > 0
    assert [s["outcome"] for s in failed["steps"]] == ["passed", "passed", "passed", "failed"]
    skipped = rows[("A query returns what Velociraptor returns", "beta")]
    assert (skipped["outcome"], skipped["reason"]) == ("skipped", "SUT beta has no run_vql")
    xfailed = rows[("Broken VQL is reported, not answered with nothing", "alpha")]
    assert (xfailed["outcome"], xfailed["reason"]) == ("xfailed", "alpha answers broken VQL with an empty result")
    assert results["matrix"]["label_client"] == {"alpha": "failed", "beta": "passed"}
    assert results["matrix"]["list_clients"] == {"alpha": "failed", "beta": "passed"}
    assert results["matrix"]["get_client_info"] == {"alpha": "not covered", "beta": "not covered"}


def test_a_planted_private_key_appears_nowhere_in_the_report(known_run):
    out, key = known_run
    pieces = [line for line in key.splitlines() if not line.startswith("-----")]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"index.html", "results.json"}
    for path in files:
        body = path.read_text(errors="replace")
        for piece in pieces:
            assert piece not in body, f"{path.name} holds a line of the planted private key"
        assert "BEGIN PRIVATE KEY-----" not in body
    # not vacuous: the key did reach the report's inputs, and was masked there
    assert "[MASKED" in (out / "index.html").read_text()


def test_report_none_writes_nothing(pytester, monkeypatch):
    result, _ = run_known(pytester, monkeypatch, "--report", "none")
    result.assert_outcomes(**KNOWN)
    assert not (pytester.path / "reports").exists()
    assert not any(pytester.path.rglob("results.json"))


def test_the_default_report_path(pytester, monkeypatch):
    result, _ = run_known(pytester, monkeypatch)
    result.stdout.fnmatch_lines(["*living documentation: */reports/living-doc/index.html*"])
    assert (pytester.path / "reports" / "living-doc" / "index.html").is_file()
    assert (pytester.path / "reports" / "living-doc" / "results.json").is_file()


def test_a_run_without_scenarios_writes_no_report_by_default(pytester, monkeypatch):
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "support.report.plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()


def test_the_canonical_vocabulary_matches_the_contract():
    assert len(canonical.TOOLS) == len(set(canonical.TOOLS)) == 35
    assert len(canonical.RESOURCES) == 10
    assert len(canonical.PROMPTS) == 8
    assert len(canonical.matrix_rows()) == 54  # 35 tools, 10 resources, 8 prompts, server:hygiene
    assert {"label_client", "collect_artifact", "run_vql", "check_agent_deployment"} <= set(canonical.TOOLS)


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install -y chromium); CI installs it")
def test_the_report_reads_in_a_browser(pytester, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (see support/report/REQUIREMENTS.txt)")
    if SELFTEST_DIR.exists():
        shutil.rmtree(SELFTEST_DIR)
    result, key = run_known(pytester, monkeypatch, "--report", str(SELFTEST_DIR / "index.html"))
    result.assert_outcomes(**KNOWN)
    report = SELFTEST_DIR / "index.html"
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report.as_uri())
            expect = sync_api.expect
            expect(page.locator("article.feature h2", has_text="Label a client")).to_be_visible()
            expect(page.locator("section.scenario h3", has_text="Removing a label takes it off the client")).to_be_visible()
            expect(page.locator("table.steps td", has_text='I remove the label "case-4711" from the client')).to_be_visible()
            expect(page.locator("pre.failure", has_text=FAILURE)).to_be_visible()
            expect(page.locator("#matrix table.matrix")).to_be_visible()
            expect(page.locator('td[data-tool="label_client"][data-sut="alpha"]')).to_contain_text("fail")
            expect(page.locator('td[data-tool="run_vql"][data-sut="beta"]')).to_contain_text("skip")
            expect(page.locator('td[data-tool="get_client_info"][data-sut="beta"]')).to_have_text("not covered")
            visible_text = page.inner_text("body")
            assert not any(line in visible_text for line in key.splitlines()[1:-1])
            page.screenshot(path=str(SELFTEST_DIR / "screenshot.png"), full_page=True)
        finally:
            browser.close()
    assert all(url.startswith(("file:", "data:", "about:")) for url in requests), f"the report fetched {requests}"
    assert (SELFTEST_DIR / "screenshot.png").stat().st_size > 10_000
