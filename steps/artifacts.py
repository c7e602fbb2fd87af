"""Artifacts: listing, looking up and collecting them — checked against artifact_definitions() and flows().
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)"""
from __future__ import annotations

import pytest
from pytest_bdd import parsers, then, when

from support import artifacts, flows, quarantine
from support.errors import VQLError
from support.rows import field_named, ids, said, strings


@pytest.fixture(scope="session")
def artifact_catalog(oracle):
    """Velociraptor's artifact definitions by name (they do not change during a run)."""
    return oracle.artifact_catalog()


def _collect(sut, ledger, client_id, artifact, parameters=None):
    extra = {"parameters": parameters} if parameters else {}
    return sut.call("collect_artifact", client_id=client_id, artifacts=[artifact], **extra)


# -- Whens -------------------------------------------------------------------------------


@when(parsers.parse('I search the artifacts for "{text}"'), target_fixture="reply")
def _(sut, ledger, text):
    """Asks for the artifacts whose name or description holds the text."""
    return sut.call("list_artifacts", search=text)


@when(parsers.parse("I list the {kind} artifacts"), target_fixture="reply")
def _(sut, ledger, kind):
    """Asks for the artifacts of one type: client, server or notebook."""
    return sut.call("list_artifacts", artifact_type=artifacts.contract_type(kind))


@when(parsers.parse("I list artifacts, keeping at most {n:d}"), target_fixture="reply")
def _(sut, ledger, n):
    """Asks for the artifacts with a limit."""
    return sut.call("list_artifacts", limit=n)


@when(parsers.parse('I look up the artifact "{name}"'), target_fixture="reply")
def _(sut, ledger, name):
    """Asks for one artifact's definition."""
    return sut.call("get_artifact", artifact_name=name)


@when(parsers.parse('I collect "{artifact}" from the client'), target_fixture="reply")
def _(sut, ledger, client, flows_before, every_flow_before, artifact):
    """Asks to collect the artifact from the scenario's client."""
    return _collect(sut, ledger, client.client_id, artifact)


@when(parsers.parse('I collect "{artifact}" from the client with "{param}" set to "{value}"'), target_fixture="reply")
def _(sut, ledger, client, flows_before, artifact, param, value):
    """Asks to collect the artifact from the scenario's client with one parameter set."""
    return _collect(sut, ledger, client.client_id, artifact, {param: value})


@when(parsers.parse('I collect "{artifact}" from client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, request, every_flow_before, artifact, client_id):
    """Asks to collect the artifact from a client id given in the feature (noting first every
    client's collections, and the scenario client's when it has one)."""
    try:
        request.getfixturevalue("flows_before")
    except pytest.FixtureLookupError:
        pass
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


# -- issue 10: every argument reaches Velociraptor, replies mirror it, hostile names ----------


@when(parsers.parse('I collect "{first}" and "{second}" from the client in one go'), target_fixture="reply")
def _(sut, ledger, client, flows_before, first, second):
    """Asks, in one call, to collect both artifacts from the scenario's client."""
    return sut.call("collect_artifact", client_id=client.client_id, artifacts=[first, second])


@when(parsers.parse('I collect "{artifact}" from the client with a time limit of {seconds:d} seconds'),
      target_fixture="reply")
def _(sut, ledger, client, flows_before, artifact, seconds):
    """Asks to collect the artifact from the scenario's client with a timeout (seconds)."""
    return sut.call("collect_artifact", client_id=client.client_id, artifacts=[artifact], timeout=seconds)


@when(parsers.parse('I collect "{artifact}" from the client urgently'), target_fixture="reply")
def _(sut, ledger, client, flows_before, artifact):
    """Asks to collect the artifact from the scenario's client as an urgent collection."""
    return sut.call("collect_artifact", client_id=client.client_id, artifacts=[artifact], urgent=True)


def _request_of(oracle, client, collection):
    return (oracle.flow(client.client_id, collection) or {}).get("request") or {}


@then(parsers.parse('Velociraptor shows the collection\'s request naming exactly "{first}" and "{second}"'))
def _(oracle, client, collection, first, second):
    """The collection's request in Velociraptor collects exactly those two artifacts."""
    named = sorted(flows.artifacts(oracle.flow(client.client_id, collection)))
    assert named == sorted([first, second]), (
        f"flow {collection}: Velociraptor shows it collecting {named}, the scenario asked for {[first, second]}")


@then(parsers.parse('Velociraptor holds rows for "{source}" in the collection'))
def _(oracle, client, collection, source):
    """Velociraptor holds at least one row of the source in the collection."""
    rows = oracle.source(client.client_id, collection, source)
    assert rows, f"Velociraptor holds no rows for {source} in {collection} ({flows.summary(oracle.flow(client.client_id, collection))})"


@then(parsers.parse("Velociraptor shows the collection's request with a time limit of {seconds:d} seconds"))
def _(oracle, client, collection, seconds):
    """The collection's request in Velociraptor has that timeout (seconds)."""
    request = _request_of(oracle, client, collection)
    assert str(request.get("timeout")) == str(seconds), (
        f"flow {collection}: Velociraptor shows the timeout {request.get('timeout')!r}, the scenario sent {seconds}")


@then("Velociraptor shows the collection's request marked urgent")
def _(oracle, client, collection):
    """The collection's request in Velociraptor is urgent."""
    request = _request_of(oracle, client, collection)
    assert request.get("urgent") is True, (
        f"flow {collection}: Velociraptor shows urgent {request.get('urgent')!r}, the scenario asked for an urgent one")


@then("every artifact the server under test says it collects is in the collection's request in Velociraptor")
def _(reply, oracle, client, artifact_catalog):
    """The reply names a flow Velociraptor has on the client, and every artifact name the reply states is one
    that flow's request collects."""
    row = oracle.flow(client.client_id, reply.flow_id) if reply.flow_id else None
    assert row, f"Velociraptor shows no flow {reply.flow_id!r} on {client.client_id}; {said(reply)}"
    stated = sorted((strings(reply.data) | strings(reply.rows)) & set(artifact_catalog))
    extra = sorted(set(stated) - set(flows.artifacts(row)))
    assert not extra, (f"The reply states it collects {stated}; Velociraptor's flow {reply.flow_id} collects "
                       f"{flows.artifacts(row)}")


@then(parsers.parse('Velociraptor defines no artifact named "{name}"'))
def _(oracle, name):
    """artifact_definitions(names=…) with the name passed as a query variable finds nothing."""
    try:
        rows = oracle.query("SELECT name FROM artifact_definitions(names=Name)", {"Name": name})
    except VQLError:
        rows = []  # "artifact … not known"
    assert not rows, f"Velociraptor defines {[r.get('name') for r in rows]} for the name {name!r}"


@then("Velociraptor shows no new collection on any client")
def _(oracle, ledger, every_flow_before):
    """No collection made by the SUTs' API user appeared on any client of the lab since the When
    (an injected client id or artifact name could aim a collection at another client than the
    scenario's; another xdist worker's collections, made under its own API user, are not counted)."""
    new = {cid: made for cid, before in every_flow_before.items()
           if (made := [f for f in quarantine.new_flows(oracle, cid, before)
                        if ledger.ours((f.get("request") or {}).get("creator"))])}
    assert not new, "Velociraptor shows new collections: " + "; ".join(
        f"on {cid}: {quarantine.describe(made)}" for cid, made in sorted(new.items()))


@then(parsers.parse('the artifacts listed are the ones whose name or description in Velociraptor holds "{text}"'))
def _(reply, artifact_catalog, text):
    """The reply lists exactly the artifacts whose name or description (per Velociraptor) holds the text as
    plain text, case-insensitively (the first 100, the contract's default limit, when more do)."""
    want = sorted(n for n, d in artifact_catalog.items()
                  if text.lower() in f"{n}\n{d.get('description') or ''}".lower())
    listed = ids(reply.rows, "artifact")
    ok = sorted(listed) == want if len(want) <= 100 else (len(listed) == 100 and set(listed) <= set(want))
    assert reply.ok and ok, (f"Velociraptor holds {len(want)} artifact(s) with {text!r}: {want[:10]}; the server "
                             f"under test lists {sorted(listed)[:10]}: {said(reply)}")


@then("each artifact listed has the type Velociraptor gives it")
def _(reply, artifact_catalog):
    """Something is listed, and each listed row that states a type states Velociraptor's (case-insensitive)."""
    rows = list(reply.rows or [])
    wrong = {}
    for row, name in zip(rows, ids(rows, "artifact")):
        stated = field_named(row, ("type", "artifact_type"))
        truth = (artifact_catalog.get(name) or {}).get("type")
        if stated is not None and str(stated[1]).lower() != str(truth).lower():
            wrong[name] = {"stated": stated[1], "Velociraptor": truth}
    assert rows and not wrong, f"Listed with a type Velociraptor does not give: {wrong}" if rows else \
        f"Nothing listed: {said(reply)}"


@then(parsers.parse('Velociraptor shows a collection of "{artifact}" started on the client'), target_fixture="collection")
def _(oracle, client, flows_before, artifact):
    """Exactly one collection of the artifact appeared on the client since the When (found in Velociraptor,
    whatever the reply said); gives its flow id."""
    new = quarantine.new_flows(oracle, client.client_id, flows_before)
    found = [f for f in new if artifact in flows.artifacts(f)]
    assert len(found) == 1, (f"Velociraptor shows {len(found)} new collection(s) of {artifact} on {client.client_id} "
                             f"(expected 1); new collections: {quarantine.describe(new)}")
    return flows.flow_id(found[0])


@when("I list the artifacts without a limit", target_fixture="reply")
def _(sut, ledger):
    """Asks for the artifacts with no search, type or limit (the contract's default limit: 100)."""
    return sut.call("list_artifacts")
