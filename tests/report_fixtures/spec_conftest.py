"""A tiny known run for the report's tests (copied in as conftest.py by tests/test_report.py).

Two fake servers under test (alpha, beta); one passing scenario, one failing step with a
message and a transcript, one skip, one strict xfail. A private key planted by the test
(planted_key.pem) is registered as a secret and also leaks, whole and in pieces, into a
failure message, an xfail message and the MCP transcript: the report must mask it all.
"""
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from support.secrets import register_secret

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
def _(client, label, transcript):
    client["labels"].add(label)
    transcript.append({"method": "tools/call", "request": {"name": "label_client", "arguments": {"labels": [label]}},
                       "reply": {"isError": False, "content": [{"type": "text", "text": '{"labels_modified": 1}'}]},
                       "error": None, "seconds": 0.012})


@when(parsers.parse('I remove the label "{label}" from the client'))
def _(client, label, transcript, sut_name):
    if sut_name == "beta":
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
    return []


@then("the rows equal what Velociraptor returns for the same query")
def _(reply):
    assert reply == []


@then("the server under test reports an error that mentions the query")
def _(reply):
    assert reply != [], f"the server under test answered broken VQL with an empty result and no error ({BODY})"
