"""The oracle's verdicts on Velociraptor's query logs, and hunt results read source by source.

Fast tests run over log lines recorded from Velociraptor v0.77.2 over the API (embedded lab,
2026-11-29); the live tests ask a real Velociraptor (``-m lab``; ``--lab external
--api-config …`` reuses a running lab).
"""
from __future__ import annotations

import pytest

from support import hunts
from support.ledger import Book
from support.oracle import FLOW_DONE, FLOW_STATES, VQLError, error_line, split_level

# -- recorded log lines --------------------------------------------------------------------

#: Lines Velociraptor sent for queries that failed (query -> line).
ERRORS = {
    "SELEKT * FROM info()": 'VQL Error: 1:1: unexpected token "SELEKT" (expected <select>).',
    "SELECT * FROM no_such_plugin()": "ERROR:Plugin no_such_plugin not found. Did you mean notebook_delete notebooks winobj? ",
    "SELECT no_such_fn() AS x FROM scope()": "ERROR:Symbol no_such_fn not found. Current Scope is [NULL], [_SessionId]",
    "SELECT server_version() AS v FROM scope()": "ERROR:Symbol server_version not found. Current Scope is [NULL]",
    "collect_client(artifacts='No.Such.Artifact')": "collect_client: Unknown artifact No.Such.Artifact",
    "collect_client(client_id='C.0000000000000000')":
        "collect_client: Client ID C.0000000000000000 not known in this org: NotFoundError",
    "flows(client_id='C.0000000000000000')":
        "flows: unable to get client C.0000000000000000: Client ID C.0000000000000000 not known in this org: NotFoundError",
    "hunt_results(hunt_id='H.NOPE')": "hunt_results: Hunt not found",
    "hunt_results(artifact='Generic.Client.Info')":
        "hunt_results: artifact Generic.Client.Info not available in hunt. Available artifacts are "
        "Generic.Client.Info/BasicInformation, Generic.Client.Info/Users",
    "hunt_update(state='RUNNING')": "hunt_update: Unexpected arg state",
    "hunt(artifacts='No.Such.Artifact')": "hunt: Unknown artifact No.Such.Artifact",
    "artifact_definitions(names='No.Such')": "artifact_definitions: artifact No.Such not known",
    "parse_json(data='{bad')": "parse_json: invalid character 'b' looking for beginning of object key string: {bad",
    "info(foo=1)": "info: Unexpected arg foo",
    "delete_flow(flow_id='F.NOPE')": "delete_flow: Flow not found: F.NOPE in client 'C.d871cd86fd72dee7'",
    "log(level='ERROR')": "ERROR:something bad",
    "a query timeout": "collect: <red>Timeout Error:</> Collection timed out after 10.0s",
}

#: Lines Velociraptor sent for queries that succeeded (they returned their rows).
BENIGN = {
    "log(message='cache lookup failed, using default')": "DEFAULT:cache lookup failed, using default",
    "log(level='INFO')": "INFO:not found: invalid value",
    "log(level='WARN')": "WARN:unable to parse the answer, permission denied; syntax unexpected",
    "log(message='Symbols were not found; invalid input')": "DEFAULT:lookup: the key was not found",
    "log(level='DEBUG')": "DEBUG:Query Stats: {\"RowsScanned\":1,\"PluginsCalled\":1}",
    "log(level='ALERT')": "ALERT:invalid login failed",
    "the API's start line": "Starting query execution.",
    "the API's progress line": "Time 0: raptorspec: Sending response part 0 143 B (1 rows).",
    "execve's informational line": "execve: Running external command [/bin/true]",
    "a scope message": "File /tmp/x is sparse - expanding.",
}


@pytest.mark.parametrize("what", ERRORS)
def test_a_line_that_reports_an_error_is_an_error(what):
    assert error_line(ERRORS[what]), ERRORS[what]


@pytest.mark.parametrize("what", BENIGN)
def test_a_benign_line_is_no_error_whatever_its_words(what):
    assert not error_line(BENIGN[what]), BENIGN[what]


def test_the_level_is_split_as_velociraptor_splits_it():
    assert split_level("DEFAULT:cache lookup failed") == ("DEFAULT", "cache lookup failed")
    assert split_level("ERROR:Symbol x not found") == ("ERROR", "Symbol x not found")
    assert split_level("info: Unexpected arg foo") == (None, "info: Unexpected arg foo")  # info()'s own report
    assert split_level("collect_client: Unknown artifact X") == (None, "collect_client: Unknown artifact X")
    assert split_level("NOTALEVEL:x") == (None, "NOTALEVEL:x")


def test_flow_states_are_defined_once():
    assert FLOW_DONE == ("FINISHED", "ERROR") and set(FLOW_DONE) <= set(FLOW_STATES)
    from support import flows, ledger, waits

    assert ledger.FLOW_DONE is FLOW_DONE and waits.FLOW_DONE is FLOW_DONE and flows.FLOW_DONE is FLOW_DONE


# -- hunt results by source (no lab) ------------------------------------------------------------

_HUNT = hunts.Hunt("H.X", "d", ("Generic.Client.Info",))


def test_no_results_only_when_every_source_is_empty():
    by_source = {"Generic.Client.Info/BasicInformation": [{"Hostname": "vm"}], "Generic.Client.Info/Users": []}
    assert hunts.no_results(_HUNT, by_source) is None
    message = hunts.no_results(_HUNT, {"A/One": [], "A/Two": []})
    assert "no results" in message and "A/One" in message and "A/Two" in message


def test_the_truth_is_the_source_that_shares_the_server_columns():
    by_source = {"G/BasicInformation": [{"Hostname": "vm", "OS": "linux"}], "G/Users": [{"Name": "root", "Uid": 0}]}
    assert hunts.truth_for([{"Name": "root", "Uid": 0}], by_source)[0] == "G/Users"
    assert hunts.truth_for([{"Hostname": "vm"}], by_source)[0] == "G/BasicInformation"
    assert hunts.truth_for([], {"G/Users": [{"Name": "root"}], "G/Empty": []})[0] == "G/Users"


# -- live ----------------------------------------------------------------------------------


@pytest.mark.lab
def test_a_benign_log_with_error_words_returns_its_rows(oracle):
    rows = oracle.query("SELECT log(message='cache lookup failed, using default') AS logged, 1 AS one FROM scope()")
    assert rows == [{"logged": True, "one": 1}]
    rows = oracle.query("SELECT log(message='not found: invalid value', level='INFO', dedup=-1) AS logged FROM scope()")
    assert rows == [{"logged": True}]


@pytest.mark.lab
@pytest.mark.parametrize("vql", [
    "SELEKT * FROM info()",
    "SELECT * FROM raptorspec_no_such_plugin()",
    "SELECT * FROM hunt_results(hunt_id='H.RAPTORSPEC0000')",
])
def test_a_broken_query_raises(oracle, vql):
    with pytest.raises(VQLError) as err:
        oracle.query(vql)
    assert err.value.lines


@pytest.mark.lab
def test_a_plugin_error_raises(oracle, targets):
    with pytest.raises(VQLError, match="Unknown artifact Custom.Raptorspec.NoSuchArtifact"):
        oracle.query("SELECT collect_client(client_id=RsClientId, artifacts='Custom.Raptorspec.NoSuchArtifact') AS c "
                     "FROM scope()", {"RsClientId": targets.pick("linux").client_id})


@pytest.mark.lab
@pytest.mark.slow
def test_hunt_results_of_a_multi_source_artifact_are_read_source_by_source(oracle, lab, targets, run_id):
    book = Book(oracle, f"o{run_id}")  # its own namespace: the suite's audit never sees it
    ledger = book.open()
    client_id = targets.pick("linux").client_id
    try:
        label = hunts.scope_to(oracle, ledger, client_id, ledger.name("multi-source-scope"))
        hunt = hunts.make(oracle, ledger, "Generic.Client.Info", ledger.name("multi-source"), state="RUNNING",
                          labels=[label], lab=lab)
        by_source = hunts.wait_finished_on(oracle, hunt, client_id, lab=lab)
        # the bare name of a multi-source artifact holds nothing in Velociraptor: it says so, it is not "0 rows"
        with pytest.raises(VQLError, match="not available in hunt"):
            oracle.hunt_results(hunt.hunt_id, "Generic.Client.Info")
        assert "Generic.Client.Info/BasicInformation" in by_source
        assert by_source["Generic.Client.Info/BasicInformation"], by_source
        assert hunts.no_results(hunt, by_source) is None
        asked = hunts.results_by_source(oracle, hunt, "Generic.Client.Info/BasicInformation")
        assert list(asked) == ["Generic.Client.Info/BasicInformation"] and asked[
            "Generic.Client.Info/BasicInformation"] == by_source["Generic.Client.Info/BasicInformation"]
        source, truth = hunts.truth_for(asked["Generic.Client.Info/BasicInformation"], by_source)
        assert source == "Generic.Client.Info/BasicInformation" and truth
    finally:
        assert ledger.clean() == []
