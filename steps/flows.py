"""Collections (flows): starting, listing, results, status, cancelling — checked in flows() and source().
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)"""
from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from support import flows, schemas
from support.quarantine import lab_clients
from support.rows import comparable, diff, ids, said, strings
from support.waits import wait_flow_done, wait_for


# -- Givens ------------------------------------------------------------------------------


@given(parsers.parse('the client has a finished collection of "{artifact}"'), target_fixture="collection")
def _(oracle, lab, ledger, client, artifact):
    """Collects the artifact directly in Velociraptor and waits until it is FINISHED; gives its flow id."""
    flow_id = oracle.collect(client.client_id, [artifact])
    ledger.flow(client.client_id, flow_id, "a Given")
    row = wait_flow_done(oracle, client.client_id, flow_id, 90, lab=lab)
    assert flows.state(row) == "FINISHED", f"The Given's collection {flow_id} ended {flows.summary(row)}"
    return flow_id


@given("the client has a collection that runs for minutes", target_fixture="collection")
def _(oracle, ledger, client):
    """Starts a collection that sleeps for ten minutes and waits until the client runs it; gives its flow id."""
    artifact, parameters = flows.SLEEPER
    flow_id = oracle.collect(client.client_id, [artifact], parameters, timeout=900)
    ledger.flow(client.client_id, flow_id, "a Given")
    wait_for(lambda: ((s := flows.state(oracle.flow(client.client_id, flow_id))) == "IN_PROGRESS", s),
             f"the client to start running {flow_id}", 30)
    return flow_id


@given("the client has a cancelled collection", target_fixture="collection")
def _(oracle, lab, ledger, client):
    """Starts a collection that sleeps for minutes, cancels it in Velociraptor and waits until it shows ERROR."""
    flow_id = flows.start_sleeper(oracle, ledger, client.client_id)
    return flows.cancel_and_wait(oracle, client.client_id, flow_id, lab=lab)


@given(parsers.parse('the client has {n:d} finished collections of "{artifact}"'), target_fixture="collections")
def _(oracle, lab, ledger, client, n, artifact):
    """Starts that many collections of the artifact at once and waits until every one is FINISHED; gives their flow ids."""
    return flows.finished_collections(oracle, ledger, client.client_id, artifact, n, lab=lab)


@given(parsers.parse('another enrolled client on the same host, with a finished collection of "{artifact}"'),
       target_fixture="other_collection")
def _(oracle, lab, ledger, targets, client, artifact):
    """Picks a second enrolled client with the scenario client's hostname (skips when the lab has none), collects
    the artifact on it and waits until FINISHED; gives (its client id, the flow id)."""
    other = flows.same_host_other(targets.all(), client)
    if other is None:
        pytest.skip(f"the lab has no second client on {client.hostname!r} (run with --clients 2)")
    return other.client_id, flows.finished_collections(oracle, ledger, other.client_id, artifact, 1, lab=lab)[0]


# -- Whens -------------------------------------------------------------------------------


@when("I list the client's flows", target_fixture="reply")
def _(sut, ledger, client):
    """Asks for the scenario client's flows."""
    return sut.call("list_flows", client_id=client.client_id)


@when(parsers.parse("I list the client's flows, keeping at most {n:d}"), target_fixture="reply")
def _(sut, ledger, client, n):
    """Asks for the scenario client's flows, with a limit."""
    return sut.call("list_flows", client_id=client.client_id, limit=n)


@when(parsers.parse('I list the flows of client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, client_id):
    """Asks for the flows of a client id given in the feature."""
    return sut.call("list_flows", client_id=client_id)


@when(parsers.parse('I fetch the results of that collection for "{source}"'), target_fixture="reply")
def _(sut, ledger, client, collection, source):
    """Asks for the collection's rows of an artifact or ``Artifact/Source``."""
    return sut.call("get_flow_results", client_id=client.client_id, flow_id=collection, artifact=source)


@when(parsers.parse('I fetch the results of that collection for "{source}", keeping at most {n:d}'),
      target_fixture="reply")
def _(sut, ledger, client, collection, source, n):
    """Asks for the collection's rows of an artifact or ``Artifact/Source``, with a limit."""
    return sut.call("get_flow_results", client_id=client.client_id, flow_id=collection, artifact=source,
                          limit=n)


@when(parsers.parse('I fetch the results of collection "{flow_id}" on the client'), target_fixture="reply")
def _(sut, ledger, client, flow_id):
    """Asks for the results of a flow id given in the feature."""
    return sut.call("get_flow_results", client_id=client.client_id, flow_id=flow_id)


@when(parsers.parse('I ask for the status of collection "{flow_id}" on the client'), target_fixture="reply")
def _(sut, ledger, client, flow_id):
    """Asks for the status of a flow id given in the feature."""
    return sut.call("get_flow_status", client_id=client.client_id, flow_id=flow_id)


@when(parsers.parse('I cancel collection "{flow_id}" on the client'), target_fixture="reply")
def _(sut, ledger, client, flow_id):
    """Asks to cancel a flow id given in the feature."""
    return sut.call("cancel_flow", client_id=client.client_id, flow_id=flow_id)


@when("I ask for the status of that collection", target_fixture="reply")
def _(sut, ledger, client, collection):
    """Asks for the status of the scenario's collection."""
    return sut.call("get_flow_status", client_id=client.client_id, flow_id=collection)


@when("I cancel that collection", target_fixture="reply")
def _(sut, ledger, client, collection):
    """Asks to cancel the scenario's collection."""
    return sut.call("cancel_flow", client_id=client.client_id, flow_id=collection)


# -- Thens: the flow in Velociraptor -----------------------------------------------------


@then(parsers.parse('Velociraptor shows the flow the server under test reported, collecting "{artifact}" on the client'),
      target_fixture="collection")
def _(reply, oracle, client, artifact):
    """The flow id the reply names exists on the client in Velociraptor and collects the artifact; gives that id."""
    row = oracle.flow(client.client_id, reply.flow_id) if reply.flow_id else None
    assert row, f"Velociraptor shows no flow {reply.flow_id!r} on {client.client_id}; {said(reply)}"
    assert artifact in flows.artifacts(row), (
        f"flow {reply.flow_id}: Velociraptor shows it collecting {flows.artifacts(row)}, not {artifact}")
    return reply.flow_id


@then(parsers.parse("the collection finishes within {seconds:d} seconds"))
def _(oracle, lab, client, collection, seconds):
    """Velociraptor shows the collection FINISHED (not ERROR) within the time."""
    row = wait_flow_done(oracle, client.client_id, collection, seconds, lab=lab)
    assert flows.state(row) == "FINISHED", f"Velociraptor shows {collection} {flows.summary(row)}"


@then(parsers.parse('each row Velociraptor holds for "{source}" matches the "{schema}" schema'))
def _(oracle, client, collection, source, schema):
    """Velociraptor holds rows for the source in the collection, and each fits the named JSON schema."""
    rows = oracle.source(client.client_id, collection, source)
    assert rows, f"Velociraptor holds no rows for {source} in {collection}"
    schemas.check_rows(rows, schema, f"{source} in {collection}")


@then(parsers.parse('Velociraptor shows the collection\'s request with "{param}" set to "{value}"'))
def _(oracle, client, collection, param, value):
    """The collection's request in Velociraptor passes the parameter with exactly that value."""
    env = flows.parameters(oracle.flow(client.client_id, collection))
    assert env.get(param) == value, (
        f"flow {collection}: Velociraptor shows {param} {env.get(param)!r}, the scenario sent {value!r} "
        f"(all parameters: {env})")


@then(parsers.parse('every row Velociraptor holds for "{source}" has a "{field}" containing "{text}"'))
def _(oracle, client, collection, source, field, text):
    """Velociraptor holds rows for the source, and the field of each contains the text."""
    values = [str(r.get(field)) for r in oracle.source(client.client_id, collection, source)]
    wrong = [v for v in values if text not in v]
    assert values and not wrong, (f"Velociraptor holds {len(values)} row(s) for {source}; {field} without "
                                  f"{text!r}: {wrong[:10]}")


@then("Velociraptor shows no flow started on the client")
def _(ledger):
    """No flow appeared on the client during the call."""
    started = ledger.created("flow")
    assert not started, f"Velociraptor shows flows that appeared during the call: {[str(e) for e in started]}"


@then("Velociraptor shows that collection cancelled")
def _(oracle, client, collection):
    """Within 20 s the collection is done in Velociraptor: ERROR, with a status that names the cancel."""
    seen = wait_for(lambda: (flows.done(r := oracle.flow(client.client_id, collection)), r),
                    f"Velociraptor to stop {collection}", 20)
    assert flows.cancelled(seen), f"Velociraptor shows {collection} {flows.summary(seen)}, not cancelled"


@then("Velociraptor shows that collection still running")
def _(oracle, client, collection):
    """Velociraptor shows the collection in a state that is not done."""
    row = oracle.flow(client.client_id, collection)
    assert not flows.done(row), f"Velociraptor shows {collection} {flows.summary(row)}"


# -- Thens: what the server under test said about flows ------------------------------------


@then("that collection is among the flows listed")
def _(reply, collection):
    """The reply lists the scenario's collection."""
    assert collection in ids(reply.rows, "flow"), f"{collection} is not listed: {said(reply)}"


@then("every flow listed is one of the client's flows in Velociraptor, in the state it shows")
def _(reply, oracle, client):
    """Something is listed, and each listed flow is the client's in Velociraptor, with Velociraptor's state in its row."""
    state = flows.states(oracle.flows(client.client_id))
    wrong = [f"flow {fid}: Velociraptor says state {state.get(fid) or '(no such flow)'}, the server's row does not"
             for fid, row in zip(ids(reply.rows, "flow"), reply.rows or []) if state.get(fid) not in strings(row)]
    assert reply.rows and not wrong, "\n".join(wrong[:5]) or f"No flow listed: {said(reply)}"


@then(parsers.parse("the server under test lists exactly {n:d} of the client's flows in Velociraptor"))
def _(reply, oracle, client, n):
    """Exactly that many flows are listed, each one of the client's flows in Velociraptor."""
    known = set(flows.states(oracle.flows(client.client_id)))
    listed = ids(reply.rows, "flow")
    assert len(listed) == n and set(listed) <= known, (
        f"The server under test lists {len(listed)} flow(s) (expected {n}); not the client's in Velociraptor: "
        f"{sorted(set(listed) - known)}; {said(reply)}")


@then("none of the other client's flows is listed")
def _(reply, oracle, other_collection):
    """Something is listed, and nothing listed is a flow of the other client (its collection, or any flow only it has)."""
    other_id, flow_id = other_collection
    listed = set(ids(reply.rows, "flow"))
    theirs = set(flows.states(oracle.flows(other_id)))
    leaked = sorted(listed & ({flow_id} | theirs))
    assert listed and not leaked, (f"The reply lists {other_id}'s flows {leaked}" if leaked
                                   else f"No flow listed: {said(reply)}")


@then("no flow of any client is listed")
def _(reply, oracle, lab):
    """The reply lists no flow: the client id names no client, so any flow listed is another
    client's (the scenario's own, or any other the injected text reached). The message names the
    client of each flow Velociraptor knows."""
    listed = ids(reply.rows, "flow")
    if listed:
        owner = {fid: cid for cid in lab_clients(lab, oracle) for fid in flows.states(oracle.flows(cid))}
        named = "; ".join(f"{fid} ({owner[fid] if fid in owner else 'no client in Velociraptor has it'})"
                          for fid in listed)
        raise AssertionError(f"The reply lists {len(listed)} flow(s) for a client id that names no client: "
                             f"{named}: {said(reply)}")


@then(parsers.parse('the rows equal Velociraptor\'s rows of that collection for "{source}"'))
def _(reply, oracle, client, collection, source):
    """Velociraptor holds rows for the source, and the reply's rows equal them on Velociraptor's columns."""
    truth = oracle.source(client.client_id, collection, source)
    columns = sorted({k for r in truth for k in r})
    assert truth and reply.ok, f"Velociraptor holds {len(truth)} rows; the server under test answered {said(reply)}"
    assert not (d := diff(reply.rows, truth, columns, what=f"source({collection}, {source})")), d


@then(parsers.parse('the server under test returns exactly {n:d} of Velociraptor\'s rows for "{source}"'))
def _(reply, oracle, client, collection, source, n):
    """Exactly that many rows are returned, each equal to one of Velociraptor's rows for the source."""
    truth = oracle.source(client.client_id, collection, source)
    columns = sorted({k for r in truth for k in r})
    got, known = comparable(reply.rows, columns), set(comparable(truth, columns))
    foreign = [g for g in got if g not in known]
    assert len(got) == n and not foreign, (
        f"The server under test returns {len(got)} row(s) (expected {n}) of Velociraptor's {len(truth)}; rows "
        f"Velociraptor does not hold: {foreign[:3]}; {said(reply)}")


@then("the state reported is the state Velociraptor shows for that collection")
def _(reply, oracle, client, collection):
    """The only flow state the reply names is the one Velociraptor shows."""
    state = flows.state(oracle.flow(client.client_id, collection))
    said_states = strings(reply.data) & set(flows.FLOW_STATES)
    assert said_states == {state}, f"Velociraptor shows {state}; the server under test says {said_states}: {said(reply)}"


@then("the rows collected it reports are the number Velociraptor shows")
def _(reply, oracle, client, collection):
    """The reply names the number of rows Velociraptor counts for the collection."""
    n = flows.total_rows(oracle.flow(client.client_id, collection))
    assert str(n) in strings(reply.data), f"Velociraptor counts {n} rows; {said(reply)}"


# -- limits across a collection's sources (issue 14 §4, mutation survivors #24 and #38) ---------

#: Reply keys by which a server says a limit left rows out (the reference: ``truncated``).
LEFT_OUT_FLAGS = ("truncated", "is_truncated", "has_more", "more_results")


def _held(oracle, client, collection) -> dict[str, list[dict]]:
    """Velociraptor's rows of the collection by source; the scenario needs two sources with rows."""
    by_source = {s: rows for s, rows in oracle.collection_rows(client.client_id, collection).items() if rows}
    assert len(by_source) >= 2, (f"Velociraptor holds rows of {collection} for {len(by_source)} source(s) "
                                 f"({', '.join(by_source) or 'none'}): the scenario needs two or more")
    return by_source


def _limit(oracle, client, collection, which: str) -> int:
    """The limit a scenario asks for: "all but one" of the collection's rows, or as many as its
    "first source" (in Velociraptor's artifacts_with_results order) holds."""
    by_source = _held(oracle, client, collection)
    if which == "all but one":
        return sum(len(rows) for rows in by_source.values()) - 1
    return len(next(iter(by_source.values())))


@when("I fetch the results of that collection, keeping all but one of its rows", target_fixture="reply")
def _(sut, ledger, oracle, client, collection):
    """Asks for the collection's rows of every source, with a limit one less than the rows
    Velociraptor holds for it (so the limit falls inside a later source, whatever their order)."""
    return sut.call("get_flow_results", client_id=client.client_id, flow_id=collection,
                          limit=_limit(oracle, client, collection, "all but one"))


@when("I fetch the results of that collection, keeping as many rows as its first source holds",
      target_fixture="reply")
def _(sut, ledger, oracle, client, collection):
    """Asks for the collection's rows of every source, with a limit equal to the rows Velociraptor
    holds for the first source that has results (so the limit falls exactly at that source's end)."""
    return sut.call("get_flow_results", client_id=client.client_id, flow_id=collection,
                          limit=_limit(oracle, client, collection, "first source"))


def _returns(reply, oracle, client, collection, which: str) -> None:
    """Exactly :func:`_limit` rows came back, each equal (on its source's columns) to a row
    Velociraptor holds for one of the collection's sources."""
    n = _limit(oracle, client, collection, which)
    by_source = _held(oracle, client, collection)
    # each source's rows as canonical JSON of that source's own columns
    per_source = [(cols, set(comparable(rows, cols))) for rows in by_source.values()
                  for cols in [sorted({k for r in rows for k in r})]]
    foreign = [row for row in reply.rows or []
               if not any(comparable([row], cols)[0] in known for cols, known in per_source)]
    count = len(reply.rows or [])
    held = ", ".join(f"{s}: {len(r)}" for s, r in by_source.items())
    assert reply.ok and count == n and not foreign, (
        f"The server under test returns {count} row(s) (expected {which}: {n}); Velociraptor holds for "
        f"{collection} {held}; rows it does not hold: {foreign[:3]}; {said(reply)}")


@then("the server under test returns all but one of the rows Velociraptor holds for that collection")
def _(reply, oracle, client, collection):
    """All but one of the collection's rows come back, each one Velociraptor holds for it."""
    _returns(reply, oracle, client, collection, "all but one")


@then("the server under test returns as many rows as the first source holds, each one Velociraptor holds for "
      "that collection")
def _(reply, oracle, client, collection):
    """As many rows as the first source with results holds come back, each one Velociraptor holds
    for the collection."""
    _returns(reply, oracle, client, collection, "first source")


@then("the server under test says rows were left out")
def _(reply, oracle, client, collection):
    """Velociraptor holds more rows for the collection than came back, and the reply says so: a
    ``truncated``-like flag (:data:`LEFT_OUT_FLAGS`) set true."""
    held = sum(len(rows) for rows in _held(oracle, client, collection).values())
    got = len(reply.rows or [])
    assert held > got, f"Velociraptor holds {held} row(s) for {collection} and {got} came back: none left out"
    data = reply.data if isinstance(reply.data, dict) else {}
    flags = {k: data[k] for k in LEFT_OUT_FLAGS if k in data}
    assert reply.ok and any(v is True for v in flags.values()), (
        f"Velociraptor holds {held} rows for {collection}, {got} came back, and the server under test does not "
        f"say rows were left out (flags {flags or 'none of ' + ', '.join(LEFT_OUT_FLAGS)}); {said(reply)}")


@given(parsers.parse("the client has more than {n:d} collections"))
def _(oracle, lab, ledger, client, n):
    """Tops the client's flows in Velociraptor up to ``n + 1`` with finished collections of
    Generic.Client.Info, started at once (a lab that already holds more starts none)."""
    have = len({row.get("session_id") for row in oracle.flows(client.client_id)})
    started = []
    if have <= n:
        started = flows.finished_collections(oracle, ledger, client.client_id, "Generic.Client.Info", n + 1 - have,
                                             lab=lab)
    listed = {row.get("session_id") for row in oracle.flows(client.client_id)}
    if len(listed) <= n:
        unlisted = [f for f in started if f not in listed]
        found = sum(oracle.flow(client.client_id, f) is not None for f in unlisted)
        raise AssertionError(
            f"Velociraptor lists {len(listed)} collections on client {client.client_id}, the Given needs more than "
            f"{n}; of the {len(started)} it started and saw finish, {len(unlisted)} are not in the client's flows() "
            f"listing: {found} of them still found by their id (the listing lost them: seen once under -n 4 while "
            f"other scenarios deleted flows of the client, which is why this scenario is @exclusive), "
            f"{len(unlisted) - found} gone")
