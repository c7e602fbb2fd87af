"""support/quarantine.py: the guard that keeps this machine's network safe, and the facts read
from quarantine flows."""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from support import quarantine
from support.errors import VQLError


def _flow(fid, artifact, params=None, state="FINISHED"):
    return {"session_id": fid, "state": state, "request": {"artifacts": [artifact], "specs": [
        {"artifact": artifact, "parameters": {"env": [{"key": k, "value": v} for k, v in (params or {}).items()]}}]}}


def test_an_embedded_lab_is_safe_when_its_client_is_unprivileged():
    assert quarantine.why_unsafe(SimpleNamespace(mode="embedded", client_user="nobody")) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can run a client that could apply a quarantine")
def test_an_embedded_lab_whose_client_runs_as_root_is_not_safe():
    assert "root" in quarantine.why_unsafe(SimpleNamespace(mode="embedded", client_user=None))


def test_docker_and_external_labs_are_taken_as_safe():
    assert quarantine.why_unsafe(SimpleNamespace(mode="docker")) is None
    assert quarantine.why_unsafe(SimpleNamespace(mode="external")) is None


@pytest.mark.parametrize("value,lifts", [("Y", True), ("true", True), ("1", True), ("N", False), ("", False)])
def test_removes_policy_reads_velociraptors_truthy_words(value, lifts):
    art = quarantine.ARTIFACTS["linux"]
    assert quarantine.removes_policy(_flow("F.1", art, {"RemovePolicy": value}), art) is lifts


def test_parameters_are_read_per_artifact():
    art = quarantine.ARTIFACTS["linux"]
    flow = _flow("F.1", art, {"pathToNFT": "/x"})
    assert quarantine.parameters_of(flow, art) == {"pathToNFT": "/x"}
    assert quarantine.parameters_of(flow, "Other.Artifact") == {}
    assert quarantine.artifacts_of(flow) == [art]


def test_new_flows_are_those_not_seen_before_once_each():
    rows = [_flow("F.1", "A"), _flow("F.2", "B"), _flow("F.2", "B")]
    oracle = SimpleNamespace(flows=lambda cid: rows)
    assert [f["session_id"] for f in quarantine.new_flows(oracle, "C.1", {"F.1"})] == ["F.2"]
    assert quarantine.describe([rows[1]]) == "F.2 ['B'] FINISHED" and quarantine.describe([]) == "none"


def test_flows_of_an_unknown_client_are_none_but_other_errors_raise():
    def unknown(cid):
        raise VQLError("flows", [f"flows: unable to get client {cid}: Client ID {cid} not known in this org: NotFoundError"])

    def broken(cid):
        raise VQLError("flows", ["ERROR:Symbol x not found"])

    assert quarantine.flows_of(SimpleNamespace(flows=unknown), "C.0") == []
    with pytest.raises(VQLError):
        quarantine.flows_of(SimpleNamespace(flows=broken), "C.0")


def test_the_quarantine_label_goes_through_the_oracle():
    calls = []
    oracle = SimpleNamespace(label=lambda cid, labels, op: calls.append((cid, labels, op)),
                             client=lambda cid: {"labels": ["quarantine"]})
    quarantine.set_label(oracle, "C.1", "set")
    assert calls == [("C.1", ["Quarantine"], "set")] and quarantine.has_label(oracle, "C.1")
