"""Artifacts: listing, looking up and collecting them — checked against artifact_definitions() and flows()."""
from __future__ import annotations

import pytest
from pytest_bdd import parsers, then, when

from support.rows import ids, said, strings


@pytest.fixture(scope="session")
def artifact_catalog(oracle):
    """Velociraptor's artifact definitions by name (they do not change during a run)."""
    rows = oracle.query("SELECT name, description, type, parameters.name AS parameters, sources.name AS sources "
                        "FROM artifact_definitions()")
    return {r["name"]: r for r in rows}


# -- Whens -------------------------------------------------------------------------------


@when(parsers.parse('I search the artifacts for "{text}"'), target_fixture="reply")
def _(sut, ledger, text):
    return ledger.calling(sut, "list_artifacts", search=text)


@when(parsers.re(r"I list the (?P<kind>client|server|notebook) artifacts"), target_fixture="reply")
def _(sut, ledger, kind):
    return ledger.calling(sut, "list_artifacts", artifact_type=kind.upper())


@when(parsers.re(r"I list at most (?P<n>\d+) artifacts?"), target_fixture="reply")
def _(sut, ledger, n):
    return ledger.calling(sut, "list_artifacts", limit=int(n))


@when(parsers.parse('I look up the artifact "{name}"'), target_fixture="reply")
def _(sut, ledger, name):
    return ledger.calling(sut, "get_artifact", artifact_name=name)


@when(parsers.re(r'I collect "(?P<artifact>[^"]*)" from the client(?: with "(?P<param>[^"]*)" set to "(?P<value>.*)")?'),
      target_fixture="reply")
def _(sut, ledger, client, artifact, param, value):
    params = {"parameters": {param: value}} if param else {}
    return ledger.calling(sut, "collect_artifact", client_id=client.client_id, artifacts=[artifact], **params)


@when(parsers.parse('I collect "{artifact}" from client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, artifact, client_id):
    return ledger.calling(sut, "collect_artifact", client_id=client_id, artifacts=[artifact])


# -- Thens -------------------------------------------------------------------------------


@then(parsers.parse('"{name}" is among the artifacts listed'))
def _(reply, name):
    assert name in ids(reply.rows, "artifact"), f"{name} is not listed; the server under test answered {said(reply)}"


@then(parsers.parse('every artifact listed has "{text}" in its name or description in Velociraptor'))
def _(reply, artifact_catalog, text):
    known = {n: artifact_catalog.get(n) for n in ids(reply.rows, "artifact")}
    wrong = [n for n, d in known.items() if not d or text.lower() not in (n + str(d["description"])).lower()]
    assert known and not wrong, f"Listed without {text!r} (per Velociraptor): {wrong[:10]}; {said(reply, 200)}"


@then(parsers.re(r"every artifact listed is a (?P<kind>client|server|notebook) artifact in Velociraptor"))
def _(reply, artifact_catalog, kind):
    types = {n: (artifact_catalog.get(n) or {}).get("type") for n in ids(reply.rows, "artifact")}
    wrong = {n: t for n, t in types.items() if t != kind}
    assert types and not wrong, f"Velociraptor's types of listed artifacts that are not {kind}: {wrong}; {said(reply, 200)}"


@then(parsers.re(r"exactly (?P<n>\d+) artifacts? (?:is|are) listed, each one Velociraptor knows"))
def _(reply, artifact_catalog, n):
    listed = ids(reply.rows, "artifact")
    assert len(listed) == int(n) and set(listed) <= set(artifact_catalog), f"{said(reply)}"


@then("the server under test lists no artifact")
def _(reply):
    assert reply.ok and not reply.rows, f"Expected an empty list; the server under test answered {said(reply)}"


@then(parsers.re(r'the definition names the (?P<part>parameters|sources) Velociraptor defines for "(?P<name>.*)"'))
def _(reply, artifact_catalog, part, name):
    want = {name} | {p for p in artifact_catalog[name][part] or [] if p}
    assert reply.ok and want <= strings(reply.data), (
        f"Velociraptor defines {sorted(want)}; missing {sorted(want - strings(reply.data))}; {said(reply, 300)}")


@then("the reply carries no artifact's definition")
def _(reply, artifact_catalog):
    named = sorted(strings(reply.data) & set(artifact_catalog))
    assert not named, f"The reply carries the definition of {named}: {said(reply, 300)}"
