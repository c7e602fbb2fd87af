"""VQL on the server: queries compared with the oracle's answer to the same query, and VQL help.
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)"""
from __future__ import annotations

import json

from pytest_bdd import given, parsers, then, when

from support.rows import diff, said, strings


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
    return sut.call("run_vql", query=vql["query"], **extra)


@when(parsers.parse("I run the query, keeping at most {n:d} of its rows"), target_fixture="reply")
def _(sut, ledger, vql, n):
    """Asks the server to run the scenario's query with a row limit."""
    extra = {"env": vql["env"]} if vql["env"] else {}
    return sut.call("run_vql", query=vql["query"], max_rows=n, **extra)


@when(parsers.parse('I run the VQL "{query}"'), target_fixture="reply")
def _(sut, ledger, query):
    """Asks the server to run the VQL written in the step."""
    return sut.call("run_vql", query=query)


@when("I ask for VQL help", target_fixture="reply")
def _(sut, ledger):
    """Asks for VQL help on no topic."""
    return sut.call("vql_help")


@when(parsers.parse('I ask for VQL help on "{topic}"'), target_fixture="reply")
def _(sut, ledger, topic):
    """Asks for VQL help on a topic (syntax, plugins, functions, examples)."""
    return sut.call("vql_help", topic=topic)


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


# -- issue 10: one aspect per Then, counts that mirror Velociraptor, topics that matter ------


@then(parsers.parse('the query saw the variable "{name}" holding "{value}", however encoded'))
def _(reply, vql, name, value):
    """The reply's rows hold the value (as part of some text: quotes or JSON around it are this Then's
    business no more than its encoding is): the variable reached the query."""
    seen = [s for s in strings(reply.rows) if value in s]
    assert reply.ok and seen, (f"The query {vql['query']!r} shows no trace of {name}={value!r}: the variable did not "
                               f"reach it; {said(reply)}")


def _stated_counts(data):
    """(key, value) of every integer the reply states under a key naming a count (row_count, count, total…)."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, int) and not isinstance(v, bool) and any(w in str(k).lower() for w in ("count", "total")):
                out.append((k, v))
            out.extend(_stated_counts(v) if isinstance(v, dict) else [])
    return out


@then("every row count the server under test states is the number of rows Velociraptor returns for it")
def _(reply, oracle, vql):
    """Each count the reply states (row_count, count, total… at its top level) equals the number of rows
    Velociraptor returns for the query (none stated passes: there is nothing to compare)."""
    truth = len(oracle.query(vql["query"], vql["env"]))
    data = reply.data
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            data = None
    wrong = [(k, v) for k, v in _stated_counts(data) if v != truth]
    assert not wrong, f"The reply states {wrong}; Velociraptor returns {truth} row(s) for {vql['query']!r}"


@then("the help differs from the help without a topic")
def _(reply, sut, ledger):
    """The help on the topic is not the same text as the help on no topic (asked for now)."""
    general = sut.call("vql_help")
    assert reply.ok and general.ok and str(reply.data).strip() != str(general.data).strip(), (
        f"The help on this topic is the help without a topic; topic: {said(reply, 200)}; none: {said(general, 200)}")


# -- issue 10: the organisation a query runs in ------------------------------------------------


@given("a second organisation in Velociraptor", target_fixture="organisation")
def _(oracle, ledger, request):
    """Makes a new organisation (the API user administers it); removed again at the scenario's end."""
    org_id = oracle.create_org(ledger.name("org"))
    request.addfinalizer(lambda: oracle.delete_org(org_id))
    return org_id


@when("I run the query in that organisation", target_fixture="reply")
def _(sut, ledger, vql, organisation):
    """Asks the server to run the scenario's query in the scenario's organisation."""
    extra = {"env": vql["env"]} if vql["env"] else {}
    return sut.call("run_vql", query=vql["query"], org_id=organisation, **extra)


@then("its rows equal the rows Velociraptor returns for it in that organisation")
def _(reply, oracle, vql, organisation):
    """Velociraptor returns rows for the query in the organisation, and the reply's rows equal them."""
    truth = oracle.query_in_org(vql["query"], organisation, vql["env"])
    assert truth and reply.ok, f"Velociraptor returns {len(truth)} rows; the server under test answered {said(reply)}"
    assert not (d := diff(reply.rows, truth, what=f"query: {vql['query']}  org: {organisation}")), d


@then(parsers.parse('the help names "{name}", which Velociraptor has as a {kind} only'))
def _(reply, oracle, name, kind):
    """Velociraptor's help() has the name as that kind (plugin or function) and not as another, and
    the help text names it as a word (case-insensitive)."""
    import re

    kinds = {str(r.get("type")).lower() for r in oracle.query("SELECT type FROM help() WHERE name = RsName",
                                                              {"RsName": name})}
    assert kinds == {kind}, (f"The scenario's example is wrong: Velociraptor's help() has {name!r} as "
                             f"{sorted(kinds) or 'nothing'}, not as a {kind} only")
    text = reply.data if isinstance(reply.data, str) else str(reply.data)
    assert reply.ok and re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text, re.IGNORECASE), (
        f"The help does not name the {kind} {name!r}: {said(reply, 300)}")
