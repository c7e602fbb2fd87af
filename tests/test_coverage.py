"""Argument coverage of the contract (support/coverage.py): every argument of every canonical
tool is claimed by a scenario (``@arg:<name>``) or listed with a reason; claims are honest."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from support import coverage
from support.contract import TOOLS

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [ROOT.parent / "shared" / "contracts" / "megaraptor-mcp-tools.md",
              ROOT.parent.parent / "shared" / "contracts" / "megaraptor-mcp-tools.md"]


@pytest.fixture(scope="module")
def the_matrix():
    return coverage.matrix()


def test_every_argument_is_claimed_by_a_scenario_or_listed_with_a_reason(the_matrix):
    assert not the_matrix["uncovered"], (
        "Arguments no scenario claims (tag a scenario whose Then checks the argument's effect in Velociraptor "
        "with @arg:<name>, or list it with a reason in support/coverage_exceptions.yaml):\n  "
        + "\n  ".join(the_matrix["uncovered"]))


def test_no_exception_is_stale(the_matrix):
    assert not the_matrix["stale_exceptions"], (
        "support/coverage_exceptions.yaml lists arguments a scenario claims, or that no tool takes (remove them):\n  "
        + "\n  ".join(the_matrix["stale_exceptions"]))


def test_every_claim_names_an_argument_of_its_tool(the_matrix):
    assert not the_matrix["problems"], "\n".join(the_matrix["problems"])


def test_the_matrix_is_json_and_lists_every_tool_and_argument(the_matrix):
    back = json.loads(json.dumps(the_matrix))
    rows = [(t["tool"], a["argument"]) for f in back["families"] for t in f["tools"] for a in t["arguments"]]
    assert sorted({t for t, _ in rows}) == sorted(TOOLS)
    assert len(rows) == sum(len(a) for a in coverage.ARGUMENTS.values()) == back["totals"]["arguments"]
    assert back["totals"]["covered"] + back["totals"]["excepted"] + back["totals"]["uncovered"] == len(rows)


def test_removing_the_one_covering_scenario_uncovers_the_argument(tmp_path):
    """The check can fail: with the only @arg:timeout claim removed, collect_artifact.timeout is uncovered."""
    features = tmp_path / "features"
    shutil.copytree(ROOT / "features", features)
    target = features / "artifacts" / "collect_artifact.feature"
    text = target.read_text(encoding="utf-8")
    assert "@arg:timeout" in text
    target.write_text(text.replace(" @arg:timeout", ""), encoding="utf-8")
    m = coverage.matrix(features)
    assert "collect_artifact.timeout" in m["uncovered"]
    assert coverage.matrix(ROOT / "features")["uncovered"] == []


def test_an_exception_for_a_claimed_argument_is_stale(tmp_path):
    listed = tmp_path / "exceptions.yaml"
    listed.write_text((coverage.EXCEPTIONS_FILE.read_text(encoding="utf-8")
                       + '\ncollect_artifact.timeout: "no reason"\nlist_clients.nonsense: "no such argument"\n'),
                      encoding="utf-8")
    m = coverage.matrix(exceptions_file=listed)
    assert m["stale_exceptions"] == ["collect_artifact.timeout", "list_clients.nonsense"]


def test_a_claim_on_an_argument_the_tool_does_not_take_is_a_problem(tmp_path):
    (tmp_path / "x.feature").write_text(
        "@tool:list_clients\nFeature: x\n\n  @arg:timeout\n  Scenario: y\n    When I list the clients\n",
        encoding="utf-8")
    found, problems = coverage.claims(tmp_path)
    assert not found and len(problems) == 1 and "x.feature:5" in problems[0] and "@arg:timeout" in problems[0]


def test_a_malformed_exceptions_file_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("collect_artifact.timeout: ''\n", encoding="utf-8")
    with pytest.raises(ValueError, match="non-empty reason"):
        coverage.exceptions(bad)


@pytest.mark.parametrize("calls, expected", [
    ([], "never sent timeout"),
    ([("collect_artifact", {"client_id": "C.1", "timeout": 600})], "only with the contract's default 600"),
    ([("collect_artifact", {"timeout": None})], "never sent timeout"),
    ([("list_flows", {"timeout": 5})], "never sent timeout"),
    ([("collect_artifact", {"timeout": 600}), ("collect_artifact", {"timeout": 123})], None),
])
def test_a_claim_is_honoured_only_by_a_telling_value_sent_to_its_tool(calls, expected):
    wrong = coverage.unsent_claims(["timeout"], ["collect_artifact"], calls)
    if expected is None:
        assert wrong == []
    else:
        assert len(wrong) == 1 and expected in wrong[0]


def test_a_required_argument_is_honoured_by_any_value():
    assert coverage.unsent_claims(["client_id"], ["get_client_info"], [("get_client_info", {"client_id": "C.1"})]) == []


def test_arguments_are_the_contracts():
    """ARGUMENTS match the parameters of each tool in the contract file (when it is beside the clone)."""
    found = next((p for p in CANDIDATES if p.is_file()), None)
    if found is None:
        pytest.skip("the contract file is not beside this clone")
    params: dict[str, list[str]] = {}
    for line in found.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) >= 2 and cells[0] in coverage.ARGUMENTS:
            text = cells[1].split("→")[0]
            text = re.sub(r"\([^)]*\)", "", text)  # (docker/binary/…), (add/remove)
            names = []
            for part in text.split(","):
                word = re.match(r"\s*([a-z_]+(?:/[a-z_]+)*)", part)
                if word:
                    first, *more = word.group(1).split("/")
                    names.append(first)
                    prefix = first.rsplit("_", 1)[0] + "_" if more else ""
                    names.extend(prefix + m for m in more)  # include_windows/linux/macos
            params[cells[0]] = names
    assert params == {t: list(a) for t, a in coverage.ARGUMENTS.items()}


def test_an_arg_tag_is_a_mark_and_an_unknown_one_fails_collection(pytester):
    """The @arg: tag is applied by steps/arguments.py's hook (before support.plugin's), and a
    claim naming no argument of any tool fails collection with its file."""
    pytester.makeconftest(f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
                          "pytest_plugins = ['support.plugin', 'support.sut.plugin', 'support.ledger', "
                          "'support.targets', 'steps.arguments']\n")
    pytester.makeini("[pytest]\nbdd_features_base_dir = .\n")
    (pytester.path / "a.feature").write_text(
        "@tool:list_clients\nFeature: a\n\n  @arg:limit\n  Scenario: b\n    When nothing\n\n"
        "  @arg:no_such_argument\n  Scenario: c\n    When nothing\n", encoding="utf-8")
    pytester.makepyfile(test_a="from pytest_bdd import scenarios\nscenarios('a.feature')\n")
    result = pytester.runpytest("--collect-only", "-q", "--sut", "reference", "-p", "no:randomly")
    result.stderr.fnmatch_lines(["*a.feature:8: unknown tag @arg:no_such_argument*"])
    assert "@arg:limit" not in result.stderr.str()
