"""An MCP exchange as a reader wants it: what was sent, what came back, decoded once.

A tool's answer reaches the transcript in one of two shapes: the SUT session's
``{"is_error", "texts": [str], "structured": obj | None}`` (support/sut/session.py) or MCP's
own ``CallToolResult`` ``{"isError", "content": [{"type": "text", "text": …}],
"structuredContent": …}`` (MCP spec 2025-06-18, "Tools › Tool Result"). A text block that holds
JSON is shown decoded and indented; structured content that repeats a text block's JSON (as
MCP asks servers to do for backward compatibility) is named, not shown twice. Anything else
is shown as indented JSON. Nothing is cut: a long block is folded with its size.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: A block longer than this (lines or characters) starts folded.
FOLD_LINES = 60
FOLD_CHARS = 6000


@dataclass
class Block:
    """One thing to show: ``label`` (e.g. "text block 1 · JSON, decoded"), ``body`` as text."""

    label: str
    body: str

    @property
    def folded(self) -> bool:
        return self.body.count("\n") + 1 > FOLD_LINES or len(self.body) > FOLD_CHARS

    @property
    def size(self) -> str:
        """The body's size for a folded block's summary: lines and bytes (UTF-8)."""
        n = len(self.body.encode("utf-8"))
        lines = self.body.count("\n") + 1
        amount = f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} KiB"
        return f"{lines} lines, {amount}"


def pretty(value: Any) -> str:
    """Indented JSON for a JSON-like value; a string as it is."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _decoded(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is a JSON object or array; (False, None) otherwise."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return False, None
    try:
        return True, json.loads(stripped)
    except ValueError:
        return False, None


def sent(request: Any) -> list[Block]:
    """The request: a tool call's arguments (the tool's name goes in the heading), else all of it."""
    if isinstance(request, dict) and set(request) <= {"name", "arguments"} and "arguments" in request:
        return [Block("arguments", pretty(request.get("arguments") or {}))]
    return [Block("request", pretty(request))]


def answered(reply: Any) -> tuple[bool, list[Block]]:
    """(is_error, blocks) of a reply in either shape; any other reply is one JSON block."""
    if not isinstance(reply, dict):
        return False, [Block("reply", pretty(reply))] if reply is not None else []
    if "texts" in reply or "structured" in reply:
        texts = [t if isinstance(t, str) else pretty(t) for t in reply.get("texts") or []]
        contents: list[Any] = [{"type": "text", "text": t} for t in texts]
        structured, has_structured = reply.get("structured"), reply.get("structured") is not None
        is_error = bool(reply.get("is_error"))
        rest = {k: v for k, v in reply.items() if k not in ("texts", "structured", "is_error", "seconds")}
    elif "content" in reply or "structuredContent" in reply:
        contents = list(reply.get("content") or [])
        structured, has_structured = reply.get("structuredContent"), "structuredContent" in reply
        is_error = bool(reply.get("isError"))
        rest = {k: v for k, v in reply.items() if k not in ("content", "structuredContent", "isError")}
    else:
        return False, [Block("reply", pretty(reply))]
    blocks: list[Block] = []
    decoded: list[tuple[int, Any]] = []
    for n, item in enumerate(contents, 1):
        if isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str):
            ok, value = _decoded(item["text"])
            if ok:
                decoded.append((n, value))
                blocks.append(Block(f"text block {n} · JSON, decoded", pretty(value)))
            else:
                blocks.append(Block(f"text block {n}", item["text"]))
        else:
            kind = item.get("type", "content") if isinstance(item, dict) else "content"
            blocks.append(Block(f"{kind} block {n}", pretty(item)))
    if has_structured:
        same = next((n for n, value in decoded if structured in (value, {"result": value})), None)
        if same is not None:
            blocks.append(Block("structured content", f"(the same as text block {same})"))
        else:
            blocks.append(Block("structured content", pretty(structured)))
    if not contents and not has_structured:
        blocks.append(Block("content", "(none)"))
    if rest:
        blocks.append(Block("other fields", pretty(rest)))
    return is_error, blocks
