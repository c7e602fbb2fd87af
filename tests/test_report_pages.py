"""The living doc's pages computed from the code (support/report/pages.py, render.py):
the step catalogue, the argument coverage, the hygiene hook. No lab."""
from __future__ import annotations

import importlib.machinery
import re
import sys
import textwrap
import types
from html.parser import HTMLParser
from pathlib import Path

import pytest

from support.report import pages as pages_mod
from support.report.model import FeatureDoc, Run, ScenarioRun, anchor
from support.report.pages import Pages, collect
from support.report.render import render_html

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&quot;", '"').replace("&#x27;", "'")


class _Rows(HTMLParser):
    """Every <tr> with data attributes → its attributes (the class included)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and any(k.startswith("data-") for k in a):
            self.rows.append(a)


def rows(html: str) -> list[dict[str, str]]:
    parser = _Rows()
    parser.feed(html)
    return parser.rows


def _run(feature_path: str = "features/tag.feature", title: str = "tagging") -> Run:
    key = "tag.feature"
    feature = FeatureDoc(key=key, keyword="Feature", name="Tags", description="", tags=[], background=[], line=1,
                         path=feature_path)
    scenario = ScenarioRun(nodeid="x", feature=key, scenario=title, keyword="Scenario", line=2, order=0, sut="alpha",
                           tools=["label_client"], outcome="passed")
    return Run(features={key: feature}, runs=[scenario])


@pytest.fixture
def mini(tmp_path, monkeypatch):
    """A tiny project: a step package ``pagesteps`` and a features folder."""
    pkg = tmp_path / "pagesteps"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (tmp_path / "features").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "pagesteps" or m.startswith("pagesteps.")]:
        monkeypatch.delitem(sys.modules, name)
    return tmp_path


def test_a_step_added_to_a_steps_dir_shows_in_the_catalogue_page_with_its_uses(mini):
    (mini / "pagesteps" / "tags.py").write_text(textwrap.dedent('''
        from pytest_bdd import parsers, then, when

        @when(parsers.parse('I tag the client "{tag}"'), target_fixture="reply")
        def _(tag):
            """Asks to tag the client."""

        @then("nobody uses this step")
        def _():
            """Checks nothing anybody asked for."""
        '''))
    (mini / "features" / "tag.feature").write_text(
        "Feature: Tags\n  Scenario: tagging\n    When I tag the client \"case-1\"\n")
    pages = collect(steps_dir=mini / "pagesteps", features_dir=mini / "features")
    assert "steps" not in pages.errors, pages.errors
    run = _run(feature_path=str((mini / "features" / "tag.feature")))
    run.pages = pages
    html = render_html(run)
    section = html[html.index('id="steps"'):html.index('id="arguments"')]
    text = _text(section)
    assert 'When I tag the client "{tag}"' in text
    assert "pagesteps/tags.py:4" in text and "Asks to tag the client." in text
    # the use names the feature line and links to the feature on the page
    assert re.search(r'<a href="#' + anchor("tag.feature") + r'">[^<]*tag\.feature:3</a>', section), section
    by_step = {r["data-step"]: r for r in rows(section) if "data-step" in r}
    assert by_step['I tag the client "{tag}"']["data-unused"] == "false"
    assert by_step["nobody uses this step"]["data-unused"] == "true"
    assert by_step["nobody uses this step"]["class"] == "unused"
    assert "1 used by no feature" in text
    # the contents link to both pages
    contents = html[html.index('id="contents"'):]
    assert 'href="#steps"' in contents and 'href="#arguments"' in contents


FAKE_MATRIX = {
    "families": [{"family": "Clients", "tools": [{"tool": "label_client", "arguments": [
        {"argument": "labels", "status": "covered", "reason": None,
         "scenarios": [{"file": "features/tag.feature", "line": 2, "title": "tagging"}]},
        {"argument": "operation", "status": "excepted", "reason": "only the MCP server can tell, see issue 99",
         "scenarios": []},
        {"argument": "client_id", "status": "uncovered", "reason": None, "scenarios": []},
    ]}]}],
    "totals": {"arguments": 3, "covered": 1, "excepted": 1, "uncovered": 1},
    "uncovered": ["label_client.client_id"], "stale_exceptions": ["list_clients.nothing"],
    "problems": ["features/x.feature:3: scenario 'x' claims @arg:foo, which label_client does not take"],
}


def test_argument_coverage_shows_scenarios_reasons_and_uncovered_in_red():
    run = _run()
    run.pages = Pages(steps=[], arguments=FAKE_MATRIX)
    html = render_html(run)
    section = html[html.index('id="arguments"'):]
    by_arg = {r["data-argument"]: r for r in rows(section) if "data-argument" in r}
    assert {a: r["data-status"] for a, r in by_arg.items()} == {
        "labels": "covered", "operation": "excepted", "client_id": "uncovered"}
    assert by_arg["client_id"]["class"] == "uncovered"
    text = _text(section)
    assert "only the MCP server can tell, see issue 99" in text
    assert "no scenario claims it, and no reason is listed" in text
    assert f'<a href="#{anchor("tag.feature", "tagging")}">tagging</a>' in section  # the covering scenario
    assert "features/tag.feature:2" in text
    assert "stale exception list_clients.nothing" in text and "claims @arg:foo" in text
    assert "3 arguments: 1 covered, 1 listed with a reason" in text and "1 uncovered" in text
    css = html[html.index("<style>"):html.index("</style>")]
    assert re.search(r"tr\.uncovered td \{ background: var\(--fail-bg\)", css)


def test_the_project_pages_are_computed_at_report_time_from_the_code(monkeypatch):
    monkeypatch.setitem(sys.modules, "support.hygiene", None)   # as if no hygiene module: no section
    html = render_html(Run(features={}, runs=[]))
    assert 'id="hygiene"' not in html and 'href="#hygiene"' not in html
    steps = html[html.index('id="steps"'):html.index('id="arguments"')]
    assert 'I search the artifacts for "{text}"' in _text(steps)
    assert "steps/artifacts.py:" in steps and "features/artifacts/list_artifacts.feature:" in steps
    arguments = html[html.index('id="arguments"'):]
    keys = {(r["data-tool"], r["data-argument"]) for r in rows(arguments) if "data-argument" in r}
    assert ("label_client", "labels") in keys and ("run_vql", "query") in keys and ("create_hunt", "expires_hours") in keys


def test_a_page_that_cannot_be_computed_says_why_and_the_report_is_still_written(mini):
    (mini / "pagesteps" / "broken.py").write_text("raise RuntimeError('a step module that does not import')\n")
    pages = collect(steps_dir=mini / "pagesteps", features_dir=mini / "features")
    assert "a step module that does not import" in pages.errors["steps"]
    run = _run()
    run.pages = pages
    text = _text(render_html(run))
    assert "Step catalogue not computed RuntimeError: a step module that does not import" in text


def test_the_hygiene_section_appears_when_the_module_gives_a_summary(monkeypatch):
    fake = types.ModuleType("support.hygiene")
    fake.__spec__ = importlib.machinery.ModuleSpec("support.hygiene", None)
    fake.summary = lambda: {"alpha": {"counts": {"ok": 3, "error reported as success": 1},
                                      "tools": ["run_vql: error reported as success — 'Error: no'"]}}
    monkeypatch.setitem(sys.modules, "support.hygiene", fake)
    assert pages_mod.hygiene_page() == fake.summary()
    run = _run()
    run.pages = Pages(steps=[], arguments=FAKE_MATRIX, hygiene=pages_mod.hygiene_page())
    html = render_html(run)
    assert 'href="#hygiene"' in html
    text = _text(html[html.index('id="hygiene"'):])
    assert "alpha 3 ok · 1 error reported as success" in text
    assert "run_vql: error reported as success — 'Error: no'" in text


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install -y chromium); CI installs it")
def test_the_pages_read_in_a_browser(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (see support/report/REQUIREMENTS.txt)")
    run = _run()
    run.pages = collect()
    run.pages.arguments = FAKE_MATRIX
    report = tmp_path / "index.html"
    report.write_text(render_html(run), encoding="utf-8")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(report.as_uri())
            expect = sync_api.expect
            page.click('#contents a[href="#steps"]')
            expect(page.locator("#steps h2")).to_be_in_viewport()
            expect(page.locator("#steps td.phrase", has_text='I search the artifacts for "{text}"')).to_be_visible()
            page.click('#contents a[href="#arguments"]')
            expect(page.locator("#arguments h2")).to_be_in_viewport()
            red = page.locator('#arguments tr[data-argument="client_id"] td.arg')
            expect(red).to_be_visible()
            assert red.evaluate("e => getComputedStyle(e).color") == "rgb(179, 38, 30)"   # --fail
            covered = page.locator('#arguments tr[data-argument="labels"] td.arg')
            assert covered.evaluate("e => getComputedStyle(e).color") != "rgb(179, 38, 30)"
        finally:
            browser.close()


def test_an_outline_line_is_listed_once_among_a_steps_uses(mini):
    (mini / "pagesteps" / "rows.py").write_text(textwrap.dedent('''
        from pytest_bdd import parsers, when

        @when(parsers.parse('I count to {n:d}'))
        def _(n):
            """Counts."""
        '''))
    (mini / "features" / "count.feature").write_text(textwrap.dedent("""\
        Feature: Count
          Scenario Outline: counting
            When I count to <n>

            Examples:
              | n |
              | 1 |
              | 2 |
        """))
    steps = collect(steps_dir=mini / "pagesteps", features_dir=mini / "features").steps
    assert [(Path(u["file"]).name, u["line"], u["text"]) for u in steps[0]["uses"]] == [("count.feature", 3, "I count to 1")]
