"""What an analyst writes and runs, as they would: a copy of the real binding module
(features/test_spec.py) and our plugins in a pytester project with small features, the fake
SUT of tests/sut_fakes, and pytest run with the project's own default options.

Covered: the live Gherkin lines in a default (captured) run; a folder, a .feature file and
``x.feature::Scenario title`` each run exactly their scenarios; what pytest-bdd would lose in
silence fails collection naming file and line (duplicate titles, a step above the first
scenario, an empty scenario, a parse error behind an invisible character, a scenario outside
the matrix); a BOM and CRLF are accepted; skip and xfail lines name the scenario; the Gherkin
constructs the suite supports, one test each; junit XML and cucumber JSON name SUT and tool.
What an author gets wrong fails loudly: a file with no Feature: line, an outline without example
rows, one title in two files, two step definitions competing for one step, a forgotten Given
(the message names the Givens that provide the fixture), a missing lint path; a run of some
features fails only on their problems and names the other broken files in a warning.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from test_xdist import FAKE_LAB_CONFTEST

ROOT = Path(__file__).resolve().parent.parent
FAKES = Path(__file__).resolve().parent / "sut_fakes"
SUT_ARGS = (f"--sut-profile={FAKES / 'fake_profile.py'} "
            f"--sut-command={shlex.quote(shlex.join([sys.executable, str(FAKES / 'fake_server.py')]))} --sut-timeout=10")

INI = textwrap.dedent("""\
    [pytest]
    bdd_features_base_dir = features/
    addopts = --strict-markers -p no:cacheprovider {sut_args}
    markers =
        tool(name): canonical tool
        os(name): os
        slow: slow
        destructive: destructive
        security: security
        bad_input: bad input
        raptorspec_unknown_tag(tag): internal
    """)

CONFTEST = '''
from types import SimpleNamespace

import pytest
from pytest_bdd import given, parsers, then, when

pytest_plugins = ["support.plugin", "support.sut.plugin"]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    d = tmp_path_factory.mktemp("lab")
    (d / "api_client.yaml").write_text("api_connection_string: 127.0.0.1:1\\n")
    return SimpleNamespace(api_config=d / "api_client.yaml", dir=d, mode="fake")


@given("a client")
@given("un client")
def _():
    pass


@when("I add a label")
@when("j'ajoute une étiquette")
def _():
    pass


@then("the label is there")
@then("l'étiquette est là")
def _():
    pass


@when("the server under test lists the clients", target_fixture="reply")
def _(sut):
    return sut.call("list_clients")


@then(parsers.parse("it lists {n:d} clients"))
def _(reply, n):
    assert reply.ok, reply.error
    assert len(reply.rows) == n


@then("this check fails")
def _():
    assert False, "the check failed"


@given("these labels", target_fixture="labels")
def _(datatable):
    return datatable


@then(parsers.parse("the labels are {text}"))
def _(labels, text):
    assert labels == json.loads(text), labels


@when("I run the query", target_fixture="query")
def _(docstring):
    return docstring


@then(parsers.parse("the query has {n:d} lines"))
def _(query, n):
    assert len(query.splitlines()) == n, query


@when(parsers.parse("the step skips because {why}"))
def _(why):
    pytest.skip(why)


@then(parsers.parse('the cell reads "{value}"'))
def _(value):
    assert value == "a | b", value
'''.replace("from types", "import json\nfrom types")

LIST = """\
@tool:list_clients
Feature: List clients

  Scenario: The client is listed
    Given a client
    When the server under test lists the clients
    Then it lists 3 clients

  Scenario: A label is there
    Given a client
    When I add a label
    Then the label is there
"""

LABEL = """\
@tool:label_client
Feature: Label a client

  Scenario: A label I add is there
    Given a client
    When I add a label
    Then the label is there

  Scenario: Removing a label takes it off
    Given a client
    Then the label is there
"""

INFO = """\
@tool:get_client_info
Feature: Client details

  Scenario: A client that is not found
    Given a client
    Then this check fails
"""

VQL = """\
@tool:run_vql
Feature: Run VQL

  Scenario: A query
    Given a client
    Then the label is there
"""


@pytest.fixture(autouse=True)
def _suite_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester's subprocesses import support.* from this checkout."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """The real layout: features/<family>/<tool>.feature bound by a copy of features/test_spec.py."""
    pytester.path.joinpath("pytest.ini").write_text(INI.format(sut_args=SUT_ARGS))
    pytester.makeconftest(CONFTEST)
    for rel, text in {"clients/list_clients.feature": LIST, "clients/label_client.feature": LABEL,
                      "clients/get_client_info.feature": INFO, "vql/run_vql.feature": VQL}.items():
        write(pytester, rel, text)
    pytester.path.joinpath("features", "test_spec.py").write_text((ROOT / "features" / "test_spec.py").read_text())
    return pytester


def write(pytester: pytest.Pytester, rel: str, text: str | bytes) -> Path:
    path = pytester.path / "features" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# ---------------------------------------------------------------------------- live progress


def test_live_gherkin_lines_show_in_a_default_run(project):
    """No -s: pytest's fd capture is on, as in `make spec`."""
    result = project.runpytest_subprocess("features/")
    result.assert_outcomes(passed=3, skipped=2, xfailed=1)
    result.stdout.fnmatch_lines([
        "Feature: List clients",
        "  Scenario: The client is listed  [[]fake[]]",
        "    Given a client  (passed, *s)",
        "    When the server under test lists the clients  (passed, *s)",
        "    Then it lists 3 clients  (passed, *s)",
    ])


# ---------------------------------------------------------------------------- running part of the spec


def test_a_folder_runs_exactly_its_features(project):
    result = project.runpytest("features/clients/", "-v")
    result.assert_outcomes(passed=2, skipped=2, xfailed=1, deselected=1)
    assert "test_a_query" not in result.stdout.str()


def test_a_feature_file_runs_exactly_its_scenarios(project):
    result = project.runpytest("features/clients/list_clients.feature")
    result.assert_outcomes(passed=2, deselected=4)
    result = project.runpytest("features/clients/list_clients.feature", "features/vql/run_vql.feature")
    result.assert_outcomes(passed=3, deselected=3)


def test_feature_colon_colon_title_runs_one_scenario(project):
    result = project.runpytest("features/clients/list_clients.feature::A label is there", "-v")
    result.assert_outcomes(passed=1, deselected=5)
    result.stdout.fnmatch_lines(["*test_a_label_is_there?fake? PASSED*"])


def test_an_unknown_title_is_a_usage_error_listing_the_titles(project):
    result = project.runpytest("features/clients/list_clients.feature::A label is here")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*list_clients.feature: no scenario titled 'A label is here'; its scenarios: "
                                 "'A label is there'; 'The client is listed'*"])


def test_the_whole_spec_still_runs_from_its_folder_or_module(project):
    project.runpytest("features/").assert_outcomes(passed=3, skipped=2, xfailed=1)
    project.runpytest("features/test_spec.py", "features/clients/").assert_outcomes(passed=3, skipped=2, xfailed=1)


# ---------------------------------------------------------------------------- nothing is lost in silence


def test_two_scenarios_with_one_title_fail_collection_naming_both_lines(project):
    write(project, "clients/list_clients.feature", LIST.replace("A label is there", "The client is listed"))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*list_clients.feature:4: 2 scenarios titled 'The client is listed' (lines 4, 9)*"])


def test_an_examples_column_a_step_does_not_name_fails_collection(project):
    """A placeholder with no column would reach the step as the literal text "<cell>": the
    scenario could pass without trying what the analyst wrote in the table."""
    write(project, "vql/run_vql.feature", '@tool:run_vql\nFeature: F\n  Scenario Outline: Cells\n'
                                          '    Then the cell reads "<cell>"\n\n'
                                          '    Examples:\n      | cel |\n      | a   |\n')
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*run_vql.feature:4: step uses <cell> but the Examples table at line 6 has no "
                                 "column 'cell'*"])


def test_a_step_above_the_first_scenario_fails_collection(project):
    write(project, "clients/list_clients.feature", LIST.replace("Feature: List clients\n",
                                                                 "Feature: List clients\n  Given a client\n"))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*list_clients.feature:3: step outside a Scenario or Background: 'Given a client'*"])


def test_a_step_above_the_first_scenario_of_a_rule_fails_collection(project):
    write(project, "clients/list_clients.feature", LIST.replace(
        "  Scenario: A label is there", "  Rule: Labels\n    When I add a label\n\n  Scenario: A label is there"))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*list_clients.feature:10: step outside a Scenario or Background: 'When I add a label'*"])


def test_a_scenario_with_no_steps_fails_collection(project):
    write(project, "vql/run_vql.feature", VQL + "\n  Scenario: Nothing yet\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*run_vql.feature:8: scenario 'Nothing yet' has no steps*"])


def test_a_byte_order_mark_and_crlf_are_accepted(project):
    write(project, "vql/run_vql.feature", b"\xef\xbb\xbf" + VQL.replace("\n", "\r\n").encode())
    project.runpytest("features/vql/").assert_outcomes(passed=1)


def test_a_parse_error_names_file_line_and_the_invisible_character(project):
    write(project, "vql/run_vql.feature", VQL.replace("Feature: Run VQL", "\u200bFeature: Run VQL"))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*run_vql.feature:2: Gherkin parse error: *invisible characters: "
                                 "U+200B ZERO WIDTH SPACE at column 1*"])


def test_an_invisible_character_that_parses_is_still_named(project):
    """A zero-width space in "Scenario:" turns the scenario into prose: nothing would run."""
    write(project, "vql/run_vql.feature", VQL.replace("  Scenario: A query", "  Scenario\u200b: A query"))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*run_vql.feature:4: invisible characters: U+200B ZERO WIDTH SPACE at column 11*"])


def test_a_scenario_without_a_tool_tag_fails_collection(project):
    write(project, "vql/run_vql.feature", VQL.replace("@tool:run_vql\n", ""))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*features/vql/run_vql.feature:3: scenario 'A query' has no @tool:<canonical tool> tag*"])


def test_skip_and_xfail_lines_point_at_the_scenario(project):
    result = project.runpytest("features/", "-rsx")
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] features/clients/label_client.feature:4: SUT fake has no label_client",
        "SKIPPED [[]1[]] features/clients/label_client.feature:9: SUT fake has no label_client",
        "XFAIL *test_a_client_that_is_not_found?fake? - SUT fake: known defect: answers every client id with "
        "not found (features/clients/get_client_info.feature:4)",
    ])
    assert "pytest_bdd" not in result.stdout.str()


def test_an_unbound_step_fails_naming_file_and_line_with_the_closest_steps_and_a_stub(project):
    write(project, "vql/run_vql.feature", VQL.replace("Then the label is there", "Then nothing binds me"))
    result = project.runpytest("features/vql/")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*NOT BOUND*run_vql.feature:6*", "*Step definition is not found: Then \"nothing binds me\"*",
                                 "*The closest existing steps:*", "*Or define it (in steps/<concern>.py):*"])


# ---------------------------------------------------------------------------- the supported Gherkin constructs


def _one(project: pytest.Pytester, text: str, **outcomes: int) -> pytest.RunResult:
    write(project, "vql/run_vql.feature", text)
    result = project.runpytest("features/vql/", "-v")
    result.assert_outcomes(**outcomes)
    return result


def test_construct_background_runs_before_each_scenario(project):
    _one(project, "@tool:run_vql\nFeature: F\n  Background:\n    Given a client\n\n"
                  "  Scenario: One\n    Then the label is there\n\n  Scenario: Two\n    Then this check fails\n",
         passed=1, failed=1)


def test_construct_rule_with_its_own_tool_tag(project):
    result = _one(project, "Feature: F\n\n  @tool:run_vql\n  Rule: Queries\n\n    Scenario: In a rule\n"
                           "      Given a client\n      Then the label is there\n", passed=1)
    result.stdout.fnmatch_lines(["*test_in_a_rule?fake? PASSED*"])


def test_construct_data_table_reaches_the_step(project):
    _one(project, '@tool:run_vql\nFeature: F\n  Scenario: Table\n    Given these labels\n'
                  '      | name      | colour |\n      | case-4711 | red    |\n'
                  '    Then the labels are [["name", "colour"], ["case-4711", "red"]]\n', passed=1)


def test_construct_doc_string_reaches_the_step(project):
    _one(project, '@tool:run_vql\nFeature: F\n  Scenario: Doc\n    When I run the query\n      """\n'
                  '      SELECT *\n      FROM clients()\n      """\n    Then the query has 2 lines\n', passed=1)


def test_construct_scenario_outline_with_an_escaped_pipe(project):
    _one(project, '@tool:run_vql\nFeature: F\n  Scenario Outline: Pipes\n    Then the cell reads "<cell>"\n\n'
                  '    Examples:\n      | cell   |\n      | a \\| b |\n', passed=1)


def test_construct_examples_column_tool_tags_each_row(project):
    result = _one(project, 'Feature: F\n  Scenario Outline: Per tool\n    Then the label is there\n\n'
                           '    Examples:\n      | tool         |\n      | run_vql      |\n      | label_client |\n',
                  passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*test_per_tool?fake-label_client?* SKIPPED*"])


def test_construct_language_header(project):
    _one(project, "# language: fr\n@tool:run_vql\nFonctionnalité: Étiqueter\n  Scénario: Une étiquette\n"
                  "    Soit un client\n    Quand j'ajoute une étiquette\n    Alors l'étiquette est là\n", passed=1)


# ---------------------------------------------------------------------------- CI result files


def test_junit_and_cucumber_files_name_the_sut_and_the_tool(project):
    result = project.runpytest("features/", "--junitxml=junit.xml", "--cucumberjson=cucumber.json")
    result.assert_outcomes(passed=3, skipped=2, xfailed=1)
    cases = ET.parse(project.path / "junit.xml").getroot().iter("testcase")
    seen = {}
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        seen[case.get("name")] = props
    assert set(seen) == {"test_the_client_is_listed[fake]", "test_a_label_is_there[fake]",
                         "test_a_label_i_add_is_there[fake]", "test_removing_a_label_takes_it_off[fake]",
                         "test_a_client_that_is_not_found[fake]", "test_a_query[fake]"}, seen
    assert seen["test_a_label_i_add_is_there[fake]"]["tool"] == "label_client"
    assert seen["test_a_label_i_add_is_there[fake]"]["scenario"] == "features/clients/label_client.feature:4"
    assert seen["test_a_query[fake]"]["tool"] == "run_vql"
    features = json.loads((project.path / "cucumber.json").read_text())
    elements = {el["name"]: {t["name"] for t in el["tags"]} for f in features for el in f["elements"]}
    # pytest-bdd writes scenarios that ran (a skip at setup never reaches its cucumber report)
    assert elements["The client is listed [fake]"] >= {"tool:list_clients", "sut:fake"}, elements
    assert elements["A query [fake]"] >= {"tool:run_vql", "sut:fake"}, elements


def parallel(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, extra_conftest: str = "") -> list[str]:
    """pytest args for an xdist run of ``project``, whose controller then starts a fake lab (the
    real one would provision Velociraptor)."""
    monkeypatch.setenv("FAKE_LAB_LOG", str(project.path / "lab-events.jsonl"))
    monkeypatch.setenv("FAKE_LAB_DIR", str(project.path / "the-lab"))
    project.makeconftest(CONFTEST + extra_conftest + "\n" + FAKE_LAB_CONFTEST)
    return ["-n", "2"]


def test_cucumber_json_shows_a_scenario_skipped_in_a_step_as_skipped_not_passed(project, monkeypatch):
    """pytest-bdd's cucumber JSON had the skipping step "passed" and left out the steps after
    it: a CI dashboard reading it counted a skipped scenario as passed. Under xdist its file was
    empty (the scenario data stayed in the workers)."""
    write(project, "vql/run_vql.feature", (
        "@tool:run_vql\nFeature: Run VQL\n\n"
        "  Scenario: A query\n    Given a client\n    When the step skips because no linux client\n"
        "    Then the label is there\n    And this check fails\n\n"
        "  Scenario Outline: A query of <n> lines\n    Given a client\n"
        "    When the step skips because no <os> client\n    Then the query has <n> lines\n\n"
        "    Examples:\n      | n | os      |\n      | 2 | windows |\n"))
    result = project.runpytest("features/vql", "--cucumberjson=cucumber.json", *parallel(project, monkeypatch))
    result.assert_outcomes(skipped=2)
    features = json.loads((project.path / "cucumber.json").read_text())
    steps = {el["name"]: [(s["keyword"], s["name"], s["result"]["status"]) for s in el["steps"]]
             for f in features for el in f["elements"]}
    assert steps["A query [fake]"] == [
        ("Given", "a client", "passed"), ("When", "the step skips because no linux client", "skipped"),
        ("Then", "the label is there", "skipped"), ("And", "this check fails", "skipped")], steps
    assert steps["A query of 2 lines [fake]"] == [
        ("Given", "a client", "passed"), ("When", "the step skips because no windows client", "skipped"),
        ("Then", "the query has 2 lines", "skipped")], steps


def _conftest(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, extra: str, xdist: bool) -> list[str]:
    """The project's conftest with ``extra``; the pytest args of an xdist run of it ([] serial)."""
    if xdist:
        return parallel(project, monkeypatch, extra)
    project.makeconftest(CONFTEST + extra)
    return []


#: Fails a scenario after its last step, as the SUT's end-of-scenario check does.
FAILS_AFTER_THE_STEPS = '''

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if "after_the_steps" in item.name:
        raise AssertionError("the SUT wrote on stdout after its reply")
    return result
'''


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "xdist"])
def test_cucumber_json_shows_every_failure_of_a_scenario_as_failed(project, monkeypatch, xdist):
    """A failure after the last step (as the SUT's end-of-scenario check fails) and a teardown
    error (a cleanup) each showed every step "passed" in pytest-bdd's cucumber JSON (a step
    ended by pytest.fail pytest-bdd 9 marks itself: kept here as the plain case)."""
    extra = '''

@when("the step fails by pytest.fail")
def _():
    pytest.fail("the wait timed out")


@pytest.fixture
def broken_cleanup():
    yield
    raise RuntimeError("could not remove the label")


@given("a label that cannot be removed")
def _(broken_cleanup):
    pass

'''
    workers = _conftest(project, monkeypatch, extra + FAILS_AFTER_THE_STEPS, xdist)
    write(project, "vql/run_vql.feature", (
        "@tool:run_vql\nFeature: Run VQL\n\n"
        "  Scenario: A query\n    Given a client\n    When the step fails by pytest.fail\n"
        "    Then the label is there\n\n"
        "  Scenario: After the steps\n    Given a client\n    Then the label is there\n\n"
        "  Scenario: A cleanup\n    Given a label that cannot be removed\n    Then the label is there\n"))
    result = project.runpytest("features/vql", "--cucumberjson=cucumber.json", *workers)
    result.assert_outcomes(failed=2, passed=1, errors=1)
    features = json.loads((project.path / "cucumber.json").read_text())
    steps = {el["name"]: [(s["keyword"], s["result"]["status"]) for s in el["steps"]]
             for f in features for el in f["elements"]}
    assert steps["A query [fake]"] == [("Given", "passed"), ("When", "failed"), ("Then", "failed")], steps
    assert steps["After the steps [fake]"] == [("Given", "passed"), ("Then", "passed"), ("After", "failed")], steps
    assert steps["A cleanup [fake]"] == [("Given", "passed"), ("Then", "passed"), ("After", "failed")], steps
    errors = [s["result"].get("error_message", "") for f in features for el in f["elements"] for s in el["steps"]]
    assert any("the SUT wrote on stdout after its reply" in e for e in errors), errors
    assert any("could not remove the label" in e for e in errors), errors



OUTSIDE_THE_STEPS = '''

@pytest.fixture
def tears_down_badly():
    yield
    raise RuntimeError("the leak audit found raptorspec-1234 left behind")


@pytest.fixture(autouse=True)
def _phases(request):
    name = request.node.name
    if "setup_breaks" in name:
        raise RuntimeError("the SUT did not start")
    if "skipped_at_setup" in name:
        request.getfixturevalue("tears_down_badly")
        pytest.skip("SUT fake has no run_vql")
    if "known_defect" in name:
        request.applymarker(pytest.mark.xfail(strict=True, reason="known defect"))

'''


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "xdist"])
def test_cucumber_json_has_every_scenario_the_run_charged(project, monkeypatch, xdist):
    """A setup error and a teardown error of a scenario skipped at setup (the leak audit is
    charged to the last test) were not in pytest-bdd's cucumber JSON; a known defect failing
    after the steps and a step nobody defined showed the steps "passed"."""
    workers = _conftest(project, monkeypatch, OUTSIDE_THE_STEPS + FAILS_AFTER_THE_STEPS, xdist)
    write(project, "vql/run_vql.feature", (
        "@tool:run_vql\nFeature: Run VQL\n\n"
        "  Scenario: Setup breaks\n    Given a client\n    Then the label is there\n\n"
        "  Scenario: Skipped at setup\n    Given a client\n    Then the label is there\n\n"
        "  Scenario: Known defect after the steps\n    Given a client\n    Then the label is there\n\n"
        "  Scenario: Nobody wrote a step\n    Given a client\n    When a step nobody wrote\n"
        "    Then the label is there\n"))
    result = project.runpytest("features/vql", "--cucumberjson=cucumber.json", *workers)
    result.assert_outcomes(errors=2, skipped=1, xfailed=1, failed=1)
    features = json.loads((project.path / "cucumber.json").read_text())
    steps = {el["name"]: [(s["keyword"], s["result"]["status"]) for s in el["steps"]]
             for f in features for el in f["elements"]}
    assert steps["Setup breaks [fake]"] == [("Before", "failed")], steps
    assert steps["Skipped at setup [fake]"] == [("After", "failed")], steps
    assert steps["Known defect after the steps [fake]"] == [("Given", "passed"), ("Then", "passed"),
                                                            ("After", "skipped")], steps
    assert steps["Nobody wrote a step [fake]"] == [("Given", "passed"), ("When", "failed"), ("Then", "failed")], steps
    errors = [s["result"].get("error_message", "") for f in features for el in f["elements"] for s in el["steps"]]
    assert any("the SUT did not start" in e for e in errors), errors
    assert any("raptorspec-1234 left behind" in e for e in errors), errors
    tags = {el["name"]: {t["name"] for t in el["tags"]} for f in features for el in f["elements"]}
    assert tags["Setup breaks [fake]"] >= {"tool:run_vql", "sut:fake"}, tags

def test_cucumber_json_goes_into_a_folder_that_does_not_exist_yet(project):
    """pytest-bdd wrote it without making the folder: the run ended in a FileNotFoundError
    traceback and wrote no junit XML either."""
    result = project.runpytest("features/vql", "--cucumberjson=out/new/cucumber.json", "--junitxml=out/new/junit.xml")
    result.assert_outcomes(passed=1)
    assert json.loads((project.path / "out" / "new" / "cucumber.json").read_text())
    assert (project.path / "out" / "new" / "junit.xml").is_file()


# ---------------------------------------------------------------------------- the kept linter


def test_the_features_pass_the_house_linter():
    from support.gherkin import lint

    status, report = lint([ROOT / "features"])
    assert (status, report) == (0, ""), report


def test_the_linter_finds_what_the_house_voice_forbids(tmp_path):
    from support.gherkin import lint

    bad = tmp_path / "bad.feature"
    bad.write_text(
        "@tool:label_client @tool:nonsense\n"
        "Feature: Label a client\n\n"
        "  Scenario: A label I add is there\n"
        "      Given an enrolled linux client\n"          # indented 6, not 4
        "    When I add the labels \n"                    # trailing space
        "      | name | colour |\n"
        "      | case-4711 | red |\n"                     # not aligned
        "    Then Velociraptor shows the labels\n\n"
        "  Scenario: A label I add is there\n"
        "    Then Velociraptor shows the labels\n")
    status, report = lint([tmp_path], tool_rows=["label_client"])
    assert status == 1
    for expected in ("bad.feature", "Not allowed tag @tool:nonsense", "indentation", "no-trailing-spaces",
                     "no-dupe-scenario-names", "bad.feature:8: table row not aligned with line 7",
                     "2 scenarios titled 'A label I add is there' (lines 4, 11)"):
        assert expected in report, (expected, report)


def test_allure_results_label_the_sut_and_the_tool(project):
    result = project.runpytest("features/vql/", "--alluredir=allure")
    result.assert_outcomes(passed=1, deselected=5)
    results = [json.loads(p.read_text()) for p in (project.path / "allure").glob("*-result.json")]
    assert len(results) == 1, results
    labels = {(label["name"], label["value"]) for label in results[0]["labels"]}
    assert {("sut", "fake"), ("tool", "run_vql"), ("tag", "sut:fake"), ("tag", "tool:run_vql")} <= labels, labels


# ---------------------------------------------------------------------------- the README walk


WALK_FEATURE = '''\
@tool:vql_help
Feature: Help on VQL functions
  As an analyst writing my first query
  I want help on the functions VQL offers
  So that I can use them without leaving the console

  Scenario: Help on functions names a function
    When I ask for VQL help on "functions"
    Then the server under test reports success
'''


def test_the_readme_walk_from_a_new_feature_to_a_run_of_just_that_file(tmp_path):
    """README "Writing a scenario", in a temporary copy of the repo: write a feature, lint it,
    see exactly its scenarios (one per SUT) selected by its path and by its title."""
    import shutil
    import subprocess

    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "reports", "__pycache__", "*.egg-info", ".pytest_cache"))
    modules = ROOT / "tools" / "gherkin-lint" / "node_modules"
    if modules.exists():  # the copy's linter without a second npm ci
        (copy / "tools" / "gherkin-lint" / "node_modules").symlink_to(modules)
    new = copy / "features" / "vql" / "vql_help_functions.feature"
    new.write_text(WALK_FEATURE)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = str(copy)

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *argv], cwd=copy, env=env, capture_output=True, text=True, timeout=300)

    lint = run("-m", "support.gherkin", "lint", "features/vql/vql_help_functions.feature")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    by_path = run("-m", "pytest", "features/vql/vql_help_functions.feature", "--collect-only", "-q", "--report", "none")
    assert by_path.returncode == 0, by_path.stdout + by_path.stderr
    selected = [line for line in by_path.stdout.splitlines() if "::" in line]
    from support.sut.selection import DEFAULT_SUTS

    assert len(selected) == len(DEFAULT_SUTS) and all("test_help_on_functions_names_a_function[" in s for s in selected), by_path.stdout
    by_title = run("-m", "pytest", "features/vql/vql_help_functions.feature::Help on functions names a function",
                   "--collect-only", "-q", "--report", "none")
    assert sorted(line for line in by_title.stdout.splitlines() if "::" in line) == sorted(selected), by_title.stdout


# ---------------------------------------------------------------------------- what an author gets wrong fails loudly


@pytest.mark.parametrize("text", ["", "\n\n", "# just a comment\n# language: en\n"], ids=["empty", "blank", "comments"])
def test_a_feature_file_with_no_feature_line_fails_collection_naming_it(project, text):
    """pytest-bdd 9 raised KeyError: 'feature' for such a file, naming no file."""
    write(project, "vql/empty.feature", text)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*features/vql/empty.feature:1: no Feature: line*"])
    assert "KeyError" not in result.stdout.str()


@pytest.mark.parametrize("examples", ["", "\n    Examples:\n", "\n    Examples:\n      | label |\n"],
                         ids=["no-examples", "examples-without-table", "header-without-rows"])
def test_a_scenario_outline_without_example_rows_fails_collection(project, examples):
    """pytest-bdd ran such an outline once, its steps given the literal "<label>": it passed."""
    write(project, "vql/run_vql.feature", '@tool:run_vql\nFeature: F\n\n  Scenario Outline: Labels\n'
                                          '    Given a client\n    Then the labels are <label>\n' + examples)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*features/vql/run_vql.feature:[4-9]: Scenario Outline 'Labels' has no example "
                                 "rows*"])


def test_an_empty_examples_table_beside_a_full_one_fails_collection(project):
    write(project, "vql/run_vql.feature", '@tool:run_vql\nFeature: F\n\n  Scenario Outline: Labels\n'
                                          '    Given a client\n    Then the cell reads "<value>"\n\n'
                                          '    Examples:\n      | value |\n      | a \\| b |\n\n'
                                          '    Examples: none yet\n      | value |\n')
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*features/vql/run_vql.feature:12: the Examples table of Scenario Outline 'Labels' "
                                 "has no rows*"])


def test_one_title_in_two_features_fails_collection_naming_both_files(project):
    """A title names one scenario everywhere (report, known defects ``tool::title``,
    ``x.feature::title``): a known defect keyed by it would land on the other feature's scenario."""
    write(project, "vql/my.feature", "@tool:list_clients\nFeature: Mine\n\n  Scenario: The client is listed\n"
                                     "    Given a client\n    Then this check fails\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*features/clients/list_clients.feature:4: scenario title 'The client is listed' is "
                                 "also the title of *features/vql/my.feature:4*"])
    result = project.runpytest("features/vql/my.feature")  # a run of either file fails too
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_a_run_of_some_features_fails_only_on_their_problems_and_names_the_others(project):
    """A broken file elsewhere does not block `pytest features/clients/`; one warning names it;
    a run that includes it, and the full run, still fail."""
    write(project, "vql/my.feature", "@tool:run_vql\nFeature: Mine\n\n  Scenario: Twice\n    Given a client\n\n"
                                     "  Scenario: Twice\n    Given a client\n")
    write(project, "vql/empty.feature", "# nothing yet\n")
    result = project.runpytest("features/clients/")
    result.assert_outcomes(passed=2, skipped=2, xfailed=1, deselected=1)
    result.stdout.fnmatch_lines(["*2 feature files outside this run have problems (the full run fails on them): "
                                 "*features/vql/empty.feature, *features/vql/my.feature*"])
    for args in (["features/vql/"], ["features/"], []):
        result = project.runpytest(*args)
        assert result.ret == pytest.ExitCode.INTERRUPTED, args
        result.stdout.fnmatch_lines(["*vql/my.feature:4: 2 scenarios titled 'Twice'*"])


def test_the_linter_fails_on_a_path_that_does_not_exist(tmp_path, capsys):
    """`lint features/vql/Bad.feature` (wrong case) printed "features clean" and exited 0."""
    from support.gherkin import main

    missing = tmp_path / "Bad.feature"
    assert main(["lint", str(missing)]) == 2
    out = capsys.readouterr().out
    assert f"{missing}: no such file or folder" in out and "clean" not in out, out


def test_the_linter_runs_the_checks_collection_runs(tmp_path):
    """What collection rejects, lint rejects: an Examples tool value naming no canonical tool,
    a scenario with no tool, one title in two files, an outline without rows."""
    from support.gherkin import lint

    (tmp_path / "a.feature").write_text(
        "Feature: Tools\n\n"
        "  Scenario Outline: Each tool is listed\n"
        "    Then the tool <tool> is listed\n\n"
        "    Examples:\n"
        "      | tool     |\n"
        "      | run_vqll |\n\n"
        "  Scenario: No tool at all\n"
        "    Then nothing\n")
    (tmp_path / "b.feature").write_text(
        "@tool:run_vql\nFeature: Other\n\n  Scenario: No tool at all\n    Then nothing\n")
    status, report = lint([tmp_path], tool_rows=["run_vql"])
    assert status == 1
    for expected in ("a.feature:8: Examples column tool names no canonical tool: 'run_vqll'",
                     "a.feature:10: scenario 'No tool at all' has no @tool:<canonical tool> tag",
                     "a.feature:10: scenario title 'No tool at all' is also the title of"):
        assert expected in report, (expected, report)


def test_two_step_definitions_of_one_phrase_fail_collection_naming_both(project):
    """A second `@then("this check fails")` whose body passes silently replaced the first: the
    failing scenario turned green. Same phrase, same type (or an untyped @step): an error."""
    project.path.joinpath("features", "conftest.py").write_text(
        "from pytest_bdd import then\n\n\n@then('this check fails')\ndef _():\n    assert True\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*2 step definitions of then 'this check fails' (conftest.py:*, "
                                 "features/conftest.py:4)*"])


def test_two_step_definitions_binding_one_feature_line_fail_collection(project):
    """Two phrases that both bind `Then it lists 3 clients`: pytest-bdd would pick one in silence."""
    project.path.joinpath("features", "conftest.py").write_text(
        "from pytest_bdd import parsers, then\n\n\n@then(parsers.parse('it lists {n} clients'))\ndef _(n):\n"
        "    assert True\n")
    result = project.runpytest("features/clients/")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*features/clients/list_clients.feature:7: 2 step definitions bind then "
                                 "'it lists 3 clients' (conftest.py:*, features/conftest.py:4)*"])


def test_one_phrase_as_a_given_and_a_then_is_allowed(project):
    """And/But take the type of the step before: a Given and a Then of one phrase never compete."""
    project.path.joinpath("features", "conftest.py").write_text(
        "from pytest_bdd import given\n\n\n@given('the label is there')\ndef _():\n    pass\n")
    project.runpytest("features/vql/").assert_outcomes(passed=1, deselected=5)


def test_a_forgotten_given_names_the_scenario_and_the_givens_that_provide_the_fixture(project):
    """Without its Background Given, a step's fixture is not found: pytest printed `fixture
    'labels' not found` and its whole fixture list. The scenario and the Given that provides it
    are named first; pytest's message stays below, less its line of a hundred fixture names."""
    write(project, "vql/run_vql.feature", "@tool:run_vql\nFeature: F\n\n  Scenario: Labels forgotten\n"
                                          "    Given a client\n    Then the labels are a, b\n")
    result = project.runpytest("features/vql/")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*Scenario 'Labels forgotten' (features/vql/run_vql.feature:4): the step 'Then the labels are a, b' "
        "(line 6) needs 'labels', which no step before it provided. A Given provides it: "
        "'Given these labels' (conftest.py:*)*",
        "*fixture 'labels' not found*",
        "*use 'pytest --fixtures *' for help on them.*",
    ])
    assert "available fixtures:" not in result.stdout.str()


def test_a_scenario_tagged_with_one_tool_that_calls_another_fails_naming_both(project):
    """A scenario copied into run_vql.feature kept calling list_clients: it passed, and the
    matrix filed its verdict under run_vql (and a SUT without run_vql would skip it). It fails,
    naming the tag and the tools it called; the same steps under @tool:list_clients pass, and a
    scenario that calls no tool (discovery reads tools/list) is not checked."""
    write(project, "vql/run_vql.feature", "@tool:run_vql\nFeature: F\n\n  Scenario: Copied from the clients\n"
                                          "    Given a client\n    When the server under test lists the clients\n"
                                          "    Then it lists 3 clients\n\n  Scenario: No call\n    Given a client\n"
                                          "    Then the label is there\n")
    result = project.runpytest("features/vql/")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*ToolNotCalled: Scenario 'Copied from the clients' (*run_vql.feature:4) is tagged "
                                 "@tool:run_vql but never called run_vql; it called list_clients.*"])
    project.runpytest("features/clients/list_clients.feature").assert_outcomes(passed=2)
