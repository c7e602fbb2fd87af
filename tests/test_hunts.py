"""support/hunts.py: naming, finding and reading hunts — its rules, with a fake oracle."""
from __future__ import annotations

import pytest

from support import hunts


class FakeOracle:
    def __init__(self, hunt_rows=(), sources=None, results=None):
        self.hunt_rows = list(hunt_rows)
        self.sources = sources or {}
        self.results = results or {}
        self.asked: list[tuple[str, str | None]] = []

    def hunts(self):
        return self.hunt_rows

    def artifact_sources(self, name):
        return self.sources.get(name, [name])

    def hunt_results(self, hunt_id, artifact=None):
        self.asked.append((hunt_id, artifact))
        return self.results.get(artifact, [])

    def hunt_results_by_source(self, hunt_id, artifacts):
        from support.oracle import Oracle

        return Oracle.hunt_results_by_source(self, hunt_id, artifacts)


class FakeLedger:
    def name(self, word):
        return f"raptorspec-run-{word}"


def test_a_word_names_the_same_hunt_within_a_scenario_and_another_in_the_next():
    first, second = hunts.namer(FakeLedger()), hunts.namer(FakeLedger())
    assert first("sweep") == first("sweep") != second("sweep")
    assert first("sweep").startswith("raptorspec-run-sweep-")


def test_a_hunts_client_flow_id():
    assert hunts.client_flow_id("H.ABC") == "F.ABC.H" == hunts.Hunt("H.ABC", "d", ("A",)).client_flow_id


def test_the_one_described_fails_naming_how_many():
    oracle = FakeOracle([{"hunt_id": "H.1", "hunt_description": "d", "state": "PAUSED"},
                         {"hunt_id": "H.2", "hunt_description": "d", "state": "RUNNING"}])
    with pytest.raises(AssertionError, match=r"2 hunt\(s\) described 'd'.*H.1.*H.2"):
        hunts.the_one_described(oracle, "d")
    assert hunts.id_described(FakeOracle([{"hunt_id": "H.3", "hunt_description": "e"}]), "e") == "H.3"


def test_listed_reads_ids_and_states_under_any_key():
    rows = [{"HuntId": "H.1", "State": "RUNNING"}, {"hunt_id": "H.2", "state": "paused"}, {"nothing": 1}, "text"]
    assert hunts.listed(rows) == {"H.1": "RUNNING", "H.2": "paused"}


def test_row_facts():
    row = {"hunt_id": "H.1", "state": "STOPPED", "artifacts": ["A"], "hunt_description": "d",
           "condition": {"labels": {"label": ["l1"]}}}
    assert (hunts.state(row), hunts.artifacts(row), hunts.description(row), hunts.include_labels(row)) == (
        "STOPPED", ["A"], "d", ["l1"])
    assert hunts.state(None) == "" and hunts.artifacts(None) == [] and hunts.include_labels({}) == []
    assert hunts.states([row]) == {"H.1": "STOPPED"}


def test_result_columns_leave_out_volatile_and_internal_ones():
    assert hunts.result_columns([{"Name": "x", "_Source": "s", "Timestamp": 1}], frozenset({"Timestamp"})) == ["Name"]


def test_results_by_source_reads_every_source_of_a_multi_source_artifact():
    oracle = FakeOracle(sources={"G": ["G/Basic", "G/Users"]}, results={"G/Users": [{"Name": "root"}]})
    hunt = hunts.Hunt("H.1", "d", ("G",))
    by_source = hunts.results_by_source(oracle, hunt)
    assert by_source == {"G/Basic": [], "G/Users": [{"Name": "root"}]}
    assert hunts.no_results(hunt, by_source) is None
    assert hunts.results_by_source(oracle, hunt, "G/Basic") == {"G/Basic": []}
    assert "G/Basic" in hunts.no_results(hunt, {"G/Basic": []})


class StateOracle:
    """hunt() answers from a list of states, one per call (the last repeats)."""

    def __init__(self, states):
        self.states = list(states)

    def hunt(self, hunt_id):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return None if state is None else {"hunt_id": hunt_id, "state": state}


def test_a_hunt_that_keeps_its_state_stays():
    assert hunts.stays(StateOracle(["PAUSED"]), "H.1", "PAUSED", seconds=0.3) is None


@pytest.mark.parametrize("states, seen", [(["PAUSED", "PAUSED", "RUNNING"], "RUNNING"), ([None], "no such hunt")])
def test_a_hunt_that_changes_or_goes_does_not_stay(states, seen):
    problem = hunts.stays(StateOracle(states), "H.1", "PAUSED", seconds=5)
    assert problem and seen in problem and "H.1" in problem


def test_many_hunts_are_made_in_order_in_their_state(monkeypatch):
    made = []
    monkeypatch.setattr(hunts, "make", lambda oracle, ledger, artifact, d, **kw: made.append((d, kw["state"])) or d)
    assert hunts.make_many(None, None, "A", ["x-1", "x-2"], state="STOPPED") == ["x-1", "x-2"]
    assert made == [("x-1", "STOPPED"), ("x-2", "STOPPED")]
