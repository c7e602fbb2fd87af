"""Where a spec run's wall time goes, measured (issue 12): a pytest plugin for bench/overhead.py.

    RAPTORSPEC_BREAKDOWN=out.json python -m pytest features/ -p bench.breakdown …

Loaded with ``-p bench.breakdown`` it wraps (measures, changes nothing) the suite's own
layers and writes, at the end of the run, ``out.json``:

    {"wall_s": s, "items": n,
     "phases": {"setup": s, "call": s, "teardown": s},         # pytest's phases, summed
     "buckets": {name: {"n": count, "s": seconds}},             # see below
     "oracle_by_caller": {"<module>.<function>": {"n", "s"}},   # every gRPC query, by its caller
     "unaccounted_s": s}                                         # wall - the exclusive buckets

Buckets (exclusive unless noted, seconds of wall time on the main thread):

- ``sut_call``: MCP requests to a SUT (``SutSession._request``), reply awaited.
- ``sut_start``: starting or restarting a SUT process, handshake included.
- ``sut_drain``: the end-of-scenario check (``SutSession.check_quiet``) — the drain wait.
- ``ledger_watch``: the ledger's before/after snapshots around SUT calls (oracle queries
  inside ``Ledger.watching``, the SUT call itself excluded).
- ``ledger_clean``: the ledger's cleanup (``Ledger.clean``) at teardown.
- ``oracle_other``: every other gRPC query (steps' checks, waits, Givens, the audit).
- ``flow_wait``, ``hunt_wait``: ``support.waits`` flow/hunt waits (the queries inside are
  counted there, not in ``oracle_other``).
- ``lab``: the lab fixture's setup (boot) and teardown.

``phases.protocol`` is the time inside pytest_runtest_protocol (all items; its excess over
setup + call + teardown is pytest's and the plugins' per-item reporting);
``before_first_item_s`` start-up and collection; ``session_finish_s`` the end of the session
up to this plugin's last hook (the report, the audit).

The rest (``unaccounted_s``) is pytest, pytest-bdd, step code and fixtures outside these.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

_T0 = time.monotonic()
_buckets: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
_callers: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
_phases: dict[str, float] = defaultdict(float)
_stack: list[str] = []            # the bucket being timed (nested: the inner one is exclusive)
_items = [0]


def _timed(bucket: str, fn: Any) -> Any:
    """Wrap ``fn`` so its wall time goes to ``bucket`` (minus nested buckets inside it)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _stack.append(bucket)
        t0 = time.monotonic()
        nested_before = _nested[0]
        try:
            return fn(*args, **kwargs)
        finally:
            took = time.monotonic() - t0
            inner = _nested[0] - nested_before
            _stack.pop()
            _buckets[bucket][0] += 1
            _buckets[bucket][1] += took - inner
            _nested[0] = nested_before + took
    return wrapper


_nested = [0.0]


def _caller() -> str:
    """The first frame outside support/oracle.py and this file: ``module.function``."""
    frame = sys._getframe(2)
    while frame is not None:
        mod = frame.f_globals.get("__name__", "")
        if mod not in ("support.oracle", __name__) and not mod.startswith("grpc"):
            return f"{mod}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


def _patch() -> None:
    from support import ledger, oracle, waits
    from support.sut import session

    original_query = oracle.Oracle.query

    @functools.wraps(original_query)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        who = _caller()
        t0 = time.monotonic()
        try:
            return original_query(self, *args, **kwargs)
        finally:
            took = time.monotonic() - t0
            _callers[who][0] += 1
            _callers[who][1] += took

    oracle.Oracle.query = query
    # every query is in a bucket: the innermost one running, else oracle_other
    oracle.Oracle.query = _timed_oracle(oracle.Oracle.query)
    session.SutSession._request = _timed("sut_call", session.SutSession._request)
    session.SutSession.start = _timed("sut_start", session.SutSession.start)
    session.SutSession.check_quiet = _timed("sut_drain", session.SutSession.check_quiet)
    ledger.Ledger.clean = _timed("ledger_clean", ledger.Ledger.clean)
    original_watching = ledger.Ledger.watching

    @functools.wraps(original_watching)
    def watching(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _WatchTimer(original_watching(self, *args, **kwargs))

    ledger.Ledger.watching = watching
    for name in dir(waits):
        fn = getattr(waits, name)
        if name in ("wait_flow_done", "wait_hunt"):
            setattr(waits, name, _timed("hunt_wait" if "hunt" in name else "flow_wait", fn))


def _timed_oracle(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _stack and _stack[-1] not in ("sut_call",):
            return fn(*args, **kwargs)   # counted in the bucket that runs it
        return _timed("oracle_other", fn)(*args, **kwargs)
    return wrapper


class _WatchTimer:
    """Times a Ledger.watching context (its queries; the SUT call inside is its own bucket)."""

    def __init__(self, inner: Any):
        self.inner = inner

    def __enter__(self) -> Any:
        _stack.append("ledger_watch")
        self.t0 = time.monotonic()
        self.nested = _nested[0]
        return self.inner.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.inner.__exit__(*exc)
        finally:
            took = time.monotonic() - self.t0
            inner = _nested[0] - self.nested
            _stack.pop()
            _buckets["ledger_watch"][0] += 1
            _buckets["ledger_watch"][1] += took - inner
            _nested[0] = self.nested + took


if os.environ.get("RAPTORSPEC_BREAKDOWN"):   # at import (-p loads this before conftest.py and the steps)
    _patch()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Any:
    if fixturedef.argname != "lab":
        return (yield)
    t0 = time.monotonic()
    try:
        return (yield)
    finally:
        _buckets["lab"][0] += 1
        _buckets["lab"][1] += time.monotonic() - t0


_marks: dict[str, float] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Any:
    _items[0] += 1
    t0 = time.monotonic()
    _marks.setdefault("first_item", t0)
    try:
        return (yield)
    finally:
        _phases["protocol"] += time.monotonic() - t0


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    _marks["sessionfinish"] = time.monotonic()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _phases[report.when] += report.duration


@pytest.hookimpl(trylast=True, specname="pytest_sessionfinish")
def pytest_sessionfinish_write(session: pytest.Session) -> None:
    out = os.environ.get("RAPTORSPEC_BREAKDOWN")
    if not out or hasattr(session.config, "workerinput"):
        return
    wall = time.monotonic() - _T0
    exclusive = sum(s for _, s in _buckets.values())
    data = {
        "wall_s": round(wall, 1), "items": _items[0],
        "phases": {k: round(v, 1) for k, v in _phases.items()},
        "before_first_item_s": round(_marks.get("first_item", _T0) - _T0, 1),   # start-up and collection
        "session_finish_s": round(time.monotonic() - _marks.get("sessionfinish", time.monotonic()), 1),
        "buckets": {k: {"n": int(n), "s": round(s, 1)} for k, (n, s) in sorted(_buckets.items(), key=lambda x: -x[1][1])},
        "oracle_by_caller": {k: {"n": int(n), "s": round(s, 1)}
                             for k, (n, s) in sorted(_callers.items(), key=lambda x: -x[1][1])[:25]},
        "oracle_queries": int(sum(n for n, _ in _callers.values())),
        "unaccounted_s": round(wall - exclusive, 1),
    }
    Path(out).write_text(json.dumps(data, indent=2) + "\n")
