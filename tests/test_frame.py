"""The frame of the living spec, driven the way pytest-bdd tests itself: a tiny feature and
steps in a pytester dir, with our plugin. Tags become marks, unknown tags and unbound steps
fail naming the file and line, a malformed feature names its line, steps stream as Gherkin."""
from __future__ import annotations

import textwrap

import pytest

FEATURE = """\
@tool:label_client
Feature: Label a client
  Scenario: A label I add is there
    Given a client
    When I add a label
    Then the label is there

  @security @os:linux
  Scenario: Quotes do not widen a search
    Given a client
    Then the label is there
"""

STEPS = """\
from pytest_bdd import given, when, then, scenarios

scenarios("features")

@given("a client")
def _():
    pass

@when("I add a label")
def _():
    pass

@then("the label is there")
def _():
    pass
"""


def run(spec: pytest.Pytester, feature: str, *args: str) -> pytest.RunResult:
    """Write ``feature`` and the steps into the pytester dir and run pytest there."""
    spec.path.joinpath("features", "label.feature").write_text(feature)
    spec.makepyfile(test_spec=STEPS)
    return spec.runpytest(*args)


@pytest.fixture
def spec(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(textwrap.dedent("""\
        [pytest]
        addopts = --strict-markers -p support.plugin
        markers =
            tool(name): canonical tool
            os(name): os
            slow: slow
            destructive: destructive
            security: security
            bad_input: bad input
            raptorspec_unknown_tag(tag): internal
        """))
    pytester.mkdir("features")
    return pytester


def test_tags_become_marks_and_select_by_tool(spec):
    result = run(spec, FEATURE, "-m", "tool(name='label_client') and security")
    result.assert_outcomes(passed=1, deselected=1)
    result = spec.runpytest("-m", "os(name='linux')")
    result.assert_outcomes(passed=1, deselected=1)


def test_steps_stream_as_gherkin(spec):
    result = run(spec, FEATURE)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "*Feature: Label a client*",
        "*Scenario: A label I add is there*",
        "*Given a client  (passed, *s)*",
        "*When I add a label  (passed, *s)*",
        "*Then the label is there  (passed, *s)*",
    ])


def test_an_unknown_tag_fails_collection_naming_its_own_line_and_the_tag_meant(spec):
    result = run(spec, FEATURE.replace("@security", "@securty"))
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*label.feature:8: unknown tag @securty: did you mean @security? (known: *"])


def test_an_unknown_tool_tag_fails_collection(spec):
    result = run(spec, FEATURE.replace("@tool:label_client", "@tool:label_clients"))
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*label.feature:1: unknown tag @tool:label_clients: did you mean @tool:label_client?*"])


def test_an_unknown_tag_is_named_once_per_line_it_is_written_on_in_line_order(spec):
    """A feature-level tag every scenario inherits is one problem at the tag's line (it was one
    per scenario, at each scenario's line); problems come in line order (8 before 15)."""
    feature = ("@tool:label_client @weird\n" + FEATURE.split("\n", 1)[1].replace("@security", "@securty") + "\n" * 3
               + "  @sloww\n  Scenario: Another\n    Given a client\n")
    result = run(spec, feature)
    assert result.ret != 0
    err = result.stderr.str()
    assert err.count("unknown tag @weird") == 1, err
    assert "did you mean" not in err.split("unknown tag @weird")[1].split("\n")[0], err
    result.stderr.fnmatch_lines(["*label.feature:1: unknown tag @weird (known: *",
                                 "*label.feature:8: unknown tag @securty: did you mean @security?*",
                                 "*label.feature:15: unknown tag @sloww: did you mean @slow?*"])


def test_a_failing_step_is_named_at_its_own_line(spec):
    """A failing Then is named at its own line (was: the test function, and the scenario's
    line in junit): on its live line, in a "Failed step" section with its scenario, and at the
    head of the crash message (short summary, junit message)."""
    spec.path.joinpath("features", "label.feature").write_text(FEATURE)
    spec.makepyfile(test_spec=STEPS.replace('@then("the label is there")\ndef _():\n    pass',
                                            '@then("the label is there")\ndef _():\n    assert False, "no label"'))
    result = spec.runpytest("-rf", "--junitxml=j.xml")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*Then the label is there  (FAILED at features/label.feature:6: AssertionError, *s)*",
        "*- Failed step -*",
        "features/label.feature:6: Then the label is there",
        "  in scenario 'A label I add is there' (features/label.feature:3)",
    ])
    result.stdout.fnmatch_lines(["FAILED *test_a_label_i_add_is_there - features/label.feature:6: *"])
    assert 'message="features/label.feature:11: AssertionError: no label' in (spec.path / "j.xml").read_text()


def test_an_unbound_step_fails_naming_the_feature_and_line(spec):
    result = run(spec, FEATURE.replace("Then the label is there\n\n", "Then nothing binds me\n\n"))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*NOT BOUND*label.feature:6*",
        "*Step definition is not found: Then \"nothing binds me\"*Line 6*",
    ])


def test_a_malformed_feature_names_its_line(spec):
    result = run(spec, FEATURE.replace("  Scenario: Quotes", "  Scenari Quotes"))
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*Line number: 9*", "*Scenari Quotes*", "*File: *label.feature*"])


def test_the_real_spec_collects_under_strict_markers(pytestconfig):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "pytest", "features/", "--collect-only", "-q", "--report", "none"],
                          cwd=pytestconfig.rootpath, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " tests collected" in proc.stdout or "test" in proc.stdout.splitlines()[-1], proc.stdout[-500:]
