"""VQL on the server: queries compared with the oracle's answer to the same query, and VQL help."""
from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from support.rows import diff, said


@given(parsers.re(r'the query "(?P<query>.*?)"(?: with "(?P<name>[^"]*)" set to "(?P<value>.*)")?'),
       target_fixture="vql")
def _(query, name, value):
    return {"query": query, "env": {name: value} if name else None}


@when(parsers.re(r"I run the query(?: keeping at most (?P<n>\d+) rows?)?"), target_fixture="reply")
def _(sut, ledger, vql, n):
    extra = {k: v for k, v in (("env", vql["env"]), ("max_rows", n and int(n))) if v}
    return ledger.calling(sut, "run_vql", query=vql["query"], **extra)


@when(parsers.parse('I run the VQL "{query}"'), target_fixture="reply")
def _(sut, ledger, query):
    return ledger.calling(sut, "run_vql", query=query)


@when(parsers.re(r'I ask for VQL help(?: on "(?P<topic>.*)")?'), target_fixture="reply")
def _(sut, ledger, topic):
    return ledger.calling(sut, "vql_help", **({"topic": topic} if topic else {}))


@then("its rows equal the rows Velociraptor returns for it")
def _(reply, oracle, vql):
    truth = oracle.query(vql["query"], vql["env"])
    assert truth and reply.ok, f"Velociraptor returns {len(truth)} rows; the server under test answered {said(reply)}"
    assert not (d := diff(reply.rows, truth, what=f"query: {vql['query']}  env: {vql['env']}")), d


@then(parsers.re(r"it returns exactly (?P<n>\d+) rows?, the first Velociraptor returns for it"))
def _(reply, oracle, vql, n):
    truth = oracle.query(vql["query"], vql["env"])[: int(n)]
    assert len(reply.rows or []) == int(n), f"Velociraptor's first {n}: {truth}; {said(reply)}"
    assert not (d := diff(reply.rows, truth, what=f"query: {vql['query']}")), d


@then(parsers.parse('the help mentions "{word}"'))
def _(reply, word):
    text = reply.data if isinstance(reply.data, str) else str(reply.data)
    assert reply.ok and word.lower() in text.lower(), f"The help does not mention {word!r}: {said(reply, 300)}"
