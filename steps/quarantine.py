"""Quarantine words: a client that cannot apply a real quarantine, quarantine calls to the
server under test, and Thens that ask Velociraptor which collections ran and which labels
the client carries. Guard and facts: support/quarantine.py.
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)
"""
from __future__ import annotations

import re

import pytest
from pytest_bdd import given, parsers, then, when

from support import clients, flows, quarantine, waits
from support.rows import said, strings


@pytest.fixture
def flows_before(oracle, client):
    """The client's flows just before the When that asks for this fixture (resolved at that step)."""
    return set(flows.states(oracle.flows(client.client_id)))


@pytest.fixture
def every_flow_before(oracle, lab):
    """Every flow of every client of the lab just before the When that asks for this fixture:
    ``{client_id: {flow_id, …}}`` (the lab's enrolled clients; on an external lab, which names
    none, every client Velociraptor lists)."""
    return {cid: set(flows.states(quarantine.flows_of(oracle, cid))) for cid in quarantine.lab_clients(lab, oracle)}


@given("an enrolled linux client that cannot apply a real quarantine", target_fixture="client")
def _(targets, lab):
    """An enrolled linux client that cannot apply a real quarantine (else the scenario is skipped, saying why)."""
    reason = quarantine.why_unsafe(lab)
    if reason:
        pytest.skip(f"not quarantining: {reason}")
    return targets.pick("linux")


@given("the client is quarantined")
def _(oracle, ledger, lab, client):
    """Quarantines the client directly (safe parameters) and labels it Quarantine."""
    flow_id = quarantine.quarantine_safely(oracle, client.client_id, client.os)
    ledger.flow(client.client_id, flow_id, "the Given that quarantined the client (safe parameters)")
    waits.wait_flow_done(oracle, client.client_id, flow_id, 60, lab=lab)
    quarantine.set_label(oracle, client.client_id, "set")
    ledger.label(client.client_id, quarantine.LABEL, "the Given that quarantined the client")


@when("I quarantine the client", target_fixture="reply")
def _(sut, ledger, client, flows_before):
    """Asks to quarantine the scenario's client."""
    return sut.call("quarantine_client", client_id=client.client_id, quarantine=True)


@when("I lift the quarantine from the client", target_fixture="reply")
def _(sut, ledger, client, flows_before):
    """Asks to lift the quarantine from the scenario's client."""
    return sut.call("quarantine_client", client_id=client.client_id, quarantine=False)


@when(parsers.parse('I quarantine the client "{client_id}"'), target_fixture="reply")
def _(sut, ledger, client_id):
    """Asks to quarantine a client id given in the feature."""
    return sut.call("quarantine_client", client_id=client_id, quarantine=True)


def _new_of(oracle, client, flows_before, artifact):
    new = quarantine.new_flows(oracle, client.client_id, flows_before)
    return [f for f in new if artifact in quarantine.artifacts_of(f)], new


@then(parsers.parse('Velociraptor shows a new collection of "{artifact}" on the client'))
def _(oracle, client, flows_before, artifact):
    """A collection of the artifact appeared on the client since the When."""
    found, new = _new_of(oracle, client, flows_before, artifact)
    assert found, f"No new collection of {artifact} on {client.client_id}; new collections: {quarantine.describe(new)}"


@then("Velociraptor shows no new collection of another OS's quarantine on the client")
def _(oracle, client, flows_before):
    """No collection of another OS's quarantine artifact appeared on the client."""
    own = quarantine.ARTIFACTS[client.os]
    others = set(quarantine.ARTIFACTS.values()) - {own}
    wrong = [f for f in quarantine.new_flows(oracle, client.client_id, flows_before)
             if others & set(quarantine.artifacts_of(f))]
    assert not wrong, f"A {client.os} client was sent another OS's quarantine: {quarantine.describe(wrong)}"


@then("Velociraptor shows the client labelled Quarantine")
def _(oracle, client):
    """clients() shows the Quarantine label on the client."""
    assert quarantine.has_label(oracle, client.client_id), (
        f"Velociraptor shows {client.client_id} with labels {clients.labels(oracle.client(client.client_id))}")


@then("Velociraptor shows the client no longer labelled Quarantine")
def _(oracle, client):
    """clients() does not show the Quarantine label on the client."""
    assert not quarantine.has_label(oracle, client.client_id), (
        f"{client.client_id} still carries the label {quarantine.LABEL!r} in Velociraptor")


@then(parsers.parse('Velociraptor shows no collection for the client "{client_id}"'))
def _(oracle, reply, client_id):
    """Velociraptor holds no collection for the client id."""
    flows = quarantine.flows_of(oracle, client_id)
    assert not flows, f"Velociraptor holds collections for {client_id}: {quarantine.describe(flows)}; {said(reply)}"


# -- issue 10: one aspect per Then (which policy, which message, which collection) ----------


def _new_quarantines(oracle, client, flows_before):
    """The new collections on the client of any OS's quarantine artifact, with that artifact."""
    names = set(quarantine.ARTIFACTS.values())
    new = quarantine.new_flows(oracle, client.client_id, flows_before)
    return [(f, a) for f in new for a in quarantine.artifacts_of(f) if a in names], new


@when(parsers.parse('I quarantine the client with the message "{message}"'), target_fixture="reply")
def _(sut, ledger, client, flows_before, message):
    """Asks to quarantine the scenario's client, with a message for its users."""
    return sut.call("quarantine_client", client_id=client.client_id, quarantine=True, message=message)


@then("Velociraptor shows a new quarantine collection on the client that applies the policy")
def _(oracle, client, flows_before):
    """A collection of a quarantine artifact (whichever OS's) without RemovePolicy appeared on the client."""
    found, new = _new_quarantines(oracle, client, flows_before)
    applying = [f for f, a in found if not quarantine.removes_policy(f, a)]
    assert applying, (f"No new quarantine collection that applies the policy on {client.client_id}; new collections: "
                      f"{quarantine.describe(new)}; their parameters: "
                      f"{[quarantine.parameters_of(f, a) for f, a in found]}")


@then("Velociraptor shows a new quarantine collection on the client that removes the policy")
def _(oracle, client, flows_before):
    """A collection of a quarantine artifact (whichever OS's) with RemovePolicy set appeared on the client."""
    found, new = _new_quarantines(oracle, client, flows_before)
    lifting = [f for f, a in found if quarantine.removes_policy(f, a)]
    assert lifting, (f"No new quarantine collection with RemovePolicy set on {client.client_id}; new collections: "
                     f"{quarantine.describe(new)}; their parameters: "
                     f"{[quarantine.parameters_of(f, a) for f, a in found]}")


@then(parsers.parse('Velociraptor shows a new quarantine collection on the client with the message "{message}"'))
def _(oracle, client, flows_before, message):
    """A collection of a quarantine artifact appeared on the client passing the message as MessageBox."""
    found, new = _new_quarantines(oracle, client, flows_before)
    with_message = [f for f, a in found if quarantine.parameters_of(f, a).get("MessageBox") == message]
    assert with_message, (f"No new quarantine collection on {client.client_id} with MessageBox {message!r}; new "
                          f"collections: {quarantine.describe(new)}; their parameters: "
                          f"{[quarantine.parameters_of(f, a) for f, a in found]}")


@then("every collection the server under test names is a new quarantine collection on the client in Velociraptor")
def _(reply, oracle, client, flows_before):
    """Each flow id the reply names (F.…; none named passes) is a new quarantine collection on the client in
    Velociraptor."""
    named = sorted({s for s in strings_of(reply) if re.fullmatch(r"F\.[A-Z0-9]+", s)})
    found, new = _new_quarantines(oracle, client, flows_before)
    ours = {f.get("session_id") for f, _ in found}
    assert set(named) <= ours, (
        f"The reply names the collections {named}; Velociraptor's new quarantine collections on {client.client_id}: "
        f"{sorted(ours)} (all new collections: {quarantine.describe(new)}); {said(reply)}")


def strings_of(reply):
    """Every string the reply holds, and its flow id."""
    return strings(reply.data) | strings(reply.rows) | ({reply.flow_id} if reply.flow_id else set())
