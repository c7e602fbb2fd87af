"""Prompt words: asking the server under test for a prompt, and Thens about its text.
Prompt names and required arguments: support/prompts.py.
"""
from __future__ import annotations

from pytest_bdd import parsers, then, when

from support import prompts
from support.rows import said

_NAMES = "|".join(prompts.NAMES)


@when(parsers.re(rf"I ask for the (?P<words>{_NAMES}) prompt for the client"), target_fixture="reply")
def _(sut, client, words):
    return sut.get_prompt(prompts.canonical(words), client_id=client.client_id)


@when(parsers.re(rf"I ask for the (?P<words>{_NAMES}) prompt with"), target_fixture="reply")
def _(sut, request, words, datatable):
    rows = [r for r in datatable if [c.strip().lower() for c in r] != ["argument", "value"]]
    args = {r[0].strip(): r[1].strip() for r in rows}
    if "the client" in args.values():
        client_id = request.getfixturevalue("client").client_id
        args = {k: client_id if v == "the client" else v for k, v in args.items()}
    return sut.get_prompt(prompts.canonical(words), **args)


@when(parsers.re(rf"I ask for the (?P<words>{_NAMES}) prompt without its (?P<argument>\w+)"), target_fixture="reply")
def _(sut, words, argument):
    name = prompts.canonical(words)
    return sut.get_prompt(name, **prompts.without(name, argument))


@then("the prompt's text names the client")
def _(reply, client):
    assert reply.ok and client.client_id in str(reply.data), f"The prompt does not name {client.client_id}: {said(reply)}"


@then(parsers.parse('the prompt\'s text carries "{value}"'))
def _(reply, value):
    assert reply.ok and value in str(reply.data), f"The prompt does not carry {value!r}: {said(reply)}"


@then("every artifact the prompt recommends exists in Velociraptor")
def _(oracle, reply):
    assert reply.ok, f"The prompt did not render: {said(reply)}"
    known = prompts.artifact_names(oracle)
    named = prompts.recommended_artifacts(str(reply.data), {n.split(".")[0] for n in known})
    missing = [a for a in named if a not in known]
    assert not missing, (f"The prompt recommends {len(named)} artifact(s); Velociraptor ({len(known)} "
                         f"artifacts) has none called: {', '.join(missing)}")
