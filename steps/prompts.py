"""Prompt words: asking the server under test for a prompt, and Thens about its text.
Prompt names and required arguments: support/prompts.py (the contract's: support/contract.py).
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)
"""
from __future__ import annotations

from pytest_bdd import parsers, then, when

from support import prompts
from support.rows import said


@when(parsers.parse("I ask for the {words} prompt for the client"), target_fixture="reply")
def _(sut, client, words):
    """Asks for the prompt (by the analyst's words, e.g. "threat hunt") with the scenario client's id."""
    return sut.get_prompt(prompts.canonical(words), client_id=client.client_id)


@when(parsers.parse("I ask for the {words} prompt with"), target_fixture="reply")
def _(sut, request, words, datatable):
    """Asks for the prompt with the arguments of the table (| argument | value |; "the client" is its id)."""
    args = prompts.table_arguments(datatable)
    if "the client" in args.values():
        client_id = request.getfixturevalue("client").client_id
        args = {k: client_id if v == "the client" else v for k, v in args.items()}
    return sut.get_prompt(prompts.canonical(words), **args)


@when(parsers.parse("I ask for the {words} prompt without its {argument}"), target_fixture="reply")
def _(sut, words, argument):
    """Asks for the prompt with every required argument but the one named (filled with sample values)."""
    name = prompts.canonical(words)
    return sut.get_prompt(name, **prompts.without(name, argument))


@then("the prompt's text names the client")
def _(reply, client):
    """The prompt rendered and its text names the scenario client's id."""
    assert reply.ok and client.client_id in str(reply.data), f"The prompt does not name {client.client_id}: {said(reply)}"


@then(parsers.parse('the prompt\'s text carries "{value}"'))
def _(reply, value):
    """The prompt rendered and its text carries the value."""
    assert reply.ok and value in str(reply.data), f"The prompt does not carry {value!r}: {said(reply)}"


@then("every artifact the prompt recommends exists in Velociraptor")
def _(oracle, reply):
    """The prompt rendered, and every artifact name in its text is one Velociraptor has."""
    assert reply.ok, f"The prompt did not render: {said(reply)}"
    known = prompts.artifact_names(oracle)
    named = prompts.recommended_artifacts(str(reply.data), {n.split(".")[0] for n in known})
    missing = [a for a in named if a not in known]
    assert not missing, (f"The prompt recommends {len(named)} artifact(s); Velociraptor ({len(known)} "
                         f"artifacts) has none called: {', '.join(missing)}")


@then(parsers.parse("every client artifact the prompt recommends is one Velociraptor runs on {os_name}"))
def _(oracle, reply, os_name):
    """The prompt rendered, names at least one client artifact, and each one (server artifacts
    such as the collector builder aside) is meant for that OS in Velociraptor: its preconditions
    test for it, or it is a Generic one or of that OS's own category (``Oracle.meant_for``)."""
    assert reply.ok, f"The prompt did not render: {said(reply)}"
    known = prompts.artifact_names(oracle)
    named = prompts.recommended_artifacts(str(reply.data), {n.split(".")[0] for n in known})
    platforms = oracle.artifact_platforms(named)
    clients = {n: p for n, p in platforms.items() if p["type"] == "client"}
    wrong = [f"{n} (preconditions test {sorted(p['oses']) or 'no OS'})" for n, p in clients.items()
             if not oracle.meant_for(n, p, os_name)]
    assert clients and not wrong, (f"The prompt for {os_name} recommends {len(clients)} client artifact(s); "
                                   f"Velociraptor does not run these on {os_name}: {', '.join(wrong) or '-'}")
