"""Collections (flows): starting, listing, results, status, cancelling — checked in flows() and source()."""
from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from support import schemas
from support.rows import comparable, diff, ids, said, strings
from support.waits import FLOW_DONE, wait_flow_done, wait_for

#: A collection that runs until cancelled (the client sleeps; nothing on the host changes).
SLEEPER = ("Generic.Client.VQL", {"Command": "SELECT sleep(time=600) AS Slept FROM scope()"})


# -- Givens ------------------------------------------------------------------------------


@given(parsers.parse('the client has a finished collection of "{artifact}"'), target_fixture="collection")
def _(oracle, lab, ledger, client, artifact):
    flow_id = oracle.collect(client.client_id, [artifact])
    ledger.flow(client.client_id, flow_id, "a Given")
    assert wait_flow_done(oracle, client.client_id, flow_id, 90, lab=lab)["state"] == "FINISHED"
    return flow_id


@given("the client has a collection that runs for minutes", target_fixture="collection")
def _(oracle, ledger, client):
    flow_id = oracle.collect(client.client_id, [SLEEPER[0]], SLEEPER[1], timeout=900)
    ledger.flow(client.client_id, flow_id, "a Given")
    wait_for(lambda: ((s := (oracle.flow(client.client_id, flow_id) or {}).get("state")) == "IN_PROGRESS", s),
             f"the client to start running {flow_id}", 30)
    return flow_id


# -- Whens -------------------------------------------------------------------------------


@when("I list the client's flows", target_fixture="reply")
def _(sut, ledger, client):
    return ledger.calling(sut, "list_flows", client_id=client.client_id)


@when(parsers.re(r"I list at most (?P<n>\d+) flows? of the client"), target_fixture="reply")
def _(sut, ledger, client, n):
    return ledger.calling(sut, "list_flows", client_id=client.client_id, limit=int(n))


@when(parsers.parse('I list the flows of client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, client_id):
    return ledger.calling(sut, "list_flows", client_id=client_id)


@when(parsers.re(r'I fetch (?:at most (?P<n>\d+) of )?the results of that collection for "(?P<source>.*)"'),
      target_fixture="reply")
def _(sut, ledger, client, collection, n, source):
    limit = {"limit": int(n)} if n else {}
    return ledger.calling(sut, "get_flow_results", client_id=client.client_id, flow_id=collection, artifact=source,
                          **limit)


@when(parsers.re(r'I (?P<what>fetch the results of|ask for the status of|cancel) collection "(?P<flow_id>.*)" on the client'),
      target_fixture="reply")
def _(sut, ledger, client, what, flow_id):
    tool = {"fetch the results of": "get_flow_results", "ask for the status of": "get_flow_status"}.get(what, "cancel_flow")
    return ledger.calling(sut, tool, client_id=client.client_id, flow_id=flow_id)


@when("I ask for the status of that collection", target_fixture="reply")
def _(sut, ledger, client, collection):
    return ledger.calling(sut, "get_flow_status", client_id=client.client_id, flow_id=collection)


@when("I cancel that collection", target_fixture="reply")
def _(sut, ledger, client, collection):
    return ledger.calling(sut, "cancel_flow", client_id=client.client_id, flow_id=collection)


# -- Thens: the flow in Velociraptor -----------------------------------------------------


@then(parsers.parse('Velociraptor shows the flow the server under test reported, collecting "{artifact}" on the client'),
      target_fixture="collection")
def _(reply, oracle, client, artifact):
    row = oracle.flow(client.client_id, reply.flow_id) if reply.flow_id else None
    assert row, f"Velociraptor shows no flow {reply.flow_id!r} on {client.client_id}; {said(reply)}"
    assert artifact in row["request"]["artifacts"], f"Velociraptor shows the flow collecting {row['request']['artifacts']}"
    return reply.flow_id


@then(parsers.parse("the collection finishes within {seconds:d} seconds"))
def _(oracle, lab, client, collection, seconds):
    row = wait_flow_done(oracle, client.client_id, collection, seconds, lab=lab)
    assert row["state"] == "FINISHED", f"Velociraptor shows {collection} {row['state']}: {row.get('status')!r}"


@then(parsers.parse('each row Velociraptor holds for "{source}" matches the "{schema}" schema'))
def _(oracle, client, collection, source, schema):
    rows = oracle.source(client.client_id, collection, source)
    assert rows, f"Velociraptor holds no rows for {source} in {collection}"
    schemas.check_rows(rows, schema, f"{source} in {collection}")


@then(parsers.parse('Velociraptor shows the collection\'s request with "{param}" set to "{value}"'))
def _(oracle, client, collection, param, value):
    specs = oracle.flow(client.client_id, collection)["request"]["specs"]
    env = {e["key"]: e["value"] for s in specs for e in (s.get("parameters") or {}).get("env") or []}
    assert env.get(param) == value, f"Velociraptor shows the request's parameters as {env}"


@then(parsers.parse('every row Velociraptor holds for "{source}" has a "{field}" containing "{text}"'))
def _(oracle, client, collection, source, field, text):
    values = [str(r.get(field)) for r in oracle.source(client.client_id, collection, source)]
    assert values and all(text in v for v in values), f"Velociraptor holds {field} values {values[:10]}"


@then("Velociraptor shows no flow started on the client")
def _(ledger):
    started = ledger.created("flow")
    assert not started, f"Velociraptor shows flows that appeared during the call: {[str(e) for e in started]}"


@then("Velociraptor shows that collection cancelled")
def _(oracle, client, collection):
    seen = wait_for(lambda: ((r := oracle.flow(client.client_id, collection))["state"] in FLOW_DONE,
                             {"state": r["state"], "status": r["status"]}), f"Velociraptor to stop {collection}", 20)
    assert seen["state"] == "ERROR" and "cancel" in seen["status"].lower(), (
        f"Velociraptor shows {collection} {seen['state']} with status {seen['status']!r}")


@then("Velociraptor shows that collection still running")
def _(oracle, client, collection):
    row = oracle.flow(client.client_id, collection)
    assert row["state"] not in FLOW_DONE, f"Velociraptor shows {collection} {row['state']}: {row['status']!r}"


# -- Thens: what the server under test said about flows ------------------------------------


@then("that collection is among the flows listed")
def _(reply, collection):
    assert collection in ids(reply.rows, "flow"), f"{collection} is not listed: {said(reply)}"


@then("every flow listed is one of the client's flows in Velociraptor, in the state it shows")
def _(reply, oracle, client):
    state = {f["session_id"]: f["state"] for f in oracle.flows(client.client_id)}
    wrong = [(fid, state.get(fid)) for fid, row in zip(ids(reply.rows, "flow"), reply.rows or [])
             if state.get(fid) not in strings(row)]
    assert reply.rows and not wrong, f"Listed flows Velociraptor disagrees on (id, its state): {wrong[:5]}"


@then(parsers.re(r"exactly (?P<n>\d+) flows? (?:is|are) listed, of the client's flows in Velociraptor"))
def _(reply, oracle, client, n):
    known = {f["session_id"] for f in oracle.flows(client.client_id)}
    listed = ids(reply.rows, "flow")
    assert len(listed) == int(n) and set(listed) <= known, f"Velociraptor shows {len(known)} flows; {said(reply)}"


@then("none of the client's flows is listed")
def _(reply, oracle, client):
    leaked = set(ids(reply.rows, "flow")) & {f["session_id"] for f in oracle.flows(client.client_id)}
    assert not leaked, f"The reply lists the client's flows {sorted(leaked)}: {said(reply)}"


@then(parsers.parse('the rows equal Velociraptor\'s rows of that collection for "{source}"'))
def _(reply, oracle, client, collection, source):
    truth = oracle.source(client.client_id, collection, source)
    columns = sorted({k for r in truth for k in r})
    assert truth and reply.ok, f"Velociraptor holds {len(truth)} rows; the server under test answered {said(reply)}"
    assert not (d := diff(reply.rows, truth, columns, what=f"source({collection}, {source})")), d


@then(parsers.re(r'exactly (?P<n>\d+) rows? (?:is|are) returned, each one of Velociraptor\'s rows for "(?P<source>.*)"'))
def _(reply, oracle, client, collection, n, source):
    truth = oracle.source(client.client_id, collection, source)
    columns = sorted({k for r in truth for k in r})
    got, known = comparable(reply.rows, columns), set(comparable(truth, columns))
    assert len(got) == int(n) and set(got) <= known, f"Velociraptor holds {len(truth)} rows; {said(reply)}"


@then("the state reported is the state Velociraptor shows for that collection")
def _(reply, oracle, client, collection):
    state = oracle.flow(client.client_id, collection)["state"]
    said_states = strings(reply.data) & {"RUNNING", "WAITING", "IN_PROGRESS", "UNRESPONSIVE", "FINISHED", "ERROR"}
    assert said_states == {state}, f"Velociraptor shows {state}; the server under test says {said_states}: {said(reply)}"


@then("the rows collected it reports are the number Velociraptor shows")
def _(reply, oracle, client, collection):
    n = oracle.flow(client.client_id, collection)["total_collected_rows"]
    assert str(n) in strings(reply.data), f"Velociraptor counts {n} rows; {said(reply)}"
