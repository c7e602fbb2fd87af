"""A failure as an analyst reads it (issue 13 §1–3): the message first, in the suite's words
(no pytest introspection), the traceback from the suite's code (pytest's and pluggy's folded
away), and the server's answer decoded once. Checked in the terminal, in the report's HTML
and in Chromium; the browser test saves a screenshot of the failure, and with
RAPTORSPEC_UPDATE_DOCS=1 refreshes docs/failure.png (the README's figure) from it."""
from __future__ import annotations

import ast
import json
import os
import re
import shutil

import pytest

from _pytest.assertion.rewrite import rewrite_asserts

from support.report.tidy import own_message
from support.report.transcript import FOLD_LINES, answered
from test_report import CHROMIUM, CHROMIUM_ARGS, KNOWN, ROOT, run_known

OS_DIFF = "client C.1234567890abcdef: the server says os `debian12.11`, Velociraptor says `linux`"
SCENARIO = "Every client listed has the hostname and OS Velociraptor shows"
MACHINERY = ("_pytest", "pluggy", "pytest_bdd", "runner.py", "skipping.py", "capture.py", "logging.py")
# The screenshot for people and CI to look at; docs/failure.png (the README's figure) is
# refreshed from it only on request, so a test run leaves the work tree as it was.
SCREENSHOT = ROOT / "reports" / "report-selftest" / "failure.png"
DOCS_SCREENSHOT = ROOT / "docs" / "failure.png"
UPDATE_DOCS = "RAPTORSPEC_UPDATE_DOCS"


@pytest.fixture
def known(pytester, monkeypatch):
    result, key = run_known(pytester, monkeypatch, "--report", "out/index.html")
    result.assert_outcomes(**KNOWN)
    return result, pytester.path / "out"


def _failure_section(result) -> str:
    text = result.stdout.str()
    start = text.index(f"test_{SCENARIO.lower().replace(' ', '_')}"[:40])
    return text[start:text.index("the run at a glance")]


def test_the_terminal_shows_the_message_and_the_suites_frames_only(known):
    result, _ = known
    section = _failure_section(result)
    assert f"AssertionError: {OS_DIFF}" in section
    assert "fixture_rows.py:12" in section and "conftest.py" in section     # the step, then the helper
    assert "+  where" not in section and "assert 'debian12.11' == 'linux'" not in section
    visible = [line for line in section.splitlines() if re.match(r"^\S+\.py:\d+", line)]
    assert visible and not any(m in line for line in visible for m in MACHINERY), visible


def test_the_terminal_ends_with_each_sut_and_each_failure(known):
    result, _ = known
    result.stdout.re_match_lines([
        r"^alpha  pass 2 · fail 2 · xfail 1 · skip 0 · not covered 51/54$",
        r"^beta   pass 3 · fail 0 · xfail 0 · skip 2 · not covered 51/54$",
    ])
    result.stdout.fnmatch_lines([
        "FAIL features/label_client.feature:15  Removing a label takes it off the client [[]alpha]: "
        "Velociraptor still shows label 'case-4711'*",
        f"FAIL features/list_clients.feature:7  {SCENARIO} [[]alpha]: {OS_DIFF}",
    ])


def test_results_json_keeps_the_message_without_introspection_and_both_tracebacks(known):
    _, out = known
    rows = {(r["scenario"], r["sut"]): r for r in json.loads((out / "results.json").read_text())["scenarios"]}
    row = rows[(SCENARIO, "alpha")]
    assert row["message"] == OS_DIFF and row["reason"] == OS_DIFF
    assert not any(m in row["traceback"] for m in MACHINERY), row["traceback"]
    assert "fixture_rows.py:12: in same_rows" in row["traceback"]
    assert "_pytest/runner.py" in row["traceback_full"] and "pluggy" in row["traceback_full"]
    removal = rows[("Removing a label takes it off the client", "alpha")]
    assert "assert 'case-4711' not in" not in removal["message"]


def test_a_bare_assert_keeps_its_explanation_without_where_lines():
    source = "def f(o):\n    assert o.ready\n"
    tree = ast.parse(source)
    rewrite_asserts(tree, source.encode())
    namespace: dict = {}
    exec(compile(tree, "<bare>", "exec"), namespace)

    class O:
        ready = False

    with pytest.raises(AssertionError) as caught:
        namespace["f"](O())
    assert "+  where" in str(caught.value)                     # pytest's introspection, as raised
    trimmed = own_message(caught.value)
    assert trimmed == "assert False"
    assert own_message(AssertionError("plain, not rewritten\nassert x")) is None


def test_a_text_block_of_json_is_decoded_and_its_structured_copy_named_once():
    rows = [{"client_id": "C.1", "os": "linux"}]
    is_error, blocks = answered({"is_error": False, "texts": [json.dumps(rows)], "structured": {"result": rows}})
    assert not is_error
    assert [b.label for b in blocks] == ["text block 1 · JSON, decoded", "structured content"]
    assert blocks[0].body == json.dumps(rows, indent=2) and blocks[1].body == "(the same as text block 1)"
    # MCP's own shape; a structured answer that differs from the text is shown
    _, blocks = answered({"isError": True, "content": [{"type": "text", "text": "no such client"}],
                          "structuredContent": {"error": "x"}})
    assert [(b.label, b.body) for b in blocks] == [("text block 1", "no such client"),
                                                    ("structured content", '{\n  "error": "x"\n}')]
    big = [{"n": n} for n in range(FOLD_LINES * 10)]
    (_, [block]) = answered({"texts": [json.dumps(big)], "structured": None})
    assert block.folded and block.size.endswith("KiB") and f"{block.body.count(chr(10)) + 1} lines" in block.size


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install -y chromium); CI installs it")
def test_a_failing_comparison_reads_in_a_browser(known):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (see support/report/REQUIREMENTS.txt)")
    _, out = known
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto((out / "index.html").as_uri())
            expect = sync_api.expect
            scenario = page.locator("section.scenario", has=page.locator("h3", has_text=SCENARIO))
            note = scenario.locator('.note[data-sut="alpha"]')
            # the message first: the first block of the failure is the message, in the suite's words
            expect(note.locator("pre").first).to_have_text(OS_DIFF)
            expect(note.locator("pre.failure")).to_be_visible()
            visible = note.inner_text()
            assert "+  where" not in visible and "assert row[name] == theirs[name]" in visible  # source, not introspection
            # the visible traceback is the suite's code; the whole one is folded
            traceback = note.locator("pre.traceback")
            expect(traceback).to_be_visible()
            expect(traceback).to_contain_text("fixture_rows.py:12: in same_rows")
            assert not any(m in traceback.inner_text() for m in MACHINERY)
            full = note.locator("details.full-traceback")
            expect(full.locator("pre")).to_be_hidden()
            assert "pluggy" in (full.locator("pre").text_content() or "")
            # the answer decoded and indented, labelled; its structured copy named, not repeated
            transcript = note.locator("details.transcript")
            expect(transcript.locator(".lbl", has_text="text block 1 · JSON, decoded").first).to_be_visible()
            expect(transcript.locator("pre", has_text='"os": "debian12.11",').first).to_be_visible()
            assert '\\"os\\"' not in visible and visible.count('"os": "debian12.11"') == 1
            expect(transcript.locator(".blk", has_text="structured content (the same as text block 1)")).to_be_visible()
            expect(transcript.locator("details.blk summary", has_text="lines")).to_be_visible()  # folded, sized
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.set_viewport_size({"width": 1000, "height": 900})
            scenario.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
    if os.environ.get(UPDATE_DOCS) == "1":
        shutil.copy(SCREENSHOT, DOCS_SCREENSHOT)


def test_fulltrace_keeps_pytests_own_traceback_in_the_terminal(pytester, monkeypatch):
    result, _ = run_known(pytester, monkeypatch, "--report", "none", "--fulltrace")
    result.assert_outcomes(**KNOWN)
    section = _failure_section(result)
    assert "_pytest/runner.py" in section and "pluggy" in section
    assert f"AssertionError: {OS_DIFF}" in section          # the message is the suite's either way
