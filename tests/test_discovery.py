"""support/discovery.py builds what discovery scenarios send: typical and wrong-type arguments."""
from __future__ import annotations

import pytest

from support import contract
from support.discovery import NO_CLIENT, NO_FLOW, NO_HUNT, schema_problems, typical_arguments, wrong_type_arguments


@pytest.mark.parametrize("tool", contract.CORE_TOOLS)
def test_every_core_tool_has_typical_arguments_that_touch_nothing_real(tool):
    args = typical_arguments(tool, "C.1234567890abcdef", "raptorspec-run-discovery")
    if tool in ("quarantine_client", "modify_hunt", "cancel_flow", "get_flow_status"):
        assert set(args.values()) & {NO_CLIENT, NO_HUNT, NO_FLOW}, (tool, args)


def test_a_tool_without_typical_arguments_says_where_to_add_them():
    with pytest.raises(KeyError, match="support/discovery.py"):
        typical_arguments("deploy_server", "C.1", "x")


def test_schema_problems_name_each_path():
    schema = {"type": "object", "properties": {"limit": {"type": "integer"}}, "required": ["client_id"]}
    problems = schema_problems(schema, {"limit": "5"})
    assert any(p.startswith("limit: ") for p in problems) and any("client_id" in p for p in problems)
    assert schema_problems(schema, {"client_id": "C.1", "limit": 5}) == []


def test_wrong_type_arguments_break_every_property():
    schema = {"type": "object", "properties": {
        "s": {"type": "string"}, "n": {"type": "integer"}, "b": {"type": "boolean"}, "a": {"type": "array"},
        "o": {"type": "object"}, "u": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "x": {"type": "number"}}}
    args = wrong_type_arguments(schema)
    assert set(args) == set(schema["properties"])
    for key, value in args.items():
        assert schema_problems({"type": "object", "properties": {key: schema["properties"][key]}}, {key: value}), key


def test_a_schema_without_properties_gets_an_unexpected_one():
    assert wrong_type_arguments({"type": "object"}) == {"raptorspec_unexpected": 12345}


def test_concurrency_is_what_the_session_declares():
    from support import discovery

    class Serial:
        pass

    class Concurrent:
        concurrent_calls = True

    assert not discovery.concurrent_capable(Serial()) and discovery.concurrent_capable(Concurrent())
    assert "RLock" in discovery.NOT_CONCURRENT


def test_a_call_past_its_deadline_is_a_not_ok_result():
    from support import discovery
    from support.errors import SutTimeout
    from support.sut.profiles.reference import PROFILE

    class Session:
        def call_tool(self, name, arguments, timeout=None):
            raise SutTimeout("no reply")

    class Sut:
        profile, session = PROFILE, Session()

    result = discovery.timed_raw(Sut(), "run_vql", {"query": "SELECT 1 FROM scope()"}, 2)
    assert not result.ok and result.raw["timed_out"] and "2 s" in result.error
