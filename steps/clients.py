"""Clients and labels: listing, searching, details, labelling — checked in clients()."""
from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from support.ledger import add_label
from support.rows import ids, said, strings

# -- Givens ------------------------------------------------------------------------------


@given(parsers.parse('the client has the label "{label}"'))
def _(client, ledger, oracle, label):
    add_label(oracle, client.client_id, ledger.name(label), ledger)


@given(parsers.re(r'(?P<n>\d+) more clients? carr(?:y|ies) the label "(?P<label>.*)"'))
def _(ledger, oracle, run_id, n, label):
    for i in range(int(n)):  # client records that never enrolled, as a label on an unknown id makes them
        add_label(oracle, f"C.{run_id}{i:08x}", ledger.name(label), ledger)


# -- Whens -------------------------------------------------------------------------------


@when("I list the clients", target_fixture="reply")
def _(sut, ledger):
    return ledger.calling(sut, "list_clients")


@when(parsers.parse('I search for clients matching "{text}"'), target_fixture="reply")
def _(sut, ledger, text):
    return ledger.calling(sut, "list_clients", search=text)


@when("I search for clients by the client's hostname", target_fixture="reply")
def _(sut, ledger, client):
    return ledger.calling(sut, "list_clients", search=client.hostname)


@when(parsers.re(r'I search for (?:at most (?P<n>\d+) )?clients? labelled "(?P<label>.*)"'), target_fixture="reply")
def _(sut, ledger, n, label):
    limit = {"limit": int(n)} if n else {}
    return ledger.calling(sut, "list_clients", search=f"label:{ledger.name(label)}", **limit)


@when("I ask for the client's details", target_fixture="reply")
def _(sut, ledger, client):
    return ledger.calling(sut, "get_client_info", client_id=client.client_id)


@when(parsers.parse('I ask for the details of client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, client_id):
    return ledger.calling(sut, "get_client_info", client_id=client_id)


@when(parsers.re(r'I (?P<op>add|remove) the label "(?P<label>.*)" (?:to|from) the client'), target_fixture="reply")
def _(sut, ledger, client, op, label):
    return ledger.calling(sut, "label_client", client_id=client.client_id, labels=[ledger.name(label)],
                          operation=op)


@when(parsers.parse('I add the label "{label}" to the client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, label, client_id):
    return ledger.calling(sut, "label_client", client_id=client_id, labels=[ledger.name(label)], operation="add")


# -- Thens -------------------------------------------------------------------------------


@then("the clients listed are the clients Velociraptor knows")
def _(reply, oracle):
    known = sorted(c["client_id"] for c in oracle.clients())
    assert reply.ok and sorted(ids(reply.rows, "client")) == known, (
        f"Velociraptor knows {known}; the server under test answered {said(reply)}")


@then("each client listed has the hostname and OS Velociraptor shows for it")
def _(reply, oracle):
    facts = {c["client_id"]: (c["os_info"]["hostname"], c["os_info"]["system"]) for c in oracle.clients()}
    wrong = [(r, facts.get(cid)) for r, cid in zip(reply.rows or [], ids(reply.rows, "client"))
             if not set(facts.get(cid, ("?", "?"))) <= strings(r)]
    assert reply.rows and not wrong, f"Rows without Velociraptor's (hostname, OS): {wrong[:3]}; {said(reply)}"


@then("the client is among the clients listed")
def _(reply, client):
    assert client.client_id in ids(reply.rows, "client"), f"{client} is not listed: {said(reply)}"


@then("only clients with the client's hostname are listed")
def _(reply, oracle, client):
    hosts = {cid: (oracle.client(cid) or {}).get("os_info", {}).get("hostname") for cid in ids(reply.rows, "client")}
    assert all(h == client.hostname for h in hosts.values()), (
        f"Searching {client.hostname!r} listed clients Velociraptor names {hosts}")


@then("the server under test lists no client")
def _(reply):
    assert reply.ok and not reply.rows, f"Expected an empty list; the server under test answered {said(reply)}"


@then("the server under test lists no client, or refuses the search")
def _(reply):
    assert not reply.rows and (reply.ok or reply.error), \
        f"Expected no client listed (an empty list or a refusal); the server under test answered {said(reply)}"


@then(parsers.re(r'the clients listed are the (?P<n>\d+) Velociraptor finds labelled "(?P<label>.*)"'))
def _(reply, oracle, ledger, n, label):
    known = sorted(c["client_id"] for c in oracle.clients(f"label:{ledger.name(label)}"))
    assert len(known) == int(n) and sorted(ids(reply.rows, "client")) == known, (
        f"Velociraptor finds {known}; the server under test answered {said(reply)}")


@then(parsers.re(r'exactly (?P<n>\d+) clients? (?:is|are) listed, of those Velociraptor finds labelled "(?P<label>.*)"'))
def _(reply, oracle, ledger, n, label):
    known = {c["client_id"] for c in oracle.clients(f"label:{ledger.name(label)}")}
    listed = ids(reply.rows, "client")
    assert len(listed) == int(n) and set(listed) <= known, f"Velociraptor finds {sorted(known)}; {said(reply)}"


@then("the details are Velociraptor's for the client: its id, hostname and OS")
def _(reply, oracle, client):
    row = oracle.client(client.client_id)
    want = {row["client_id"], row["os_info"]["hostname"], row["os_info"]["system"]}
    assert reply.ok and want <= strings(reply.data), f"Velociraptor shows {sorted(want)}; {said(reply)}"


@then("the reply describes no enrolled client")
def _(reply, targets):
    named = [t.client_id for t in targets.all() if t.client_id in str(reply.data) + str(reply.rows)]
    assert not named, f"The reply describes {named}: {said(reply)}"


@then(parsers.re(r'Velociraptor shows the client (?P<has>with|without) the label "(?P<label>.*)"'))
def _(oracle, ledger, client, has, label):
    labels = (oracle.client(client.client_id) or {}).get("labels") or []
    assert (ledger.name(label) in labels) == (has == "with"), f"Velociraptor shows {client.client_id} with {labels}"


@then(parsers.re(r'Velociraptor shows the client with its labels and "(?P<label>.*)", nothing else'))
def _(oracle, ledger, client, label):
    labels = set((oracle.client(client.client_id) or {}).get("labels") or [])
    assert labels == set(client.labels) | {ledger.name(label)}, (
        f"Before: {sorted(client.labels)}; Velociraptor now shows {sorted(labels)}")


@then(parsers.parse('Velociraptor knows no client "{client_id}"'))
def _(oracle, client_id):
    row = oracle.client(client_id)
    assert row is None, f"Velociraptor now holds a record for {client_id}: labels {row and row.get('labels')}"


@then(parsers.parse('no client in Velociraptor carries the label "{label}"'))
def _(oracle, ledger, label):
    carriers = [c["client_id"] for c in oracle.clients() if ledger.name(label).lower() in map(str.lower, c["labels"] or [])]
    assert not carriers, f"Velociraptor shows the label {ledger.name(label)!r} on {carriers}"
