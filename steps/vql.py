"""VQL on the server: queries compared with the oracle's answer to the same query, and VQL help.
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)"""
from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from support.rows import diff, said


@given(parsers.parse('the query "{query}"'), target_fixture="vql")
def _(query):
    """The VQL the scenario is about (its variables, if any, follow)."""
    return {"query": query, "env": None}


@given(parsers.parse('the query\'s variable "{name}" is "{value}"'))
def _(vql, name, value):
    """A variable passed with the query (its env)."""
    vql["env"] = {**(vql["env"] or {}), name: value}


@when("I run the query", target_fixture="reply")
def _(sut, ledger, vql):
    """Asks the server to run the scenario's query (with its variables)."""
    extra = {"env": vql["env"]} if vql["env"] else {}
    return ledger.calling(sut, "run_vql", query=vql["query"], **extra)


@when(parsers.parse("I run the query, keeping at most {n:d} of its rows"), target_fixture="reply")
def _(sut, ledger, vql, n):
    """Asks the server to run the scenario's query with a row limit."""
    extra = {"env": vql["env"]} if vql["env"] else {}
    return ledger.calling(sut, "run_vql", query=vql["query"], max_rows=n, **extra)


@when(parsers.parse('I run the VQL "{query}"'), target_fixture="reply")
def _(sut, ledger, query):
    """Asks the server to run the VQL written in the step."""
    return ledger.calling(sut, "run_vql", query=query)


@when("I ask for VQL help", target_fixture="reply")
def _(sut, ledger):
    """Asks for VQL help on no topic."""
    return ledger.calling(sut, "vql_help")


@when(parsers.parse('I ask for VQL help on "{topic}"'), target_fixture="reply")
def _(sut, ledger, topic):
    """Asks for VQL help on a topic (syntax, plugins, functions, examples)."""
    return ledger.calling(sut, "vql_help", topic=topic)


@then("its rows equal the rows Velociraptor returns for it")
def _(reply, oracle, vql):
    """Velociraptor returns rows for the query, and the reply's rows equal them on every column Velociraptor gives."""
    truth = oracle.query(vql["query"], vql["env"])
    assert truth and reply.ok, f"Velociraptor returns {len(truth)} rows; the server under test answered {said(reply)}"
    assert not (d := diff(reply.rows, truth, what=f"query: {vql['query']}  env: {vql['env']}")), d


@then(parsers.parse("it returns exactly the first {n:d} of the rows Velociraptor returns for it"))
def _(reply, oracle, vql, n):
    """The reply has exactly that many rows, equal to Velociraptor's first ones for the query."""
    truth = oracle.query(vql["query"], vql["env"])[:n]
    assert len(reply.rows or []) == n, (
        f"The server under test returns {len(reply.rows or [])} row(s), expected {n}; Velociraptor's first {n}: "
        f"{truth}; {said(reply)}")
    assert not (d := diff(reply.rows, truth, what=f"query: {vql['query']}")), d


@then(parsers.parse('the help mentions "{word}"'))
def _(reply, word):
    """The help text mentions the word (case-insensitive)."""
    text = reply.data if isinstance(reply.data, str) else str(reply.data)
    assert reply.ok and word.lower() in text.lower(), f"The help does not mention {word!r}: {said(reply, 300)}"
