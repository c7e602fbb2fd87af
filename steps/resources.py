"""Resource words: browsing a page of the server under test, and Thens that hold the page to
what Velociraptor shows. Pages are found by their content (support/resources.py), not by
one server's layout. (PYTEST_DONT_REWRITE: the asserts carry their own messages.)
"""
from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from support import artifacts, clients, hunts, resources
from support.rows import VOLATILE, diff, said


def _one(reply, key, ident):
    found = [r for r in resources.records(reply.data, key) if str(r.get(key)) == ident]
    assert found, f"The page has no record with {key} {ident!r}: {said(reply)}"
    return found[0]


def _item(sut, kind, ident):
    return sut.read_resource(resources.item_uri(kind, ident))


# -- Givens: a page read before a change (issue 10 §6) -----------------------------------


@given(parsers.parse('I have browsed the hunt list and seen the hunt "{word}" as {state}'))
def _(sut, oracle, hunt_named, word, state):
    """Reads the hunt list through the server under test and checks it lists the hunt in that state."""
    hunt_id = hunts.id_described(oracle, hunt_named(word))
    page = sut.read_resource(resources.PAGES["hunt list"])
    seen = hunts.listed(resources.records(page.data, "hunt_id"))
    assert seen.get(hunt_id, "").upper() == state, f"Before the change: expected hunt {hunt_id} as {state}; the page lists {seen}"


@given(parsers.parse("I have browsed the hunt's page and seen it {state}"))
def _(sut, hunt, state):
    """Reads the hunt's page through the server under test and checks it shows that state."""
    page = _item(sut, "hunt", hunt.hunt_id)
    record = resources.record_of(page.data, "hunt_id", hunt.hunt_id) or {}
    got = str(resources.first(record, "state", "State") or "")
    assert got.upper() == state, f"Before the change: the page shows hunt {hunt.hunt_id} as {got!r}: {said(page)}"


@given(parsers.parse('I have browsed the client\'s page and not seen the label "{label}"'))
def _(sut, ledger, client, label):
    """Reads the client's page through the server under test and checks it is there, without the (namespaced) label."""
    page = _item(sut, "client", client.client_id)
    record = resources.record_of(page.data, "client_id", client.client_id)
    assert record is not None, f"Before the change: the client's page has no record of {client.client_id}: {said(page)}"
    assert not resources.has_value(record, ledger.name(label)), f"Before the change: the page already shows {label!r}"


@given(parsers.parse('I have browsed the client list and not seen the label "{label}" on the client'))
def _(sut, ledger, client, label):
    """Reads the client list through the server under test and checks it lists the client without the label."""
    page = sut.read_resource(resources.PAGES["client list"])
    record = resources.record_of(page.data, "client_id", client.client_id)
    assert record is not None, f"Before the change: the client list has no record of {client.client_id}: {said(page)}"
    assert not resources.has_value(record, ledger.name(label)), f"Before the change: the list already shows {label!r}"


@given(parsers.parse('someone then adds the label "{label}" to the client in Velociraptor'))
def _(oracle, ledger, client, label):
    """Adds the (namespaced) label directly in Velociraptor, recorded for cleanup."""
    ledger.label(client.client_id, ledger.name(label), "a Given")
    oracle.label(client.client_id, [ledger.name(label)], "set")


# -- Whens: one read each ----------------------------------------------------------------


@when("I browse the client list", target_fixture="reply")
def _(sut):
    """Reads velociraptor://clients."""
    return sut.read_resource(resources.PAGES["client list"])


@when("I browse the hunt list", target_fixture="reply")
def _(sut):
    """Reads velociraptor://hunts."""
    return sut.read_resource(resources.PAGES["hunt list"])


@when("I browse the artifact catalogue", target_fixture="reply")
def _(sut):
    """Reads velociraptor://artifacts."""
    return sut.read_resource(resources.PAGES["artifact catalogue"])


@when("I browse the server information", target_fixture="reply")
def _(sut):
    """Reads velociraptor://server-info."""
    return sut.read_resource(resources.PAGES["server information"])


@when("I browse the deployment list", target_fixture="reply")
def _(sut):
    """Reads velociraptor://deployments."""
    return sut.read_resource(resources.PAGES["deployment list"])


@when("I browse the client's page", target_fixture="reply")
def _(sut, client):
    """Reads the page of the scenario's client."""
    return _item(sut, "client", client.client_id)


@when("I browse the hunt's page", target_fixture="reply")
def _(sut, hunt):
    """Reads the page of the scenario's hunt."""
    return _item(sut, "hunt", hunt.hunt_id)


@when("I browse the hunt's results page", target_fixture="reply")
def _(sut, hunt):
    """Reads the results page of the scenario's hunt."""
    return _item(sut, "results page of hunt", hunt.hunt_id)


@when(parsers.parse('I browse the page of {kind} "{ident}"'), target_fixture="reply")
def _(sut, kind, ident):
    """Reads the page of a client, hunt, artifact or deployment given in the feature."""
    return _item(sut, kind, ident)


@when(parsers.parse('I browse the results page of hunt "{hunt_id}"'), target_fixture="reply")
def _(sut, hunt_id):
    """Reads the results page of a hunt id given in the feature."""
    return _item(sut, "results page of hunt", hunt_id)


# -- Thens -------------------------------------------------------------------------------


@then(parsers.parse('the server under test answers that "{ident}" is not found'))
def _(reply, ident):
    """The reply is an error that says the thing is not found and names it."""
    assert not reply.ok, f"Expected not found for {ident!r}; the server under test answered {said(reply)}"
    assert resources.says_not_found(reply.error) and ident.lower() in str(reply.error).lower(), (
        f"The error does not say that {ident!r} is not found: {said(reply)}")


@then("the page lists exactly the clients Velociraptor knows")
def _(oracle, reply):
    """The page's client records are exactly the clients clients() shows."""
    listed = {str(r["client_id"]) for r in resources.records(reply.data, "client_id")}
    known = set(clients.ids(oracle.clients()))
    assert listed == known, (f"Listed but unknown to Velociraptor: {sorted(listed - known)}; known but not listed: "
                             f"{sorted(known - listed)}")


@then("the page describes the client with the hostname and OS Velociraptor shows")
def _(oracle, reply, client):
    """The page's record of the client carries the hostname and OS Velociraptor shows."""
    record = _one(reply, "client_id", client.client_id)
    row = oracle.client(client.client_id)
    want = {"hostname": clients.hostname(row), "os": clients.os_name(row)}
    missing = [f"{k} {v!r}" for k, v in want.items() if not resources.has_value(record, v)]
    assert not missing, f"The client's page lacks Velociraptor's {', '.join(missing)}: {said(reply)}"


@then(parsers.parse('the page lists the hunt "{word}" as {state}'))
def _(oracle, reply, hunt_named, word, state):
    """The page lists the hunt with that description, in that state."""
    hunt_id = hunts.id_described(oracle, hunt_named(word))
    seen = hunts.listed(resources.records(reply.data, "hunt_id"))
    assert seen.get(hunt_id, "").upper() == state, f"Expected hunt {hunt_id} as {state}; the page lists {seen}"


@then("every hunt on the page has the state Velociraptor shows")
def _(oracle, reply):
    """Each hunt on the page has the state hunts() shows for it."""
    truth = hunts.states(oracle.hunts())
    seen = hunts.listed(resources.records(reply.data, "hunt_id"))
    wrong = [f"hunt {h}: the page says state {s!r}, Velociraptor says {truth.get(h, '(no such hunt)')!r}"
             for h, s in seen.items() if s.upper() != truth.get(h)]
    assert not wrong, "\n".join(wrong[:8])


@then("the page describes the hunt with the description and state Velociraptor shows")
def _(oracle, reply, hunt):
    """The page's record of the hunt has the description and state hunts() shows."""
    record = _one(reply, "hunt_id", hunt.hunt_id)
    truth = oracle.hunt(hunt.hunt_id)
    got = (resources.first(record, "hunt_description", "description"), resources.first(record, "state", "State"))
    want = (hunts.description(truth) or None, hunts.state(truth) or None)
    assert got == want, (f"hunt {hunt.hunt_id}: the page says (description, state) {got}; Velociraptor shows {want}")


@then("the rows on the page equal Velociraptor's results of the hunt")
def _(oracle, reply, hunt):
    """Velociraptor holds results of the hunt (every source of it), and the page's rows equal those of the matching source."""
    by_source = hunts.results_by_source(oracle, hunt)
    assert not (empty := hunts.no_results(hunt, by_source)), empty
    rows = reply.rows if reply.rows is not None else resources.records(reply.data, "ClientId")
    source, truth = hunts.truth_for(rows, by_source)
    problem = diff(rows, truth, hunts.result_columns(truth, VOLATILE),
                   what=f"hunt_results(hunt_id={hunt.hunt_id}, artifact={source})")
    assert not problem, problem


@then("the page lists exactly the artifacts Velociraptor has")
def _(oracle, reply):
    """The page's artifact records are exactly the artifacts Velociraptor has."""
    listed = {str(r["name"]) for r in resources.records(reply.data, "name")}
    known = oracle.artifact_names()
    assert listed == known, (f"{len(listed)} listed, Velociraptor has {len(known)}; unknown to Velociraptor: "
                             f"{sorted(listed - known)[:10]}; missing: {sorted(known - listed)[:10]}")


@then(parsers.parse('the page describes "{name}" with the description and parameters Velociraptor has'))
def _(oracle, reply, name):
    """The page's record of the artifact has Velociraptor's description and parameter names."""
    got = artifacts.description_and_parameters(_one(reply, "name", name))
    want = artifacts.description_and_parameters(oracle.artifact_definition(name))
    assert got == want, (f"{name}: the page says description {got[0]!r}, parameters {got[1]}; Velociraptor has "
                         f"{want[0]!r}, {want[1]}")


@then("the page gives the version Velociraptor reports")
def _(oracle, reply):
    """A version field of the page holds the version Velociraptor reports."""
    version = oracle.version()
    assert resources.gives_version(reply.data, version), (
        f"Velociraptor reports version {version!r}; the page gives version(s) {list(resources.versions(reply.data))}: "
        f"{said(reply)}")


@then("the page gives the hostname and OS Velociraptor reports for its server")
def _(oracle, reply):
    """The page carries the Hostname and OS info() reports."""
    info = oracle.info()
    missing = [f"{k} {info.get(k)!r}" for k in ("Hostname", "OS") if not resources.has_value(reply.data, info.get(k))]
    assert not missing, f"The page lacks the server's {', '.join(missing)}: {said(reply)}"


@then("every deployment on the page opens on its own page")
def _(sut, reply):
    """Each deployment id on the page reads back as a page naming that id."""
    listed = [str(resources.first(r, "deployment_id", "id")) for r in resources.records(reply.data, "deployment_id")]
    broken = {}
    for ident in listed:
        page = _item(sut, "deployment", ident)
        if not (page.ok and resources.has_value(page.data, ident)):
            broken[ident] = said(page)
    assert not broken, f"Deployments listed that do not open: {broken}"


@then(parsers.parse('the page shows the client with the label "{label}"'))
def _(reply, ledger, client, label):
    """The page's record of the client carries the (namespaced) label."""
    record = resources.record_of(reply.data, "client_id", client.client_id)
    assert record is not None, f"The page has no record of {client.client_id}: {said(reply)}"
    assert resources.has_value(record, ledger.name(label)), (
        f"The page shows {client.client_id} without the label {ledger.name(label)!r}: {record}")


@then(parsers.parse("the page lists every {kind:w} artifact Velociraptor has, with that type"))
def _(oracle, reply, kind):
    """Every artifact of that type in Velociraptor is on the page, with that type (case-insensitive)."""
    problems = resources.type_problems(resources.records(reply.data, "name"), oracle.artifact_catalog(), kind)
    assert not problems, "\n".join(problems)
