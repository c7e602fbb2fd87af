"""Hunt words: hunts made in Velociraptor by Givens, hunt calls to the server under test, and
Thens that ask Velociraptor what became of the hunt.

A hunt an analyst names in a feature ("triage-sweep") carries the description
``raptorspec-<run>-triage-sweep-<token>`` (one token per scenario), so a Then finds it in
Velociraptor even when the server under test never reported its id.
"""
from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from support import hunts, waits
from support.rows import VOLATILE, diff, said

STATE_WAIT = 15.0  # seconds for a hunt mutation to reach hunts() through Velociraptor's journal


@pytest.fixture
def hunt_named(ledger):
    """The description of the hunt an analyst calls ``word`` in this scenario."""
    return hunts.namer(ledger)


# -- Givens: hunts made directly in Velociraptor ----------------------------------------


@given(parsers.re(r'a (?P<state>paused|running|stopped) hunt "(?P<word>[^"]+)" for "(?P<artifact>[^"]+)" '
                  r'aimed at no client'), target_fixture="hunt")
def _(oracle, ledger, lab, hunt_named, state, word, artifact):
    return hunts.make(oracle, ledger, artifact, hunt_named(word), state=state.upper(),
                      labels=[hunt_named("no-client-has-this")], lab=lab)


@given(parsers.parse('a paused hunt "{word}" for "{artifact}" limited to the client'), target_fixture="hunt")
def _(oracle, ledger, lab, hunt_named, client, word, artifact):
    label = hunts.scope_to(oracle, ledger, client.client_id, hunt_named(f"{word}-scope"))
    return hunts.make(oracle, ledger, artifact, hunt_named(word), labels=[label], lab=lab)


@given(parsers.parse('a hunt "{word}" for "{artifact}" that has finished on the client'), target_fixture="hunt")
def _(oracle, ledger, lab, hunt_named, client, word, artifact):
    label = hunts.scope_to(oracle, ledger, client.client_id, hunt_named(f"{word}-scope"))
    hunt = hunts.make(oracle, ledger, artifact, hunt_named(word), state="RUNNING", labels=[label], lab=lab)
    hunts.wait_finished_on(oracle, hunt, client.client_id, lab=lab)
    return hunt


# -- Whens: one call each ---------------------------------------------------------------


@when(parsers.parse('I create a paused hunt "{word}" for "{artifact}" limited to clients labelled "{label}"'),
      target_fixture="reply")
def _(sut, ledger, hunt_named, word, artifact, label):
    return ledger.calling(sut, "create_hunt", artifacts=[artifact], description=hunt_named(word),
                          include_labels=[ledger.name(label)], paused=True)


@when(parsers.re(r"I (?P<action>start|stop|pause|archive) the hunt"), target_fixture="reply")
def _(sut, ledger, hunt, action):
    return ledger.calling(sut, "modify_hunt", hunt_id=hunt.hunt_id, action=action)


@when(parsers.re(r'I (?P<action>start|stop|pause|archive) the hunt "(?P<hunt_id>[^"]+)"'), target_fixture="reply")
def _(sut, ledger, action, hunt_id):
    return ledger.calling(sut, "modify_hunt", hunt_id=hunt_id, action=action)


@when("I list the hunts", target_fixture="reply")
def _(sut, ledger):
    return ledger.calling(sut, "list_hunts")


@when(parsers.parse("I list the hunts that are {state}"), target_fixture="reply")
def _(sut, ledger, state):
    return ledger.calling(sut, "list_hunts", state=state)


@when(parsers.re(r'I ask for the hunt\'s results(?: for "(?P<artifact>[^"]+)")?'), target_fixture="reply")
def _(sut, ledger, hunt, artifact):
    return ledger.calling(sut, "get_hunt_results", hunt_id=hunt.hunt_id, artifact=artifact)


@when(parsers.parse('I ask for the results of the hunt "{hunt_id}"'), target_fixture="reply")
def _(sut, ledger, hunt_id):
    return ledger.calling(sut, "get_hunt_results", hunt_id=hunt_id)


# -- Thens: what Velociraptor shows ------------------------------------------------------


@then(parsers.re(r'Velociraptor shows the hunt "(?P<word>[^"]+)" as (?P<state>[A-Z]+)'))
def _(oracle, lab, hunt_named, word, state):
    row = hunts.the_one_described(oracle, hunt_named(word))
    hunts.wait_state(oracle, row["hunt_id"], state, lab=lab, timeout=STATE_WAIT)


@then(parsers.parse('Velociraptor shows the hunt "{word}" no longer running'))
def _(oracle, lab, hunt_named, word):
    row = hunts.the_one_described(oracle, hunt_named(word))
    waits.wait_hunt(oracle, row["hunt_id"], lambda r: r.get("state") != "RUNNING", "a state other than RUNNING",
                    STATE_WAIT, lab=lab)


@then(parsers.parse('Velociraptor shows the hunt "{word}" collecting "{artifact}"'))
def _(oracle, hunt_named, word, artifact):
    row = hunts.the_one_described(oracle, hunt_named(word))
    assert row.get("artifacts") == [artifact], f"Velociraptor shows the hunt collecting {row.get('artifacts')}"


@then(parsers.parse('Velociraptor shows the hunt "{word}" limited to clients labelled "{label}"'))
def _(oracle, ledger, hunt_named, word, label):
    row = hunts.the_one_described(oracle, hunt_named(word))
    got = [x.lower() for x in hunts.include_labels(row)]
    assert got == [ledger.name(label).lower()], f"Velociraptor shows the hunt limited to labels {got}"


@then(parsers.parse('the hunt id the server under test reports is the hunt "{word}" in Velociraptor'))
def _(oracle, reply, hunt_named, word):
    row = hunts.the_one_described(oracle, hunt_named(word))
    assert reply.hunt_id == row["hunt_id"], (
        f"Velociraptor made hunt {row['hunt_id']}; the server under test reported {reply.hunt_id!r}: {said(reply)}")


@then(parsers.parse('Velociraptor shows no hunt "{word}"'))
def _(oracle, hunt_named, word):
    rows = hunts.described(oracle, hunt_named(word))
    assert not rows, f"Velociraptor shows hunt(s) {[h['hunt_id'] for h in rows]} described {hunt_named(word)!r}"


@then(parsers.parse('Velociraptor still has the hunt "{word}"'))
def _(oracle, hunt_named, word):
    hunts.the_one_described(oracle, hunt_named(word))


@then(parsers.parse('Velociraptor knows no hunt "{hunt_id}"'))
def _(oracle, hunt_id):
    row = oracle.hunt(hunt_id)
    assert row is None, f"Velociraptor has a hunt {hunt_id}: {row.get('hunt_description')!r}"


@then("Velociraptor shows the hunt's collection on the client")
def _(oracle, lab, hunt, client):
    flow_id = hunt.client_flow_id
    waits.wait_for(lambda: (oracle.flow(client.client_id, flow_id) is not None, "no such flow yet"),
                   f"the hunt's flow {flow_id} on {client.client_id}", 30, 0.5, alive=lab.alive, logs=lab.logs,
                   hint="a started hunt is offered to connected clients at once; is the hunt RUNNING?")


@then(parsers.parse('the server under test reports success only if Velociraptor shows the hunt "{word}" as ARCHIVED'))
def _(oracle, reply, hunt_named, word):
    state = hunts.the_one_described(oracle, hunt_named(word)).get("state")
    assert not reply.ok or state == "ARCHIVED", (
        f"The server under test claimed success, but Velociraptor shows the hunt {state}: {said(reply)}")


@then(parsers.parse('the server under test lists the hunt "{word}" as {state}'))
def _(oracle, reply, hunt_named, word, state):
    hunt_id = hunts.the_one_described(oracle, hunt_named(word))["hunt_id"]
    seen = hunts.listed(reply.rows)
    assert seen.get(hunt_id, "").upper() == state, (
        f"Expected hunt {hunt_id} listed as {state}; listed: {seen or said(reply)}")


@then(parsers.parse('the server under test does not list the hunt "{word}"'))
def _(oracle, reply, hunt_named, word):
    hunt_id = hunts.the_one_described(oracle, hunt_named(word))["hunt_id"]
    assert hunt_id not in hunts.listed(reply.rows), f"Hunt {hunt_id} is listed: {hunts.listed(reply.rows)}"


@then("every hunt the server under test lists has the state Velociraptor shows")
def _(oracle, reply):
    truth = {h["hunt_id"]: h.get("state") for h in oracle.hunts()}
    wrong = {h: (s, truth.get(h, "no such hunt")) for h, s in hunts.listed(reply.rows).items() if s.upper() != truth.get(h)}
    assert not wrong, f"Listed state vs Velociraptor's: {wrong}"


@then(parsers.parse("every hunt the server under test lists is {state} in Velociraptor"))
def _(oracle, reply, state):
    truth = {h["hunt_id"]: h.get("state") for h in oracle.hunts()}
    wrong = {h: truth.get(h, "no such hunt") for h in hunts.listed(reply.rows) if truth.get(h) != state}
    assert not wrong, f"Listed, but not {state} in Velociraptor: {wrong}"


@then("the rows the server under test returns equal Velociraptor's results of the hunt")
def _(oracle, reply, hunt):
    artifact = hunt.artifacts[0]
    truth = hunts.results(oracle, hunt.hunt_id, artifact)
    assert truth, f"Velociraptor holds no results of hunt {hunt.hunt_id} for {artifact}: nothing to compare"
    problem = diff(reply.rows, truth, hunts.result_columns(truth, VOLATILE),
                   what=f"hunt_results(hunt_id={hunt.hunt_id}, artifact={artifact})")
    assert not problem, problem
