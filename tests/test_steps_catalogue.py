"""The step catalogue (support/steps_catalogue.py, ``python -m support.steps``) and the one
wrapper of pytest-bdd's private registries (support/bdd.py)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support import bdd
from support import steps_catalogue as cat

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def mini(tmp_path, monkeypatch):
    """A tiny project: a step package ``ministeps`` and a features folder (names unique per test)."""
    pkg = tmp_path / "ministeps"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (tmp_path / "features").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "ministeps" or m.startswith("ministeps.")]:
        monkeypatch.delitem(sys.modules, name)
    return tmp_path


def _write(root: Path, rel: str, text: str) -> None:
    (root / rel).write_text(textwrap.dedent(text))


def test_a_new_step_appears_with_its_place_doc_and_uses(mini):
    _write(mini, "ministeps/labels.py", '''
        from pytest_bdd import parsers, then, when

        @when(parsers.parse('I tag the client "{tag}"'), target_fixture="reply")
        def _(tag):
            """Asks to tag the client."""

        @then("nobody uses this step")
        def _():
            """Checks nothing anybody asked for."""
        ''')
    _write(mini, "features/tag.feature", '''
        Feature: Tags
          Scenario: tagging
            When I tag the client "case-1"
        ''')
    entries = cat.catalogue(mini / "ministeps", mini / "features")
    by_phrase = {e.definition.phrase: e for e in entries}
    tag = by_phrase['I tag the client "{tag}"']
    assert tag.where.endswith("ministeps/labels.py:4") and tag.definition.doc == "Asks to tag the client."
    assert [u.line for u in tag.uses] == [4] and not tag.unused  # the feature's line
    assert by_phrase["nobody uses this step"].unused
    text = cat.render(entries)
    assert 'When I tag the client "{tag}"' in text and "[UNUSED]" in text and "Asks to tag the client." in text


def test_unbound_and_ambiguous_feature_lines_are_named(mini):
    _write(mini, "ministeps/any.py", '''
        from pytest_bdd import parsers, then

        @then(parsers.parse('the value is "{v}"'))
        def _(v):
            """One."""

        @then(parsers.parse('the {what} is "{v}"'))
        def _(what, v):
            """Two."""
        ''')
    _write(mini, "features/x.feature", '''
        Feature: X
          Scenario: x
            Then the value is "1"
            And the colour is "red"
            And something nobody wrote
        ''')
    found = cat.problems(mini / "ministeps", mini / "features")
    assert any("x.feature:4: 2 steps bind" in p for p in found), found
    assert any("x.feature:6: no step binds then 'something nobody wrote'" in p for p in found), found
    assert not any("x.feature:5" in p for p in found)


def test_an_outline_line_is_matched_once_per_examples_row(mini):
    _write(mini, "ministeps/o.py", '''
        from pytest_bdd import parsers, then

        @then(parsers.parse("the number {n:d} is fine"))
        def _(n):
            """Fine."""
        ''')
    _write(mini, "features/o.feature", '''
        Feature: O
          Scenario Outline: o
            Then the number <n> is fine
            Examples:
              | n |
              | 1 |
              | 2 |
        ''')
    entries = cat.catalogue(mini / "ministeps", mini / "features")
    assert sorted(u.text for u in entries[0].uses) == ["the number 1 is fine", "the number 2 is fine"]


def test_the_spec_binds_every_feature_line_to_exactly_one_step():
    assert cat.problems() == []


def test_every_step_of_the_spec_is_one_phrase_with_a_docstring():
    entries = cat.catalogue()
    assert len(entries) > 150
    assert [e.where for e in entries if e.definition.kind == "re"] == []  # no regular expressions
    assert [e.where for e in entries if not e.definition.doc] == []


def test_suggest_names_the_three_closest_phrases_and_a_stub_that_binds_the_text():
    text = 'I add the tag "case-4711" to the client'
    advice = cat.suggest(text, "when")
    closest = [line for line in advice.splitlines() if line.startswith("  When ")]
    assert len(closest) == 3 and 'I add the label "…" to the client' in closest[0], advice
    assert "steps/clients.py:" in closest[0]
    stub = cat.stub(text, "when")
    namespace: dict = {"__name__": "raptorspec_stub_probe"}
    exec("from pytest_bdd import given, when, then, parsers\n" + stub, namespace)  # noqa: S102 - our own stub
    defs = [d for d in bdd.step_definitions() if d.func is namespace["_"]]
    assert defs and defs[0].matches(text) and defs[0].type == "when"


def test_find_names_the_definition_a_step_text_binds():
    found = cat.find('I add the label "case-4711" to the client', "when")
    assert [(d.module, d.phrase) for d in found] == [("steps.clients", 'I add the label "{label}" to the client')]
    assert cat.find("I start the hunt", "when")[0].phrase == "I start the hunt"


def test_the_command_prints_the_catalogue_and_finds_a_step():
    run = subprocess.run([sys.executable, "-m", "support.steps", "--find", 'I start the hunt "H.1"'],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "steps/hunts.py:" in run.stdout, run.stdout + run.stderr
    run = subprocess.run([sys.executable, "-m", "support.steps"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "== steps/clients.py" in run.stdout and "used in features/" in run.stdout


# -- support/bdd.py --------------------------------------------------------------------------


def test_scenario_of_finds_the_scenario_behind_a_generated_test_and_nothing_elsewhere():
    spec = importlib.util.spec_from_file_location("raptorspec_test_spec_probe", ROOT / "features" / "test_spec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = [getattr(module, n) for n in dir(module) if n.startswith("test_")]
    assert tests
    found = [bdd.scenario_of(t) for t in tests]
    assert all(f is not None for f in found)
    assert {f.feature.rel_filename.split("/")[0] for f in found} >= {"clients", "hunts", "vql"}
    assert bdd.scenario_of(test_scenario_of_finds_the_scenario_behind_a_generated_test_and_nothing_elsewhere) is None
    assert bdd.scenario_of(object()) is None and bdd.scenario_of(None) is None


def test_step_definitions_are_read_from_pytest_bdd_registry():
    import steps.clients  # noqa: F401

    defs = bdd.step_definitions(("steps.clients",))
    assert defs and all(d.module == "steps.clients" for d in defs)
    assert [d.line for d in defs] == sorted(d.line for d in defs)
    add = next(d for d in defs if d.phrase == 'I add the label "{label}" to the client')
    assert add.type == "when" and add.kind == "parse" and add.target_fixture == "reply"
    assert add.matches('I add the label "x" to the client') and not add.matches('I add the label "x" to the client "C.1"')


def test_step_modules_keep_pytests_assertion_introspection_out_of_the_message():
    """Every assert in a step carries its own message; pytest's "+ where …" would only bury it."""
    import importlib

    for name in cat.step_modules() + ("support.hunts", "support.prompts"):
        module = importlib.import_module(name)
        assert "PYTEST_DONT_REWRITE" in (module.__doc__ or ""), name
        assert "@py_builtins" not in vars(module), f"{name} was rewritten by pytest"


def test_find_takes_a_step_line_as_copied_from_a_feature():
    """The README's example: the keyword is part of what an analyst copies."""
    assert cat.split_keyword('When I add the label "x" to the client') == ("when", 'I add the label "x" to the client')
    assert cat.split_keyword("And it lists 3 clients") == (None, "it lists 3 clients")
    assert cat.split_keyword("no keyword here") == (None, "no keyword here")
    type_, phrase = cat.split_keyword('When I add the label "x" to the client')
    assert len(cat.find(phrase, type_)) == 1
    assert cat.stub("I frobnicate", "when").startswith("@when(")
