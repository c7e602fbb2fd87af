"""Artifacts: listing, looking up and collecting them — checked against artifact_definitions() and flows().
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)"""
from __future__ import annotations

import pytest
from pytest_bdd import parsers, then, when

from support import artifacts
from support.rows import ids, said, strings


@pytest.fixture(scope="session")
def artifact_catalog(oracle):
    """Velociraptor's artifact definitions by name (they do not change during a run)."""
    return oracle.artifact_catalog()


def _collect(sut, ledger, client_id, artifact, parameters=None):
    extra = {"parameters": parameters} if parameters else {}
    return ledger.calling(sut, "collect_artifact", client_id=client_id, artifacts=[artifact], **extra)


# -- Whens -------------------------------------------------------------------------------


@when(parsers.parse('I search the artifacts for "{text}"'), target_fixture="reply")
def _(sut, ledger, text):
    """Asks for the artifacts whose name or description holds the text."""
    return ledger.calling(sut, "list_artifacts", search=text)


@when(parsers.parse("I list the {kind} artifacts"), target_fixture="reply")
def _(sut, ledger, kind):
    """Asks for the artifacts of one type: client, server or notebook."""
    return ledger.calling(sut, "list_artifacts", artifact_type=artifacts.contract_type(kind))


@when(parsers.parse("I list artifacts, keeping at most {n:d}"), target_fixture="reply")
def _(sut, ledger, n):
    """Asks for the artifacts with a limit."""
    return ledger.calling(sut, "list_artifacts", limit=n)


@when(parsers.parse('I look up the artifact "{name}"'), target_fixture="reply")
def _(sut, ledger, name):
    """Asks for one artifact's definition."""
    return ledger.calling(sut, "get_artifact", artifact_name=name)


@when(parsers.parse('I collect "{artifact}" from the client'), target_fixture="reply")
def _(sut, ledger, client, artifact):
    """Asks to collect the artifact from the scenario's client."""
    return _collect(sut, ledger, client.client_id, artifact)


@when(parsers.parse('I collect "{artifact}" from the client with "{param}" set to "{value}"'), target_fixture="reply")
def _(sut, ledger, client, artifact, param, value):
    """Asks to collect the artifact from the scenario's client with one parameter set."""
    return _collect(sut, ledger, client.client_id, artifact, {param: value})


@when(parsers.parse('I collect "{artifact}" from client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, artifact, client_id):
    """Asks to collect the artifact from a client id given in the feature."""
    return _collect(sut, ledger, client_id, artifact)


# -- Thens -------------------------------------------------------------------------------


@then(parsers.parse('"{name}" is among the artifacts listed'))
def _(reply, name):
    """The reply lists the artifact."""
    assert name in ids(reply.rows, "artifact"), f"{name} is not listed; the server under test answered {said(reply)}"


@then(parsers.parse('every artifact listed has "{text}" in its name or description in Velociraptor'))
def _(reply, artifact_catalog, text):
    """Something is listed, and Velociraptor's name or description of each listed artifact holds the text."""
    listed = ids(reply.rows, "artifact")
    wrong = artifacts.without_text(artifact_catalog, listed, text)
    assert listed and not wrong, f"Listed without {text!r} (per Velociraptor): {wrong[:10]}; {said(reply, 200)}"


@then(parsers.parse("every artifact listed is a {kind} artifact in Velociraptor"))
def _(reply, artifact_catalog, kind):
    """Something is listed, and Velociraptor gives every listed artifact that type."""
    types = artifacts.types(artifact_catalog, ids(reply.rows, "artifact"))
    wrong = {n: t for n, t in types.items() if t != kind}
    assert types and not wrong, f"Velociraptor's types of listed artifacts that are not {kind}: {wrong}; {said(reply, 200)}"


@then(parsers.parse("the server under test lists exactly {n:d} of the artifacts Velociraptor knows"))
def _(reply, artifact_catalog, n):
    """Exactly that many artifacts are listed, each one Velociraptor has."""
    listed = ids(reply.rows, "artifact")
    unknown = sorted(set(listed) - set(artifact_catalog))
    assert len(listed) == n and not unknown, (
        f"The server under test lists {len(listed)} artifact(s) (expected {n}); unknown to Velociraptor: "
        f"{unknown}; {said(reply)}")


@then("the server under test lists no artifact")
def _(reply):
    """The reply is a success with an empty list."""
    assert reply.ok and not reply.rows, f"Expected an empty list; the server under test answered {said(reply)}"


@then(parsers.parse('the definition names the {part} Velociraptor defines for "{name}"'))
def _(reply, artifact_catalog, part, name):
    """The reply names the artifact and each of its parameters (or sources) as Velociraptor defines them."""
    want = artifacts.defined(artifact_catalog, name, part)
    missing = sorted(want - strings(reply.data))
    assert reply.ok and not missing, (
        f"Velociraptor defines {sorted(want)}; the reply does not name {missing}; {said(reply, 300)}")


@then("the reply carries no artifact's definition")
def _(reply, artifact_catalog):
    """No artifact name Velociraptor knows appears in the reply."""
    named = sorted(strings(reply.data) & set(artifact_catalog))
    assert not named, f"The reply carries the definition of {named}: {said(reply, 300)}"
