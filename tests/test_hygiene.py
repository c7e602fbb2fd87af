"""support/hygiene.py: arguments from a tool's schema, verdicts on replies, the sweep (fast, no lab)."""
from __future__ import annotations

import json

import pytest

from support import hygiene
from support.errors import SutCrashed, SutProtocolError, SutStreamError, SutTimeout

PYDANTIC_SCHEMA = {  # the shape FastMCP makes: $defs, anyOf with null, enums, defaults
    "type": "object",
    "$defs": {"Op": {"enum": ["add", "remove"], "type": "string"}},
    "properties": {
        "client_id": {"type": "string"},
        "labels": {"type": "array", "items": {"type": "string"}},
        "operation": {"$ref": "#/$defs/Op"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 10},
        "search": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "args": {"type": "object", "properties": {"hunt_id": {"type": "string"}, "urgent": {"type": "boolean"}},
                 "required": ["hunt_id", "urgent"]},
    },
    "required": ["client_id", "labels", "operation", "limit", "args"],
}


def test_arguments_fill_required_properties_with_harmless_values():
    args = hygiene.arguments_for(PYDANTIC_SCHEMA, "raptorspec-x")
    assert args == {"client_id": hygiene.NO_CLIENT, "labels": ["raptorspec-x-hygiene"], "operation": "add",
                    "limit": 1, "args": {"hunt_id": hygiene.NO_HUNT, "urgent": False}}


def test_arguments_that_cannot_fit_the_schema_are_refused():
    with pytest.raises(ValueError, match="schema-valid"):
        hygiene.arguments_for({"type": "object", "properties": {"q": {"type": "string", "minLength": 500}},
                               "required": ["q"]})


def test_no_schema_means_no_arguments():
    assert hygiene.arguments_for(None) == {}
    assert hygiene.arguments_for({"type": "object", "properties": {"x": {"type": "string"}}}) == {}


@pytest.mark.parametrize("texts, is_error, verdict", [
    (['{"clients": []}'], False, "ok"),
    (["Client C.1 not found"], True, "ok"),
    (['{"error": "Client not found", "hint": "check"}'], False, "error reported as success"),
    (["Error: could not connect"], False, "error reported as success"),
    (["Failed to list flows"], False, "error reported as success"),
    (['[{"error": "boom"}]'], False, "error reported as success"),
    (["Traceback (most recent call last):\n  File x"], True, "internal error text"),
    (["'NoneType' object is not subscriptable (TypeError)"], False, "internal error text"),
    (["name 'foo' is not defined: NameError"], True, "internal error text"),
    (["Errors are listed below: none"], False, "ok"),
])
def test_judge_reads_each_kind_of_answer(texts, is_error, verdict):
    assert hygiene.judge("t", {"texts": texts, "is_error": is_error, "structured": None}).verdict == verdict


def test_judge_maps_session_errors():
    assert hygiene.judge("t", error=SutTimeout("x")).verdict == "hang"
    assert hygiene.judge("t", error=SutStreamError("garbage\nmore")).verdict == "non-protocol output"
    assert hygiene.judge("t", error=SutCrashed("died")).verdict == "crash"
    assert hygiene.judge("t", error=SutProtocolError("Unknown tool", -32602)).verdict == "ok"
    assert hygiene.judge("t", error=SutProtocolError("TypeError: x", -32603)).verdict == "internal error text"


def test_structured_error_body_counts():
    reply = {"texts": [], "is_error": False, "structured": {"error": "nope"}}
    assert hygiene.judge("t", reply).verdict == "error reported as success"


@pytest.mark.parametrize("tool, skipped", [
    ({"name": "deploy_server", "description": ""}, True),
    ({"name": "deploy_agents_ssh", "description": ""}, True),
    ({"name": "generate_gpo_package", "description": "Push agents over WinRM"}, True),
    ({"name": "x", "description": "Provision a cloud instance"}, True),
    ({"name": "list_clients", "description": "List clients"}, False),
])
def test_deployment_tools_are_never_called(tool, skipped):
    assert bool(hygiene.deploys(tool)) is skipped


class FakeSession:
    """call_tool answers from a table; a SutTimeout leaves the session dead until restart()."""

    def __init__(self, answers):
        self.answers, self.calls, self.dead, self.restarts = answers, [], False, 0

    def alive(self):
        return "dead" if self.dead else None

    def restart(self):
        self.dead, self.restarts = False, self.restarts + 1

    def call_tool(self, name, arguments, timeout=None):
        self.calls.append((name, arguments, timeout))
        answer = self.answers[name]
        if isinstance(answer, BaseException):
            self.dead = isinstance(answer, SutTimeout)
            raise answer
        return answer


def test_run_sweeps_every_tool_restarting_after_a_hang():
    tools = [{"name": n, "description": "", "inputSchema": {"type": "object"}} for n in ("b_hangs", "a_fine", "c_err")]
    tools.append({"name": "deploy_server", "description": "", "inputSchema": {"type": "object"}})
    session = FakeSession({"a_fine": {"texts": ["{}"], "is_error": False},
                           "b_hangs": SutTimeout("no reply"),
                           "c_err": {"texts": ['{"error": "x"}'], "is_error": False}})
    verdicts = hygiene.run(session, tools, bound=3)
    assert [(v.tool, v.verdict) for v in verdicts] == [
        ("a_fine", "ok"), ("b_hangs", "hang"), ("c_err", "error reported as success"), ("deploy_server", "skipped")]
    assert session.restarts == 1 and all(c[2] == 3 for c in session.calls)
    assert "deploy_server" not in [c[0] for c in session.calls]


def test_run_stops_calling_when_the_budget_is_spent():
    tools = [{"name": n, "inputSchema": {}} for n in ("a", "b")]
    session = FakeSession({"a": {"texts": ["{}"]}, "b": {"texts": ["{}"]}})
    verdicts = hygiene.run(session, tools, bound=5, budget=1)
    assert [v.verdict for v in verdicts] == ["skipped", "skipped"] and "budget" in verdicts[0].why
    assert not session.calls


def test_summary_counts_per_sut(monkeypatch):
    monkeypatch.setattr(hygiene, "_SWEEPS", {"s": [hygiene.Verdict("a", "ok"), hygiene.Verdict("b", "hang", "x", 20.0)]})
    assert hygiene.summary() == {"s": {"counts": {"ok": 1, "hang": 1}, "tools": ["a: ok", "b: hang (20.0 s) — x"]}}
    assert hygiene.summary_text().startswith("s: 1 ok, 1 hang")


_SWEEP_IN_A_PROCESS = """
import json, os, sys
from pathlib import Path
from types import SimpleNamespace
sys.path.insert(0, sys.argv[3])
from support import hygiene
from support.waits import wait_for

calls = Path(sys.argv[2])

class Session:
    def alive(self): return None
    def restart(self): pass
    def list_tools(self): return [{"name": "slow_tool", "inputSchema": {"type": "object"}}]
    def call_tool(self, name, arguments, timeout=None):
        with open(calls / "called", "a") as fh:
            fh.write("called\\n")
        # the sweep lasts until the other process has come for it too: it must wait, not sweep
        wait_for(lambda: (len(list(calls.glob("arrived-*"))) == 2, "one process"), "both processes", 30, 0.05)
        return {"texts": ["{}"], "is_error": False}

(calls / f"arrived-{os.getpid()}").write_text("")
verdicts = hygiene.sweep(SimpleNamespace(name="the-sut", session=Session()), shared=Path(sys.argv[1]))
print(json.dumps([(v.tool, v.verdict) for v in verdicts]))
"""


def test_processes_of_one_run_share_one_sweep_per_sut_and_the_report_sees_it(tmp_path, monkeypatch):
    """Two xdist workers each swept the same SUT (183 s twice in a -n 2 run), and the report,
    written by the controller, had no sweep at all."""
    import subprocess
    import sys
    from pathlib import Path

    from support.lab import base as lab_base

    lab = tmp_path / "lab"
    calls = tmp_path / "calls"
    calls.mkdir()
    script = tmp_path / "sweep.py"
    script.write_text(_SWEEP_IN_A_PROCESS)
    root = str(Path(__file__).resolve().parent.parent)
    procs = [subprocess.Popen([sys.executable, str(script), str(lab / "hygiene"), str(calls), root],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert [json.loads(o) for o in outs] == [[["slow_tool", "ok"]]] * 2, outs
    assert (calls / "called").read_text().count("called") == 1, "both processes swept the SUT"
    monkeypatch.setattr(hygiene, "_SWEEPS", {})
    monkeypatch.setattr(lab_base, "LAB_DIRS", [lab])
    summary = hygiene.summary()
    assert list(summary) == ["the-sut"] and summary["the-sut"]["counts"] == {"ok": 1}, summary
    assert summary["the-sut"]["tools"][0].startswith("slow_tool: ok"), summary
