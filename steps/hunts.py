"""Hunt words: hunts made in Velociraptor by Givens, hunt calls to the server under test, and
Thens that ask Velociraptor what became of the hunt.

A hunt an analyst names in a feature ("triage-sweep") carries the description
``raptorspec-<run>-triage-sweep-<token>`` (one token per scenario), so a Then finds it in
Velociraptor even when the server under test never reported its id.
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)
"""
from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from support import hunts, waits
from support.rows import VOLATILE, comparable, diff, said

STATE_WAIT = 15.0  # seconds for a hunt mutation to reach hunts() through Velociraptor's journal
STATES = {"paused": "PAUSED", "running": "RUNNING", "stopped": "STOPPED"}


@pytest.fixture
def hunt_named(ledger):
    """The description of the hunt an analyst calls ``word`` in this scenario."""
    return hunts.namer(ledger)


def _modify(sut, ledger, hunt_id, action):
    return sut.call("modify_hunt", hunt_id=hunt_id, action=action)


# -- Givens: hunts made directly in Velociraptor ----------------------------------------


@given(parsers.parse('a {state} hunt "{word}" for "{artifact}" aimed at no client'), target_fixture="hunt")
def _(oracle, ledger, lab, hunt_named, state, word, artifact):
    """Makes a paused, running or stopped hunt limited to a label no client has."""
    assert state in STATES, f"no hunt state {state!r} in the spec's words; known: {', '.join(STATES)}"
    return hunts.make(oracle, ledger, artifact, hunt_named(word), state=STATES[state],
                      labels=[hunt_named("no-client-has-this")], lab=lab)


@given(parsers.parse('a paused hunt "{word}" for "{artifact}" limited to the client'), target_fixture="hunt")
def _(oracle, ledger, lab, hunt_named, client, word, artifact):
    """Makes a paused hunt limited to a label only the scenario's client carries."""
    label = hunts.scope_to(oracle, ledger, client.client_id, hunt_named(f"{word}-scope"))
    return hunts.make(oracle, ledger, artifact, hunt_named(word), labels=[label], lab=lab)


@given(parsers.parse('a hunt "{word}" for "{artifact}" that has finished on the client'), target_fixture="hunt")
def _(oracle, ledger, lab, hunt_named, client, word, artifact):
    """Makes a hunt limited to the scenario's client, starts it and waits until the client finished it."""
    label = hunts.scope_to(oracle, ledger, client.client_id, hunt_named(f"{word}-scope"))
    hunt = hunts.make(oracle, ledger, artifact, hunt_named(word), state="RUNNING", labels=[label], lab=lab)
    hunts.wait_finished_on(oracle, hunt, client.client_id, lab=lab)
    return hunt


@given(parsers.parse('{n:d} {state} hunts "{word}" for "{artifact}" aimed at no client'), target_fixture="hunt_group")
def _(oracle, ledger, lab, hunt_named, n, state, word, artifact):
    """Makes that many paused, running or stopped hunts (``word``-1 … ``word``-n, the last the newest),
    limited to a label no client has."""
    assert state in STATES, f"no hunt state {state!r} in the spec's words; known: {', '.join(STATES)}"
    return hunts.make_many(oracle, ledger, artifact, [hunt_named(f"{word}-{i}") for i in range(1, n + 1)],
                           state=STATES[state], labels=[hunt_named("no-client-has-this")], lab=lab)


@given(parsers.parse('I have listed the hunts and seen the hunt "{word}" as {state}'))
def _(sut, ledger, oracle, hunt_named, word, state):
    """Lists the hunts through the server under test and checks that the hunt is listed in that state."""
    hunt_id = hunts.id_described(oracle, hunt_named(word))
    seen = hunts.listed(sut.call("list_hunts").rows)
    assert seen.get(hunt_id, "").upper() == state, (
        f"Before the change: hunt {hunt_id} listed as {seen.get(hunt_id, '(not listed)')!r}, expected {state}")


@given("someone then starts the hunt in Velociraptor")
def _(oracle, lab, hunt):
    """Starts the scenario's hunt directly in Velociraptor (not through the server) and waits until hunts() shows it RUNNING."""
    oracle.start_hunt(hunt.hunt_id)
    hunts.wait_state(oracle, hunt.hunt_id, "RUNNING", lab=lab, timeout=STATE_WAIT)


# -- Whens: one call each ---------------------------------------------------------------


@when(parsers.parse('I create a paused hunt "{word}" for "{artifact}" limited to clients labelled "{label}"'),
      target_fixture="reply")
def _(sut, ledger, hunt_named, word, artifact, label):
    """Asks for a paused hunt of the artifact, limited to the (namespaced) label."""
    return sut.call("create_hunt", artifacts=[artifact], description=hunt_named(word),
                          include_labels=[ledger.name(label)], paused=True)


@when("I start the hunt", target_fixture="reply")
def _(sut, ledger, hunt):
    """Asks to start the scenario's hunt."""
    return _modify(sut, ledger, hunt.hunt_id, "start")


@when("I stop the hunt", target_fixture="reply")
def _(sut, ledger, hunt):
    """Asks to stop the scenario's hunt."""
    return _modify(sut, ledger, hunt.hunt_id, "stop")


@when("I pause the hunt", target_fixture="reply")
def _(sut, ledger, hunt):
    """Asks to pause the scenario's hunt."""
    return _modify(sut, ledger, hunt.hunt_id, "pause")


@when("I archive the hunt", target_fixture="reply")
def _(sut, ledger, hunt):
    """Asks to archive the scenario's hunt."""
    return _modify(sut, ledger, hunt.hunt_id, "archive")


@when(parsers.parse('I start the hunt "{hunt_id}"'), target_fixture="reply")
def _(sut, ledger, hunt_id):
    """Asks to start a hunt id given in the feature."""
    return _modify(sut, ledger, hunt_id, "start")


@when("I list the hunts", target_fixture="reply")
def _(sut, ledger):
    """Asks for every hunt."""
    return sut.call("list_hunts")


@when(parsers.parse("I list the hunts that are {state:w}"), target_fixture="reply")
def _(sut, ledger, state):
    """Asks for the hunts in one state."""
    return sut.call("list_hunts", state=state)


@when(parsers.parse("I list the hunts that are {state:w}, keeping at most {n:d}"), target_fixture="reply")
def _(sut, ledger, state, n):
    """Asks for the hunts in one state, with a limit."""
    return sut.call("list_hunts", state=state, limit=n)


@when(parsers.parse("I list the hunts, keeping at most {n:d}"), target_fixture="reply")
def _(sut, ledger, n):
    """Asks for every hunt, with a limit."""
    return sut.call("list_hunts", limit=n)


@when(parsers.parse('I ask to "{action}" the hunt'), target_fixture="reply")
def _(sut, ledger, hunt, action):
    """Asks for an action (any word, known to the contract or not) on the scenario's hunt."""
    return _modify(sut, ledger, hunt.hunt_id, action)


@when("I ask for the hunt's results", target_fixture="reply")
def _(sut, ledger, hunt):
    """Asks for the scenario hunt's results, naming no artifact."""
    return sut.call("get_hunt_results", hunt_id=hunt.hunt_id, artifact=None)


@when(parsers.parse('I ask for the hunt\'s results for "{artifact}"'), target_fixture="reply")
def _(sut, ledger, hunt, artifact):
    """Asks for the scenario hunt's results of an artifact or ``Artifact/Source``."""
    return sut.call("get_hunt_results", hunt_id=hunt.hunt_id, artifact=artifact)


@when(parsers.parse('I ask for the results of the hunt "{hunt_id}"'), target_fixture="reply")
def _(sut, ledger, hunt_id):
    """Asks for the results of a hunt id given in the feature."""
    return sut.call("get_hunt_results", hunt_id=hunt_id)


# -- Thens: what Velociraptor shows ------------------------------------------------------


@then(parsers.parse('Velociraptor shows the hunt "{word}" as {state}'))
def _(oracle, lab, hunt_named, word, state):
    """Within 15 s, hunts() shows the one hunt with that description in that state (e.g. RUNNING)."""
    hunt_id = hunts.id_described(oracle, hunt_named(word))
    hunts.wait_state(oracle, hunt_id, state, lab=lab, timeout=STATE_WAIT)


@then(parsers.parse('Velociraptor shows the hunt "{word}" no longer running'))
def _(oracle, lab, hunt_named, word):
    """Within 15 s, hunts() shows the hunt in a state other than RUNNING."""
    hunt_id = hunts.id_described(oracle, hunt_named(word))
    waits.wait_hunt(oracle, hunt_id, lambda r: hunts.state(r) != "RUNNING", "a state other than RUNNING",
                    STATE_WAIT, lab=lab)


@then(parsers.parse('Velociraptor shows the hunt "{word}" still {state}'))
def _(oracle, lab, hunt_named, word, state):
    """hunts() shows the hunt in that state throughout the next few seconds (a mutation reaches it within one)."""
    hunt_id = hunts.id_described(oracle, hunt_named(word))
    assert not (changed := hunts.stays(oracle, hunt_id, state, lab=lab)), changed


@then(parsers.parse("the server under test lists exactly {n:d} hunts, each one Velociraptor holds"))
def _(oracle, reply, n):
    """The reply lists exactly that many hunts, each a hunt hunts() shows."""
    listed = hunts.listed(reply.rows)
    known = set(hunts.states(oracle.hunts()))
    assert len(listed) == n and set(listed) <= known, (
        f"The server under test lists {len(listed)} hunt(s) (expected {n}); unknown to Velociraptor: "
        f"{sorted(set(listed) - known)}; {said(reply)}")


@then(parsers.parse('Velociraptor shows the hunt "{word}" collecting "{artifact}"'))
def _(oracle, hunt_named, word, artifact):
    """hunts() shows the hunt collecting exactly that artifact."""
    row = hunts.the_one_described(oracle, hunt_named(word))
    assert hunts.artifacts(row) == [artifact], f"Velociraptor shows the hunt collecting {hunts.artifacts(row)}"


@then(parsers.parse('Velociraptor shows the hunt "{word}" limited to clients labelled "{label}"'))
def _(oracle, ledger, hunt_named, word, label):
    """hunts() shows the hunt limited to exactly the (namespaced) label."""
    row = hunts.the_one_described(oracle, hunt_named(word))
    got = [x.lower() for x in hunts.include_labels(row)]
    assert got == [ledger.name(label).lower()], f"Velociraptor shows the hunt limited to labels {got}"


@then(parsers.parse('the hunt id the server under test reports is the hunt "{word}" in Velociraptor'))
def _(oracle, reply, hunt_named, word):
    """The reply's hunt id is the id of the hunt Velociraptor holds with that description."""
    hunt_id = hunts.id_described(oracle, hunt_named(word))
    assert reply.hunt_id == hunt_id, (
        f"Velociraptor made hunt {hunt_id}; the server under test reported {reply.hunt_id!r}: {said(reply)}")


@then(parsers.parse('Velociraptor shows no hunt "{word}"'))
def _(oracle, hunt_named, word):
    """hunts() holds no hunt with that description."""
    rows = hunts.described(oracle, hunt_named(word))
    assert not rows, f"Velociraptor shows hunt(s) {hunts.ids(rows)} described {hunt_named(word)!r}"


@then(parsers.parse('Velociraptor still has the hunt "{word}"'))
def _(oracle, hunt_named, word):
    """hunts() still holds the one hunt with that description."""
    hunts.the_one_described(oracle, hunt_named(word))


@then(parsers.parse('Velociraptor knows no hunt "{hunt_id}"'))
def _(oracle, hunt_id):
    """hunts() holds no hunt with that id."""
    row = oracle.hunt(hunt_id)
    assert row is None, f"Velociraptor has a hunt {hunt_id}: {hunts.description(row)!r}"


@then("Velociraptor shows the hunt's collection on the client")
def _(oracle, lab, hunt, client):
    """Within 30 s, the hunt's flow (F.<id>.H) exists on the scenario's client."""
    flow_id = hunt.client_flow_id
    waits.wait_for(lambda: (oracle.flow(client.client_id, flow_id) is not None, "no such flow yet"),
                   f"the hunt's flow {flow_id} on {client.client_id}", 30, 0.5, alive=lab.alive, logs=lab.logs,
                   hint="a started hunt is offered to connected clients at once; is the hunt RUNNING?")


@then(parsers.parse('the server under test reports success only if Velociraptor shows the hunt "{word}" as ARCHIVED'))
def _(oracle, reply, hunt_named, word):
    """Either the reply is an error, or hunts() shows the hunt ARCHIVED."""
    state = hunts.state(hunts.the_one_described(oracle, hunt_named(word)))
    assert not reply.ok or state == "ARCHIVED", (
        f"The server under test claimed success, but Velociraptor shows the hunt {state}: {said(reply)}")


@then(parsers.parse('the server under test lists the hunt "{word}" as {state}'))
def _(oracle, reply, hunt_named, word, state):
    """The reply lists the hunt with that description, in that state."""
    hunt_id = hunts.id_described(oracle, hunt_named(word))
    seen = hunts.listed(reply.rows)
    assert seen.get(hunt_id, "").upper() == state, (
        f"hunt {hunt_id}: the server under test lists it as {seen.get(hunt_id, '(not listed)')!r}, expected "
        f"{state}; listed: {seen or said(reply)}")


@then(parsers.parse('the server under test does not list the hunt "{word}"'))
def _(oracle, reply, hunt_named, word):
    """The reply does not list the hunt with that description."""
    hunt_id = hunts.id_described(oracle, hunt_named(word))
    assert hunt_id not in hunts.listed(reply.rows), f"Hunt {hunt_id} is listed: {hunts.listed(reply.rows)}"


@then("every hunt the server under test lists has the state Velociraptor shows")
def _(oracle, reply):
    """Each listed hunt's state is the one hunts() shows for it."""
    truth = hunts.states(oracle.hunts())
    wrong = [f"hunt {h}: the server says state {s!r}, Velociraptor says {truth.get(h, '(no such hunt)')!r}"
             for h, s in hunts.listed(reply.rows).items() if s.upper() != truth.get(h)]
    assert not wrong, "\n".join(wrong[:8])


@then(parsers.parse("every hunt the server under test lists is {state} in Velociraptor"))
def _(oracle, reply, state):
    """hunts() shows every listed hunt in that state."""
    truth = hunts.states(oracle.hunts())
    wrong = {h: truth.get(h, "no such hunt") for h in hunts.listed(reply.rows) if truth.get(h) != state}
    assert not wrong, f"Listed, but not {state} in Velociraptor: {wrong}"


@then("the rows the server under test returns equal Velociraptor's results of the hunt")
def _(oracle, reply, ledger, hunt):
    """Velociraptor holds results of the hunt for what the scenario asked (every source of it), and the
    reply's rows equal those of the matching source."""
    by_source = hunts.results_by_source(oracle, hunt, ledger.sent("get_hunt_results").get("artifact"))
    assert not (empty := hunts.no_results(hunt, by_source)), empty
    source, truth = hunts.truth_for(reply.rows, by_source)
    problem = diff(reply.rows, truth, hunts.result_columns(truth, VOLATILE),
                   what=f"hunt_results(hunt_id={hunt.hunt_id}, artifact={source})")
    assert not problem, problem


# -- every argument of create_hunt and get_hunt_results (issue 10 §1) ---------------------
# Each When sends one argument with a value other than the contract's default, and its Then
# reads that argument's effect from Velociraptor's hunts() row (support/hunts.py).

EXPIRY_SLACK_H = 5 / 60  # hours: an expiry is checked to within 5 minutes of the asked lifetime


def _create(sut, ledger, hunt_named, word, artifacts, label, **extra):
    """create_hunt of ``artifacts`` described as ``word``, limited to the (namespaced) label;
    paused unless ``extra`` says otherwise."""
    extra.setdefault("paused", True)
    if label:
        extra["include_labels"] = [ledger.name(label)]
    return sut.call("create_hunt", artifacts=list(artifacts), description=hunt_named(word), **extra)


@when(parsers.parse('I create a paused hunt "{word}" for "{first}" and "{second}", '
                    'limited to clients labelled "{label}"'), target_fixture="reply")
def _(sut, ledger, hunt_named, word, first, second, label):
    """Asks for one paused hunt of two artifacts, limited to the label."""
    return _create(sut, ledger, hunt_named, word, [first, second], label)


@when(parsers.parse('I create a running hunt "{word}" for "{artifact}", '
                    'limited to clients labelled "{label}"'), target_fixture="reply")
def _(sut, ledger, hunt_named, word, artifact, label):
    """Asks for a hunt that is not paused (paused=false), limited to the label."""
    return _create(sut, ledger, hunt_named, word, [artifact], label, paused=False)


@when(parsers.parse('I create a paused hunt "{word}" for "{artifact}" with "{param}" set to '
                    '"{value}", limited to clients labelled "{label}"'), target_fixture="reply")
def _(sut, ledger, hunt_named, word, artifact, param, value, label):
    """Asks for a paused hunt passing one parameter ({param: value}, the contract's flat form)."""
    return _create(sut, ledger, hunt_named, word, [artifact], label, parameters={param: value})


@when(parsers.parse('I create a paused hunt "{word}" for "{artifact}", limited to clients labelled '
                    '"{label}" except those labelled "{excluded}"'), target_fixture="reply")
def _(sut, ledger, hunt_named, word, artifact, label, excluded):
    """Asks for a paused hunt limited to one label and leaving out another (both namespaced)."""
    return _create(sut, ledger, hunt_named, word, [artifact], label, exclude_labels=[ledger.name(excluded)])


@when(parsers.parse('I create a paused hunt "{word}" for "{artifact}", limited to '
                    '{os} clients'), target_fixture="reply")
def _(sut, ledger, hunt_named, word, artifact, os):
    """Asks for a paused hunt limited to one operating system (os_filter), no label."""
    return _create(sut, ledger, hunt_named, word, [artifact], None, os_filter=os)


@when(parsers.parse('I create a paused hunt "{word}" for "{artifact}" allowing each client '
                    '{seconds:d} seconds, limited to clients labelled "{label}"'), target_fixture="reply")
def _(sut, ledger, hunt_named, word, artifact, seconds, label):
    """Asks for a paused hunt with a time limit per client (timeout, seconds)."""
    return _create(sut, ledger, hunt_named, word, [artifact], label, timeout=int(seconds))


@when(parsers.parse('I create a paused hunt "{word}" for "{artifact}" expiring in {hours:d} '
                    'hours, limited to clients labelled "{label}"'), target_fixture="reply")
def _(sut, ledger, hunt_named, word, artifact, hours, label):
    """Asks for a paused hunt that expires after that many hours (expires_hours)."""
    return _create(sut, ledger, hunt_named, word, [artifact], label, expires_hours=int(hours))


@then(parsers.parse('Velociraptor shows the hunt "{word}" collecting both "{first}" and "{second}"'))
def _(oracle, hunt_named, word, first, second):
    """hunts() shows the hunt collecting exactly those two artifacts (in any order)."""
    row = hunts.the_one_described(oracle, hunt_named(word))
    assert sorted(hunts.artifacts(row)) == sorted([first, second]), (
        f"Velociraptor shows the hunt collecting {hunts.artifacts(row)}; the scenario asked for {[first, second]}")


@then(parsers.parse('Velociraptor shows the hunt "{word}" passing "{param}" set to "{value}" '
                    'to "{artifact}"'))
def _(oracle, hunt_named, word, param, value, artifact):
    """The hunt's request (hunts() start_request.specs) passes that value of the parameter to the artifact."""
    row = hunts.full(oracle, hunts.id_described(oracle, hunt_named(word)))
    got = hunts.parameters(row, artifact)
    assert got.get(param) == value, (
        f"Velociraptor shows hunt {row.get('hunt_id')} passing {got or 'no parameters'} to {artifact}; "
        f"the scenario sent {param}={value!r}; its start_request: {str(row.get('start_request'))[:1500]}")


@then(parsers.parse('Velociraptor shows the hunt "{word}" leaving out clients labelled "{label}"'))
def _(oracle, ledger, hunt_named, word, label):
    """hunts() shows the hunt leaving out exactly the (namespaced) label (condition.excluded_labels)."""
    row = hunts.the_one_described(oracle, hunt_named(word))
    got = [x.lower() for x in hunts.excluded_labels(row)]
    assert got == [ledger.name(label).lower()], (
        f"Velociraptor shows hunt {row.get('hunt_id')} leaving out labels {got}, expected {[ledger.name(label)]}; "
        f"its condition: {row.get('condition')}")


@then(parsers.parse('Velociraptor shows the hunt "{word}" limited to {os} clients'))
def _(oracle, hunt_named, word, os):
    """hunts() shows the hunt limited to that operating system (condition.os.os)."""
    row = hunts.the_one_described(oracle, hunt_named(word))
    assert os in hunts.OS_CONDITION, f"no OS {os!r} in the spec's words; known: {', '.join(hunts.OS_CONDITION)}"
    want = hunts.OS_CONDITION[os]
    assert hunts.os_condition(row).upper() == want, (
        f"Velociraptor shows hunt {row.get('hunt_id')} limited to OS {hunts.os_condition(row) or '(none: every client)'!r}, "
        f"expected {want}; its condition: {row.get('condition')}")


@then(parsers.parse('Velociraptor shows the hunt "{word}" allowing each client {seconds:d} seconds'))
def _(oracle, hunt_named, word, seconds):
    """hunts() shows the hunt's time limit per client (start_request.timeout, seconds)."""
    row = hunts.full(oracle, hunts.id_described(oracle, hunt_named(word)))
    assert hunts.timeout(row) == int(seconds), (
        f"Velociraptor shows hunt {row.get('hunt_id')} allowing each client {hunts.timeout(row)!r} s; "
        f"the scenario asked for {seconds}; its start_request: {str(row.get('start_request'))[:1500]}")


@then(parsers.parse('Velociraptor shows the hunt "{word}" expiring {hours:d} hours after it was created'))
def _(oracle, hunt_named, word, hours):
    """hunts() shows expires - create_time within 5 minutes of that many hours."""
    row = hunts.the_one_described(oracle, hunt_named(word))
    got = hunts.lifetime_hours(row)
    assert got is not None and abs(got - int(hours)) <= EXPIRY_SLACK_H, (
        f"Velociraptor shows hunt {row.get('hunt_id')} expiring "
        f"{'at no time' if got is None else f'{got:.3f} hours'} after its creation (create_time "
        f"{row.get('create_time')!r}, expires {row.get('expires')!r}); expected {hours} hours")


@given(parsers.parse('a hunt "{word}" for both "{first}" and "{second}" that has finished on the '
                     'client'), target_fixture="hunt")
def _(oracle, ledger, lab, hunt_named, client, word, first, second):
    """Makes one hunt of two artifacts limited to the scenario's client, starts it and waits until the
    client finished it with rows in each artifact."""
    label = hunts.scope_to(oracle, ledger, client.client_id, hunt_named(f"{word}-scope"))
    hunt = hunts.make(oracle, ledger, [first, second], hunt_named(word), state="RUNNING", labels=[label], lab=lab)
    hunts.wait_finished_on(oracle, hunt, client.client_id, lab=lab)
    for artifact in (first, second):
        by_source = hunts.results_by_source(oracle, hunt, artifact)
        assert hunts.row_count(by_source), (
            f"hunt {hunt.hunt_id} finished with no rows of {artifact} in Velociraptor: nothing to tell its rows apart")
    return hunt


@given(parsers.parse('a hunt "{word}" for "{artifact}" that has finished on the client with more '
                     'than {n:d} rows'), target_fixture="hunt")
def _(oracle, ledger, lab, hunt_named, client, word, artifact, n):
    """Like 'that has finished on the client', and Velociraptor holds more than ``n`` rows of it."""
    label = hunts.scope_to(oracle, ledger, client.client_id, hunt_named(f"{word}-scope"))
    hunt = hunts.make(oracle, ledger, artifact, hunt_named(word), state="RUNNING", labels=[label], lab=lab)
    count = hunts.row_count(hunts.wait_finished_on(oracle, hunt, client.client_id, lab=lab))
    assert count > int(n), f"hunt {hunt.hunt_id} of {artifact} finished with {count} rows, not more than {n}"
    return hunt


@when(parsers.parse("I ask for the hunt's results, keeping at most {n:d} rows"), target_fixture="reply")
def _(sut, ledger, hunt, n):
    """Asks for the scenario hunt's results with a limit (rows)."""
    return sut.call("get_hunt_results", hunt_id=hunt.hunt_id, limit=int(n))


@then(parsers.parse("the server under test returns exactly {n:d} rows, each one of Velociraptor's results of the "
                 "hunt"))
def _(oracle, reply, hunt, n):
    """The reply holds exactly ``n`` rows, each equal (on Velociraptor's non-volatile columns) to a row
    Velociraptor holds for the hunt."""
    source, truth = hunts.truth_for(reply.rows, hunts.results_by_source(oracle, hunt))
    columns = hunts.result_columns(truth, VOLATILE)
    known = set(comparable(truth, columns))
    theirs = comparable(reply.rows, columns)
    strangers = [r for r in theirs if r not in known]
    assert len(reply.rows or []) == int(n) and not strangers, (
        f"hunt {hunt.hunt_id} ({source}, {len(truth)} rows in Velociraptor): the server under test returns "
        f"{len(reply.rows or [])} rows (expected {n}); {len(strangers)} of them are not Velociraptor's: "
        f"{strangers[:2]}; {said(reply)}")


@then("the server under test lists a single hunt, one Velociraptor holds")
def _(oracle, reply):
    """The reply lists exactly one hunt, a hunt hunts() shows."""
    listed = hunts.listed(reply.rows)
    known = set(hunts.states(oracle.hunts()))
    assert len(listed) == 1 and set(listed) <= known, (
        f"The server under test lists {len(listed)} hunt(s) (expected one); unknown to Velociraptor: "
        f"{sorted(set(listed) - known)}; {said(reply)}")


@when(parsers.parse('I create a paused hunt "{word}" for "{artifact}" allowing each client a single second, '
                    'limited to clients labelled "{label}"'), target_fixture="reply")
def _(sut, ledger, hunt_named, word, artifact, label):
    """Asks for a paused hunt with the smallest time limit per client the contract allows (timeout=1 s)."""
    return _create(sut, ledger, hunt_named, word, [artifact], label, timeout=1)


@then(parsers.parse('Velociraptor shows the hunt "{word}" allowing each client a single second'))
def _(oracle, hunt_named, word):
    """hunts() shows the hunt's time limit per client (start_request.timeout) as 1 second."""
    row = hunts.full(oracle, hunts.id_described(oracle, hunt_named(word)))
    assert hunts.timeout(row) == 1, (
        f"Velociraptor shows hunt {row.get('hunt_id')} allowing each client {hunts.timeout(row)!r} s; "
        f"the scenario asked for 1; its start_request: {str(row.get('start_request'))[:1500]}")
