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
