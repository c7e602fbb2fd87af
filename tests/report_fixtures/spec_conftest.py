"""A tiny known run for the report's tests (copied in as conftest.py by tests/test_report.py).

Two fake servers under test (alpha, beta); one passing scenario, one failing step with a
message and a transcript, one failing row comparison (alpha's OS differs from
Velociraptor's; the answer is JSON text with a structured copy), one skip, one strict
xfail. A private key planted by the test (planted_key.pem) is registered as a secret and
also leaks, whole and in pieces, into a failure message, an xfail message and the MCP
transcript: the report must mask it all.

With ``REPORT_KNOWN_RUN=after`` the run changes as a later run would: alpha removes labels
(newly passing), beta no longer adds them (newly failing), alpha's broken-VQL defect is
fixed (its strict xfail passes).
"""
import json
import os
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

pytest.register_assert_rewrite("fixture_rows")

from fixture_rows import same_rows  # noqa: E402
from support.secrets import register_secret  # noqa: E402

AFTER = os.environ.get("REPORT_KNOWN_RUN") == "after"

PEM = (Path(__file__).parent / "planted_key.pem").read_text().strip()
BODY = PEM.splitlines()[1]  # one line of key material, without the PEM armour


def pytest_bdd_apply_tag(tag, function):
    if ":" in tag:
        name, value = tag.split(":", 1)
        getattr(pytest.mark, name)(name=value)(function)
    else:
        getattr(pytest.mark, tag)(function)
    return True


def pytest_configure(config):
    register_secret(PEM)
    for marker in ("tool(name)", "os(name)", "slow", "destructive", "security", "bad_input"):
        config.addinivalue_line("markers", marker)


@pytest.fixture(autouse=True, params=["alpha", "beta"])
def sut_name(request):
    return request.param


def pytest_collection_modifyitems(items):
    for item in items:
        sut = item.callspec.params.get("sut_name") if hasattr(item, "callspec") else None
        tool = item.get_closest_marker("tool")
        if tool and tool.kwargs["name"] == "run_vql":
            if sut == "beta":
                item.add_marker(pytest.mark.skip(reason="SUT beta has no run_vql"))
            elif "broken_vql" in item.name:
                item.add_marker(pytest.mark.xfail(strict=True, reason="alpha answers broken VQL with an empty result"))


@pytest.fixture
def transcript(request):
    calls = []
    yield calls
    request.node.user_properties.append(("mcp_transcript", calls))
    request.node.user_properties.append(("sut", request.getfixturevalue("sut_name")))


@given("an enrolled linux client", target_fixture="client")
def _():
    return {"id": "C.1234567890abcdef", "labels": set()}


@given(parsers.parse('the client has the label "{label}"'))
def _(client, label):
    client["labels"].add(label)


@when(parsers.parse('I add the label "{label}" to the client'))
def _(client, label, transcript, sut_name):
    if not (AFTER and sut_name == "beta"):
        client["labels"].add(label)
    transcript.append({"method": "tools/call", "request": {"name": "label_client", "arguments": {"labels": [label]}},
                       "reply": {"isError": False, "content": [{"type": "text", "text": '{"labels_modified": 1}'}]},
                       "error": None, "seconds": 0.012})


@when(parsers.parse('I remove the label "{label}" from the client'))
def _(client, label, transcript, sut_name):
    if sut_name == "beta" or AFTER:
        client["labels"].discard(label)
    transcript.append({"method": "tools/call",
                       "request": {"name": "label_client", "arguments": {"labels": [label], "operation": "remove"}},
                       "reply": {"isError": False, "content": [{"type": "text", "text": "ok, debug key " + PEM}]},
                       "error": None, "seconds": 0.034})


@then(parsers.parse('Velociraptor shows the client with the label "{label}"'))
def _(client, label):
    assert label in client["labels"]


@then(parsers.parse('Velociraptor shows the client without the label "{label}"'))
def _(client, label):
    assert label not in client["labels"], (
        f"Velociraptor still shows label {label!r} on {client['id']} after the server under test "
        f"reported success; server said: {PEM}"
    )


@when(parsers.parse('I run the VQL "{query}"'), target_fixture="reply")
def _(query, transcript):
    transcript.append({"method": "tools/call", "request": {"name": "run_vql", "arguments": {"query": query}},
                       "reply": {"isError": False, "content": [{"type": "text", "text": "[]"}]},
                       "error": "debug: key material " + BODY, "seconds": 0.02})
    return ["error: syntax"] if AFTER and "SELEKT" in query else []


VELOCIRAPTOR_CLIENTS = [{"client_id": "C.1234567890abcdef", "hostname": "vm", "os": "linux"}]


@when("I ask the server under test for the clients", target_fixture="server_rows")
def _(transcript, sut_name):
    rows = [{"client_id": "C.1234567890abcdef", "hostname": "vm",
             "os": "debian12.11" if sut_name == "alpha" else "linux", "labels": ["case-4711"]}]
    text = json.dumps(rows, indent=2)
    # the SUT session's shape: texts, and a structured copy of the same rows
    transcript.append({"method": "tools/call", "request": {"name": "list_clients", "arguments": {"limit": 100}},
                       "reply": {"is_error": False, "texts": [text], "structured": {"result": rows}},
                       "error": None, "seconds": 0.041})
    info = {"client_id": "C.1234567890abcdef", "os_info": {"system": "linux", "release": "debian12.11"},
            "interfaces": [{"name": f"eth{n}", "mac": f"52:54:00:00:00:{n:02x}"} for n in range(20)]}
    transcript.append({"method": "tools/call", "request": {"name": "get_client_info",
                                                           "arguments": {"client_id": "C.1234567890abcdef"}},
                       "reply": {"is_error": False, "texts": [json.dumps(info)], "structured": None},
                       "error": None, "seconds": 0.018})
    return rows


@then("every client it lists has the hostname and OS Velociraptor shows")
def _(server_rows):
    same_rows(server_rows, VELOCIRAPTOR_CLIENTS)


@then("the rows equal what Velociraptor returns for the same query")
def _(reply):
    assert reply == []


@then("the server under test reports an error that mentions the query")
def _(reply):
    assert reply != [], f"the server under test answered broken VQL with an empty result and no error ({BODY})"
