"""Clients and labels: listing, searching, details, labelling — checked in clients().
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)"""
from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from support import clients
from support.ledger import add_label
from support.rows import ids, said, strings, unlike



def _settled(labels, ledger) -> set[str]:
    """The labels no other process of the suite can change during this scenario: all but those
    in another worker's or run's namespace (:meth:`support.ledger.Ledger.foreign_label`)."""
    return {label for label in labels if not ledger.foreign_label(label)}


# -- Givens ------------------------------------------------------------------------------


@given(parsers.parse('the client has the label "{label}"'))
def _(client, ledger, oracle, label):
    """Puts the (namespaced) label on the client directly in Velociraptor."""
    add_label(oracle, client.client_id, ledger.name(label), ledger, "a Given")


@given(parsers.parse('{n:d} more clients carry the label "{label}"'))
def _(ledger, oracle, run_id, n, label):
    """Makes that many client records that never enrolled, carrying the label (as labelling an unknown id does)."""
    for i in range(n):
        add_label(oracle, ledger.client_id(i), ledger.name(label), ledger, "a Given")


# -- Whens -------------------------------------------------------------------------------


def _label(sut, ledger, client_id, label, op):
    return sut.call("label_client", client_id=client_id, labels=[ledger.name(label)], operation=op)


@when("I list the clients", target_fixture="reply")
def _(sut, ledger):
    """Asks for every client."""
    return sut.call("list_clients")


@when(parsers.parse('I search for clients matching "{text}"'), target_fixture="reply")
def _(sut, ledger, text):
    """Asks for the clients a search text finds."""
    return sut.call("list_clients", search=text)


@when("I search for clients by the client's hostname", target_fixture="reply")
def _(sut, ledger, client):
    """Asks for the clients with the scenario client's hostname."""
    return sut.call("list_clients", search=client.hostname)


@when(parsers.parse('I search for clients labelled "{label}"'), target_fixture="reply")
def _(sut, ledger, label):
    """Asks for the clients carrying the (namespaced) label."""
    return sut.call("list_clients", search=f"label:{ledger.name(label)}")


@when(parsers.parse('I search for clients labelled "{label}", keeping at most {n:d}'), target_fixture="reply")
def _(sut, ledger, label, n):
    """Asks for the clients carrying the (namespaced) label, with a limit."""
    return sut.call("list_clients", search=f"label:{ledger.name(label)}", limit=n)


@when("I ask for the client's details", target_fixture="reply")
def _(sut, ledger, client):
    """Asks for the scenario client's details."""
    return sut.call("get_client_info", client_id=client.client_id)


@when(parsers.parse('I ask for the details of client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, client_id):
    """Asks for the details of a client id given in the feature."""
    return sut.call("get_client_info", client_id=client_id)


@when(parsers.parse('I add the label "{label}" to the client'), target_fixture="reply")
def _(sut, ledger, client, label):
    """Asks to add the (namespaced) label to the scenario's client."""
    return _label(sut, ledger, client.client_id, label, "add")


@when(parsers.parse('I remove the label "{label}" from the client'), target_fixture="reply")
def _(sut, ledger, client, label):
    """Asks to remove the (namespaced) label from the scenario's client."""
    return _label(sut, ledger, client.client_id, label, "remove")


@when(parsers.parse('I add the label "{label}" to the client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, label, client_id):
    """Asks to add the (namespaced) label to a client id given in the feature."""
    return _label(sut, ledger, client_id, label, "add")


# -- Thens -------------------------------------------------------------------------------


@then("the clients listed are the clients Velociraptor knows")
def _(reply, oracle):
    """The reply lists exactly the client ids clients() shows."""
    known = clients.ids(oracle.clients())
    listed = sorted(ids(reply.rows, "client"))
    assert reply.ok and listed == known, (
        f"Listed but unknown to Velociraptor: {sorted(set(listed) - set(known))}; known to Velociraptor but not "
        f"listed: {sorted(set(known) - set(listed))}; the server under test answered {said(reply)}")


@then("each client listed has the hostname and OS Velociraptor shows for it")
def _(reply, oracle):
    """Something is listed, and each listed row carries the hostname and OS Velociraptor shows for that client."""
    facts = clients.facts(oracle.clients())
    wrong = [unlike(row, facts.get(cid), clients.FIELD_NAMES, f"client {cid}")
             for row, cid in zip(reply.rows or [], ids(reply.rows, "client"))]
    wrong = [w for w in wrong if w]
    assert reply.rows and not wrong, "\n".join(wrong[:5]) or f"No client listed: {said(reply)}"


@then("the client is among the clients listed")
def _(reply, client):
    """The reply lists the scenario's client."""
    assert client.client_id in ids(reply.rows, "client"), f"{client} is not listed: {said(reply)}"


@then("only clients with the client's hostname are listed")
def _(reply, oracle, client):
    """Velociraptor gives every listed client the scenario client's hostname."""
    hosts = {cid: clients.hostname(oracle.client(cid)) for cid in ids(reply.rows, "client")}
    wrong = {cid: h for cid, h in hosts.items() if h != client.hostname}
    assert not wrong, f"Searching {client.hostname!r} listed clients Velociraptor names otherwise: {wrong}"


@then("the server under test lists no client")
def _(reply):
    """The reply is a success with an empty list."""
    assert reply.ok and not reply.rows, f"Expected an empty list; the server under test answered {said(reply)}"


@then("the server under test lists no client, or refuses the search")
def _(reply):
    """The reply lists no client: an empty success or an error."""
    assert not reply.rows and (reply.ok or reply.error), \
        f"Expected no client listed (an empty list or a refusal); the server under test answered {said(reply)}"


@then(parsers.parse('the clients listed are the {n:d} Velociraptor finds labelled "{label}"'))
def _(reply, oracle, ledger, n, label):
    """Velociraptor finds that many clients with the (namespaced) label, and the reply lists exactly those."""
    known = clients.ids(oracle.clients(f"label:{ledger.name(label)}"))
    listed = sorted(ids(reply.rows, "client"))
    assert len(known) == n and listed == known, (
        f"Velociraptor finds {len(known)} client(s) labelled (expected {n}): {known}; the server under test "
        f"lists {listed}: {said(reply)}")


@then(parsers.parse('the server under test lists exactly {n:d} of the clients Velociraptor finds labelled "{label}"'))
def _(reply, oracle, ledger, n, label):
    """Exactly that many clients are listed, each one Velociraptor finds with the (namespaced) label."""
    known = set(clients.ids(oracle.clients(f"label:{ledger.name(label)}")))
    listed = ids(reply.rows, "client")
    assert len(listed) == n and set(listed) <= known, (
        f"The server under test lists {len(listed)} client(s) (expected {n}): {listed}; Velociraptor finds "
        f"{sorted(known)}; {said(reply)}")


@then("the details are Velociraptor's for the client: its id, hostname and OS")
def _(reply, oracle, client):
    """The reply names the client's id, and the hostname and OS Velociraptor shows for it."""
    row = oracle.client(client.client_id)
    want = {"client_id": client.client_id, "hostname": clients.hostname(row), "os": clients.os_name(row)}
    missing = {k: v for k, v in want.items() if v not in strings(reply.data)}
    assert reply.ok and not missing, f"The details lack Velociraptor's {missing}; {said(reply)}"


@then("the reply describes no enrolled client")
def _(reply, targets):
    """No enrolled client's id appears in the reply."""
    named = [t.client_id for t in targets.all() if t.client_id in str(reply.data) + str(reply.rows)]
    assert not named, f"The reply describes {named}: {said(reply)}"


@then(parsers.parse('Velociraptor shows the client with the label "{label}"'))
def _(oracle, ledger, client, label):
    """clients() shows the (namespaced) label on the scenario's client."""
    labels = clients.labels(oracle.client(client.client_id))
    assert ledger.name(label) in labels, f"Velociraptor shows {client.client_id} without {ledger.name(label)!r}: {labels}"


@then(parsers.parse('Velociraptor shows the client without the label "{label}"'))
def _(oracle, ledger, client, label):
    """clients() does not show the (namespaced) label on the scenario's client."""
    labels = clients.labels(oracle.client(client.client_id))
    assert ledger.name(label) not in labels, f"Velociraptor still shows {ledger.name(label)!r} on {client.client_id}: {labels}"


@then(parsers.parse('Velociraptor shows the client with its labels and "{label}", nothing else'))
def _(oracle, ledger, client, label):
    """The client's labels are those it had before the scenario plus the (namespaced) label, exactly."""
    labels = _settled(clients.labels(oracle.client(client.client_id)), ledger)
    want = _settled(client.labels, ledger) | {ledger.name(label)}
    assert labels == want, (f"Velociraptor shows labels it should not: {sorted(labels - want)}; lacks: "
                            f"{sorted(want - labels)} (before the call: {sorted(client.labels)})")


@then(parsers.parse('Velociraptor knows no client "{client_id}"'))
def _(oracle, client_id):
    """clients() has no record, not even a bare one, for the id."""
    row = oracle.client(client_id)
    assert row is None, f"Velociraptor now holds a record for {client_id}: labels {clients.labels(row)}"


@then(parsers.parse('no client in Velociraptor carries the label "{label}"'))
def _(oracle, ledger, label):
    """No clients() row carries the (namespaced) label."""
    carriers = clients.ids(oracle.clients(), label=ledger.name(label))
    assert not carriers, f"Velociraptor shows the label {ledger.name(label)!r} on {carriers}"


# -- issue 10: several labels at once, replies that mirror Velociraptor, hostile searches ----


@when(parsers.parse('I add the labels "{first}" and "{second}" to the client'), target_fixture="reply")
def _(sut, ledger, client, first, second):
    """Asks, in one call, to add both (namespaced) labels to the scenario's client."""
    return sut.call("label_client", client_id=client.client_id,
                          labels=[ledger.name(first), ledger.name(second)], operation="add")


@then("the labels the server under test states for the client are the ones Velociraptor shows")
def _(reply, oracle, ledger, client):
    """The reply names every label Velociraptor shows on the client (also those the request did not name),
    and every label of this scenario it names is on the client in Velociraptor."""
    shown = _settled(clients.labels(oracle.client(client.client_id)), ledger)
    stated = strings(reply.data) | strings(reply.rows)
    missing = sorted(shown - stated)
    ours = sorted(s for s in stated if s.startswith(ledger.namespace + "-") and s not in shown)
    assert reply.ok and not missing and not ours, (
        f"Velociraptor shows the labels {sorted(shown)} on {client.client_id}; the reply leaves out {missing} and "
        f"states {ours}, which Velociraptor does not show; {said(reply)}")


@then("each client listed carries the labels Velociraptor shows for it")
def _(reply, oracle, ledger):
    """Something is listed, and each listed client's row names every label Velociraptor shows on that client."""
    rows = list(reply.rows or [])
    wrong = {}
    for row, cid in zip(rows, ids(rows, "client")):
        shown = _settled(clients.labels(oracle.client(cid)), ledger)
        if shown - strings(row):
            wrong[cid] = {"Velociraptor": sorted(shown), "missing from the row": sorted(shown - strings(row))}
    assert rows and not wrong, f"Listed clients without Velociraptor's labels: {wrong}" if rows else \
        f"No client listed: {said(reply)}"


@then(parsers.parse('the clients listed are the ones Velociraptor finds for "{text}"'))
def _(reply, oracle, text):
    """The reply lists exactly the clients Velociraptor's clients(search=…) finds when the same text is
    passed as a query variable (so quotes in it cannot widen or break the oracle's query)."""
    known = sorted({r.get("client_id") for r in oracle.query("SELECT client_id FROM clients(search=Search)",
                                                              {"Search": text})})
    listed = sorted(ids(reply.rows, "client"))
    assert reply.ok and listed == known, (
        f"For the search {text!r} Velociraptor finds {known}; the server under test lists {listed}: {said(reply)}")


@then("the details carry the labels Velociraptor shows on the client")
def _(reply, oracle, client, ledger):
    """The reply names every label Velociraptor shows on the scenario's client."""
    shown = _settled(clients.labels(oracle.client(client.client_id)), ledger)
    missing = sorted(shown - strings(reply.data) - strings(reply.rows))
    assert reply.ok and shown and not missing, (
        f"Velociraptor shows the labels {sorted(shown)} on {client.client_id}; the details leave out {missing}; "
        f"{said(reply)}")


@then("the details carry the machine architecture Velociraptor shows for the client")
def _(reply, oracle, client):
    """The reply names the architecture Velociraptor recorded for the client at interrogation
    (e.g. "amd64"); a client with none recorded is a lab fault, not the SUT's."""
    arch = oracle.client_architecture(client.client_id)
    assert arch, f"Velociraptor shows no architecture for {client.client_id}: is it interrogated?"
    assert reply.ok and arch in strings(reply.data), (
        f"The details lack the architecture {arch!r} Velociraptor shows for {client.client_id}; {said(reply)}")
