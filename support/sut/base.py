"""What every profile produces: one normalised result per canonical tool call.

Steps talk to canonical capabilities (the tool names of the megaraptor-mcp contract) and
read a :class:`Result`; a profile maps a canonical call onto one server's tool and turns its
reply (JSON object, JSON array, text, error inside ``isError: false``…) into a Result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    """A normalised reply.

    ``ok`` is decided from the content, never from ``isError`` alone. ``error`` holds the
    server's error text when not ok. ``data`` is the parsed reply (dict/list/str); ``rows``
    the list of records the tool returned (clients, flows, results…) when it returns rows;
    ``flow_id`` / ``hunt_id`` when the tool started one. ``raw`` is the MCP reply as sent
    (content texts and isError), masked, for the report.
    """

    ok: bool
    error: str | None = None
    data: Any = None
    rows: list[dict[str, Any]] | None = None
    flow_id: str | None = None
    hunt_id: str | None = None
    tool: str = ""          # the SUT's own tool name that was called
    raw: dict[str, Any] = field(default_factory=dict)


class Unsupported(Exception):
    """The server under test has no such canonical capability (→ a visible skip)."""
