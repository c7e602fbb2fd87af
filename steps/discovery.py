"""Discovery: each canonical tool a profile declares is offered, takes what the suite sends,
refuses arguments of the wrong type without dying, and answers within a budget.
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)"""
from __future__ import annotations

from pytest_bdd import parsers, then, when

from support.discovery import schema_problems, timed_call, typical_arguments, wrong_type_arguments
from support.rows import said
from support.sut.base import Result
from support.sut.session import SutProtocolError


def _offered(sut, sut_tool):
    tools = {t["name"]: t for t in sut.list_tools()}
    assert sut_tool in tools, f"SUT {sut.name} does not list {sut_tool!r}; it lists {sorted(tools)}"
    return tools[sut_tool]


@then(parsers.parse('the server under test offers the tool that "{tool}" maps to'))
def _(sut, tool, client, ledger):
    """The SUT lists the tool its profile maps the canonical tool to."""
    _offered(sut, sut.profile.map_call(tool, typical_arguments(tool, client.client_id, ledger.name("discovery")))[0])


@then(parsers.parse('its input schema accepts the arguments the suite sends for "{tool}"'))
def _(sut, tool, client, ledger):
    """The SUT tool's input schema accepts the arguments the suite sends for the canonical tool."""
    sut_tool, arguments = sut.profile.map_call(tool, typical_arguments(tool, client.client_id, ledger.name("discovery")))
    problems = schema_problems(_offered(sut, sut_tool).get("inputSchema") or {}, arguments)
    assert not problems, f"{sut_tool} refuses what the suite sends for {tool} ({arguments}): {problems}"


@when(parsers.parse('I call "{tool}" with typical arguments'), target_fixture="reply")
def _(sut, ledger, client, tool):
    """Calls the canonical tool with typical arguments, timing the answer."""
    return timed_call(ledger, sut, tool, typical_arguments(tool, client.client_id, ledger.name("discovery")))


@when(parsers.parse('I call "{tool}" with arguments of the wrong type'), target_fixture="reply")
def _(sut, ledger, client, tool):
    """Calls the SUT's tool with a value of a wrong type for every property of its schema."""
    sut_tool, _ = sut.profile.map_call(tool, typical_arguments(tool, client.client_id, ledger.name("discovery")))
    arguments = wrong_type_arguments(_offered(sut, sut_tool).get("inputSchema") or {})
    try:
        return sut.profile.read_reply(tool, sut.session.call_tool(sut_tool, arguments), sut_tool)
    except SutProtocolError as exc:
        return Result(ok=False, error=exc.message, tool=sut_tool, raw={"code": exc.code, "sent": arguments})


@then(parsers.parse("it answers within {seconds:d} seconds"))
def _(reply, seconds):
    """The answer came within the budget."""
    took = (reply.raw or {}).get("seconds")
    assert took is not None and took <= seconds, f"The answer took {took}s (budget {seconds}s): {said(reply)}"


@then("the server under test still answers")
def _(sut):
    """The SUT process is alive and still lists its tools."""
    assert sut.session.alive() is None, f"SUT {sut.name} died: {sut.session.alive()}"
    assert sut.list_tools(), f"SUT {sut.name} lists no tools after the call"


# -- bounded, concurrent and complete (issue 10 §8) ---------------------------------------

import pytest  # noqa: E402

from support import discovery  # noqa: E402


@when(parsers.parse('I run the VQL "{query}", waiting at most {deadline:d} seconds'), target_fixture="reply")
def _(sut, query, deadline):
    """Asks the server to run the VQL, with this call's own deadline (seconds); no answer by then is a not-ok reply."""
    return discovery.timed_raw(sut, "run_vql", {"query": query}, float(deadline))


@then(parsers.parse("the server under test reports an error within {seconds:d} seconds"))
def _(reply, seconds):
    """The reply is an error, and it came within the bound."""
    took = (reply.raw or {}).get("seconds")
    assert not (reply.raw or {}).get("timed_out"), f"No answer at all: {reply.error}"
    assert not reply.ok, f"Expected an error; the server under test answered after {took}s: {said(reply)}"
    assert took is not None and took <= seconds, f"The error came after {took}s (bound {seconds}s): {said(reply)}"


@when(parsers.parse("I run a query that takes {slow:d} seconds and meanwhile list the clients"),
      target_fixture="side_by_side")
def _(sut, slow):
    """Sends a query that sleeps, then — while it is pending — a client listing; skips when the session cannot send
    two requests at once (saying what support/sut/session.py lacks)."""
    if not discovery.concurrent_capable(sut.session):
        pytest.skip(discovery.NOT_CONCURRENT)
    query = f"SELECT sleep(time={slow}) AS slept FROM scope()"
    return discovery.side_by_side(sut, ("run_vql", {"query": query}), ("list_clients", {}),
                                  slow_deadline=slow + 30.0, quick_deadline=30.0)


@then(parsers.parse("the listing came back within {seconds:d} seconds, before the slow query"))
def _(side_by_side, seconds):
    """The listing answered within the bound, and before the slow query did."""
    quick = side_by_side["quick"]
    took = (quick.raw or {}).get("seconds")
    assert took is not None and took <= seconds and side_by_side["quick_done_first"], (
        f"The listing took {took}s (bound {seconds}s); it came {'first' if side_by_side['quick_done_first'] else 'after the slow query'}: "
        f"{said(quick)}")


@then("the listing holds the client")
def _(side_by_side, client):
    """The listing names the scenario's client."""
    quick = side_by_side["quick"]
    assert client.client_id in str(quick.rows or quick.data), f"The listing lacks {client.client_id}: {said(quick)}"


@when(parsers.parse("I list the artifacts, keeping at most {n:d}"), target_fixture="reply")
def _(sut, ledger, n):
    """Asks for every artifact, with a limit above what Velociraptor has."""
    return sut.call("list_artifacts", limit=n)


@then("the server under test lists exactly the artifacts Velociraptor has")
def _(oracle, reply):
    """The reply parses into records, and their names are exactly the names of Velociraptor's artifacts."""
    assert reply.ok and reply.rows is not None, f"The listing did not parse into records: {said(reply)}"
    listed = [str(r.get("name")) for r in reply.rows if isinstance(r, dict)]
    known = oracle.artifact_names()
    assert len(listed) == len(known) and set(listed) == known, (
        f"{len(listed)} listed, Velociraptor has {len(known)}; unknown to Velociraptor: {sorted(set(listed) - known)[:10]}; "
        f"missing: {sorted(known - set(listed))[:10]}")


@then(parsers.parse('the server under test describes the tool that "{tool}" maps to in at least {n:d} words'))
def _(sut, tool, client, ledger, n):
    """The SUT lists the tool with a description (what an analyst's MCP client, and the model
    behind it, chooses tools by) of at least ``n`` words."""
    sut_tool, _ = sut.profile.map_call(tool, typical_arguments(tool, client.client_id, ledger.name("discovery")))
    description = str(_offered(sut, sut_tool).get("description") or "").strip()
    assert len(description.split()) >= n, (
        f"SUT {sut.name} describes {sut_tool} (for {tool}) in {len(description.split())} word(s), "
        f"not at least {n}: {description!r}")
