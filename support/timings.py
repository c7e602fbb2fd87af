"""Timings for the benchmarks (bench/overhead.py): when ``$RAPTORSPEC_TIMINGS`` names a file,
the suite appends one JSON object a line to it for each SUT call and each flow or hunt wait;
otherwise :func:`note` does nothing (one environment lookup).

Lines (times are seconds since the epoch, wall clock; Velociraptor's are microseconds):

- ``{"kind": "sut", "pid", "start", "end", "what", "sut"}``: one MCP request to a SUT, whoever
  sent it (support.sut.session.SutSession._request: a step's call, a sweep, discovery's
  timed calls), a timeout included;
- ``{"kind": "flow", "pid", "start", "end", "flow_id", "create_time", "active_time", "event_at",
  "state"}``: a wait on a flow (support.waits.wait_flow_done) from its call to its return, with
  the flow's own creation and last-activity timestamps (flows() ``create_time`` /
  ``active_time``, µs) and when its System.Flow.Completion event reached the wait (None: the
  flow was done at a state check, no event was awaited);
- ``{"kind": "hunt", "pid", "start", "end", "hunt_id"}``: a wait on a hunt.

Several processes (xdist workers) append to the same file: each line is one ``write`` of
less than PIPE_BUF bytes on a file opened with O_APPEND, so lines never interleave.
"""
from __future__ import annotations

import json
import os
from typing import Any

ENV = "RAPTORSPEC_TIMINGS"


def note(kind: str, **fields: Any) -> None:
    """Append a timing line (see the module docstring) when ``$RAPTORSPEC_TIMINGS`` is set."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"kind": kind, "pid": os.getpid(), **fields}, default=str)[:3000] + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
