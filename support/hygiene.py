"""Hygiene over every tool a server under test lists, mapped onto the contract or not (issue 10 §9).

One schema-valid call per tool, with arguments built from the tool's own ``inputSchema``
(:func:`arguments_for`), each judged on its own (:func:`judge`):

- ``ok`` — an answer (a success, or an error the server marks as one: ``isError: true`` or
  a JSON-RPC error);
- ``internal error text`` — the answer carries Python's internals (:data:`INTERNAL`:
  ``Traceback``, ``TypeError``, ``NameError``, …): the server let a bug through;
- ``error reported as success`` — ``isError: false`` with an error body (``{"error": …}``,
  a text starting "Error" or "Failed"): a client that trusts ``isError`` takes a failure
  for an answer;
- ``hang`` — no answer within the bound (seconds; the session stops the process, the next
  tool gets a fresh one);
- ``non-protocol output`` — the server wrote something that is not JSON-RPC on stdout;
- ``crash`` — the process died during the call;
- ``skipped`` — a deployment tool (name or description says deploy, ssh, winrm or cloud):
  it is never called, whatever it would do.

Why not a JSON-Schema data generator from PyPI (hypothesis-jsonschema): it draws random
values through Hypothesis (a heavy dependency, non-deterministic unless shrunk with
``find``), and random strings as ids reach Velociraptor as phantom client records or
labels. The values here are deterministic, chosen by the property's name so that nothing
real is touched (ids that exist nowhere, an artifact Velociraptor does not know, a harmless
query), and every argument set is checked against the schema with ``jsonschema`` before it
is sent (:func:`arguments_for` raises ``ValueError`` when it cannot build a valid one).

:func:`sweep` runs the calls (once per SUT and run; later scenarios reuse it) and
:func:`summary` gives every SUT's verdicts for the report.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import jsonschema

from support.errors import SutCrashed, SutError, SutProtocolError, SutStreamError, SutTimeout

#: Seconds one hygiene call may take before it counts as a hang.
CALL_BOUND = 20.0
#: Seconds the whole sweep of one SUT may take (under pytest-timeout's 300 s): tools not
#: reached by then are reported as skipped, "sweep budget spent".
SWEEP_BUDGET = 200.0

#: A tool that could deploy something: never called (its name or description says so).
DEPLOYS = re.compile(r"(?i)deploy|\bssh\b|winrm|\bcloud\b|_ssh|ssh_|_cloud|cloud_")

#: Python's internals in an answer: a traceback, or an exception type a server should never show.
INTERNAL = re.compile(r"Traceback \(most recent call last\)|\b(TypeError|NameError|AttributeError|"
                      r"UnboundLocalError|KeyError|IndexError|ZeroDivisionError|RecursionError)\b")

#: A text answer that is a failure in words.
ERROR_WORDS = re.compile(r"(?i)^\s*(error|failed|failure)\b")

NO_CLIENT = "C.0000000000000000"
NO_FLOW = "F.RAPTORSPEC0000"
NO_HUNT = "H.RAPTORSPEC0000"
NO_ARTIFACT = "Custom.Raptorspec.NoSuchArtifact"
HARMLESS_QUERY = "SELECT 1 AS raptorspec_hygiene FROM scope()"

VERDICTS = ("ok", "internal error text", "error reported as success", "hang", "non-protocol output", "crash",
            "skipped")


# ---------------------------------------------------------------------------- arguments


def _resolve(schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """``schema`` with local ``$ref`` (``#/$defs/X``, ``#/definitions/X``) replaced."""
    if depth > 20 or not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = (target or {}).get(part) if isinstance(target, dict) else None
        merged = {**(target or {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        return _resolve(merged, root, depth + 1)
    return schema


def _string_for(name: str, namespace: str) -> str:
    key = name.lower()
    if "client" in key:
        return NO_CLIENT
    if "flow" in key:
        return NO_FLOW
    if "hunt" in key:
        return NO_HUNT
    if "artifact" in key:
        return NO_ARTIFACT
    if key in ("query", "vql", "vql_query", "sql"):
        return HARMLESS_QUERY
    return f"{namespace}-hygiene"


def value_for(schema: Any, name: str, root: dict[str, Any], namespace: str, depth: int = 0) -> Any:
    """One value the (sub)schema allows, chosen by the property's ``name`` (module doc).

    Shapes: ``default`` when the schema gives one; the first ``enum``/``const``; the first
    non-null branch of ``anyOf``/``oneOf``; else by ``type``."""
    schema = _resolve(schema, root)
    if not isinstance(schema, dict) or depth > 8:
        return _string_for(name, namespace)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key) or [] if _resolve(b, root).get("type") != "null"]
        if branches:
            return value_for(branches[0], name, root, namespace, depth + 1)
    if schema.get("allOf"):
        return value_for({k: v for s in schema["allOf"] for k, v in _resolve(s, root).items()}, name, root,
                         namespace, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer" or kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = max(1, int(low) + (1 if "exclusiveMinimum" in schema else 0))
        if "maximum" in schema:
            value = min(value, int(schema["maximum"]))
        return value
    if kind == "boolean":
        return False
    if kind == "array":
        item = value_for(schema.get("items") or {"type": "string"}, name.rstrip("s"), root, namespace, depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "object" or "properties" in schema:
        return object_for(schema, root, namespace, depth + 1)
    if kind == "null":
        return None
    return _string_for(name, namespace)


def object_for(schema: dict[str, Any], root: dict[str, Any], namespace: str, depth: int = 0) -> dict[str, Any]:
    """An object with every required property of ``schema`` (and no other)."""
    schema = _resolve(schema, root)
    props = schema.get("properties") or {}
    return {key: value_for(props.get(key, {}), key, root, namespace, depth) for key in schema.get("required") or []}


def arguments_for(schema: dict[str, Any] | None, namespace: str = "raptorspec") -> dict[str, Any]:
    """A schema-valid argument object for a tool's ``inputSchema``: its required properties,
    each with a deterministic value (module doc). ``namespace`` prefixes free text so the
    cleanup ledger finds what a call makes. Raises ValueError when the result does not
    validate against the schema (its problems named)."""
    schema = dict(schema or {"type": "object"})
    arguments = object_for(schema, schema, namespace)
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}"
                for e in jsonschema.validators.validator_for(schema)(schema).iter_errors(arguments)]
    if problems:
        raise ValueError(f"cannot build schema-valid arguments {arguments}: {problems}")
    return arguments


# ---------------------------------------------------------------------------- judging


@dataclass
class Verdict:
    """What one tool did with one schema-valid call: ``verdict`` (one of :data:`VERDICTS`),
    ``why`` (a sentence, the offending text quoted), ``seconds`` (None when not called),
    ``arguments`` sent."""

    tool: str
    verdict: str
    why: str = ""
    seconds: float | None = None
    arguments: dict[str, Any] = field(default_factory=dict)

    @property
    def line(self) -> str:
        took = "" if self.seconds is None else f" ({self.seconds:.1f} s)"
        return f"{self.tool}: {self.verdict}{took}" + (f" — {self.why}" if self.why else "")


def _quote(text: str, match: re.Match[str] | None = None, width: int = 160) -> str:
    start = max(0, match.start() - 40) if match else 0
    return repr(text[start:start + width])


def error_body(texts: list[str], structured: Any = None) -> str | None:
    """The error an ``isError: false`` answer carries in its body, or None: a JSON object with
    a truthy ``error`` (also as the only item of a list), or a text starting "Error"/"Failed"."""
    bodies: list[Any] = []
    for text in texts:
        try:
            bodies.append(json.loads(text))
        except (TypeError, ValueError):
            if ERROR_WORDS.match(text or ""):
                return _quote(text)
    if isinstance(structured, dict):
        bodies.append(structured)
    for body in bodies:
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        if isinstance(body, dict) and body.get("error"):
            return _quote(json.dumps(body, default=str))
        if isinstance(body, str) and ERROR_WORDS.match(body):
            return _quote(body)
    return None


def judge(tool: str, reply: dict[str, Any] | None = None, error: BaseException | None = None,
          arguments: dict[str, Any] | None = None, seconds: float | None = None) -> Verdict:
    """The verdict on one call: the session's reply (``{"is_error", "texts", "structured"}``)
    or the error the session raised (SutTimeout → hang, SutStreamError → non-protocol output,
    SutCrashed → crash, SutProtocolError → a JSON-RPC error answer, judged on its message)."""
    args = dict(arguments or {})
    if isinstance(error, SutTimeout):
        return Verdict(tool, "hang", f"no answer within {CALL_BOUND:g} s", seconds, args)
    if isinstance(error, SutStreamError):
        return Verdict(tool, "non-protocol output", str(error).splitlines()[0][:300], seconds, args)
    if isinstance(error, SutProtocolError):
        texts, is_error = [error.message], True
    elif isinstance(error, (SutCrashed, SutError)):
        return Verdict(tool, "crash", str(error).splitlines()[0][:300], seconds, args)
    elif error is not None:
        raise error
    else:
        texts, is_error = [t for t in (reply or {}).get("texts") or [] if t], bool((reply or {}).get("is_error"))
    for text in texts + ([json.dumps((reply or {}).get("structured"), default=str)]
                         if (reply or {}).get("structured") else []):
        m = INTERNAL.search(text)
        if m:
            return Verdict(tool, "internal error text", f"it answered {_quote(text, m)}", seconds, args)
    if not is_error:
        body = error_body(texts, (reply or {}).get("structured"))
        if body:
            return Verdict(tool, "error reported as success", f"isError false, body {body}", seconds, args)
    return Verdict(tool, "ok", "an error, marked as one" if is_error else "", seconds, args)


def deploys(tool: dict[str, Any]) -> str | None:
    """Why a listed tool must not be called (it could deploy something), or None."""
    for where in ("name", "description"):
        m = DEPLOYS.search(str(tool.get(where) or ""))
        if m:
            return f"its {where} says {m.group(0)!r}: a deployment tool is never called"
    return None


# ---------------------------------------------------------------------------- the sweep

_SWEEPS: dict[str, list[Verdict]] = {}


def run(session: Any, tools: list[dict[str, Any]], *, namespace: str = "raptorspec", bound: float = CALL_BOUND,
        watch: Callable[[dict[str, Any]], Any] | None = None, budget: float = SWEEP_BUDGET) -> list[Verdict]:
    """Call each tool of ``tools`` (``list_tools`` dicts) once on ``session`` (a
    :class:`support.sut.session.SutSession` or anything with ``call_tool(name, arguments,
    timeout=)``, ``alive()`` and ``restart()``); return one :class:`Verdict` per tool, in
    name order. ``watch(arguments)`` gives a context manager around each call (the cleanup
    ledger's ``watching``). A session a call left dead is restarted before the next tool.
    Tools not reached within ``budget`` seconds are skipped ("sweep budget spent")."""
    out = []
    start = time.monotonic()
    for tool in sorted(tools, key=lambda t: t["name"]):
        name = tool["name"]
        why = deploys(tool)
        if not why and time.monotonic() - start > budget - bound:
            why = f"not called: the sweep's budget of {budget:g} s was spent"
        if why:
            out.append(Verdict(name, "skipped", why))
            continue
        try:
            arguments = arguments_for(tool.get("inputSchema"), namespace)
        except ValueError as exc:
            out.append(Verdict(name, "skipped", f"no schema-valid arguments could be built: {exc}"))
            continue
        if session.alive() is not None:
            session.restart()
        t0 = time.monotonic()
        reply, error = None, None
        try:
            if watch is not None:
                with watch(arguments):
                    reply = session.call_tool(name, arguments, timeout=bound)
            else:
                reply = session.call_tool(name, arguments, timeout=bound)
        except SutError as exc:
            error = exc
        out.append(judge(name, reply, error, arguments, round(time.monotonic() - t0, 2)))
    if session.alive() is not None:
        session.restart()
    return out


def sweep(sut: Any, ledger: Any = None, *, bound: float = CALL_BOUND, shared: Path | None = None) -> list[Verdict]:
    """The verdicts of every tool ``sut`` (a SutHandle: ``name``, ``session``) lists, swept
    once per SUT and run (later callers get the same list). ``ledger`` records and cleans
    whatever a call makes in Velociraptor. ``shared`` (a folder: the lab's ``hygiene/``) makes
    it once per SUT for all the run's processes: the xdist worker that gets there first sweeps
    while holding ``<sut>.lock`` and writes ``<sut>.json``; another waits for it (bounded by the
    sweep's budget) and reads it, instead of sweeping again (a 183 s sweep ran on both workers of
    a ``-n 2`` run) — and the report, written by the controller, shows it (:func:`summary`).
    Raises :class:`support.errors.WaitTimeout` when another process holds the lock past that bound."""
    if sut.name in _SWEEPS:
        return _SWEEPS[sut.name]
    namespace = ledger.name("hygiene").removesuffix("-hygiene") if ledger is not None else "raptorspec"

    def watch(arguments: dict[str, Any]) -> Any:
        client = arguments.get("client_id") if isinstance(arguments.get("client_id"), str) else NO_CLIENT
        return ledger.watching(client)

    def now() -> list[Verdict]:
        return run(sut.session, sut.session.list_tools(), namespace=namespace, bound=bound,
                   watch=watch if ledger is not None else None)

    if shared is None:
        _SWEEPS[sut.name] = now()
        return _SWEEPS[sut.name]
    from support.waits import wait_for

    Path(shared).mkdir(parents=True, exist_ok=True)
    path = Path(shared) / f"{_safe(sut.name)}.json"
    with open(path.with_suffix(".lock"), "a+") as lock:
        def taken() -> tuple[bool, str]:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True, "taken"
            except BlockingIOError:
                return False, f"{path.with_suffix('.lock')} held by another process (sweeping SUT {sut.name})"

        wait_for(taken, f"another process's hygiene sweep of SUT {sut.name}", SWEEP_BUDGET + 4 * bound, 0.5)
        try:
            shared_sweep = _read_shared(path)
            if shared_sweep is not None:
                verdicts = shared_sweep[1]
            else:
                verdicts = now()
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"sut": sut.name, "verdicts": [asdict(v) for v in verdicts]}, default=str))
                tmp.replace(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    _SWEEPS[sut.name] = verdicts
    return verdicts


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _read_shared(path: Path) -> tuple[str, list[Verdict]] | None:
    """``(sut, verdicts)`` of a shared sweep file, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text())
        return str(data["sut"]), [Verdict(**v) for v in data["verdicts"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _all_sweeps() -> dict[str, list[Verdict]]:
    """This process's sweeps, and those other processes of the run shared in the hygiene folder
    of a lab this process made or used (an xdist controller writes the report)."""
    sweeps = dict(_SWEEPS)
    try:
        from support.lab.base import LAB_DIRS
    except ImportError:
        return sweeps
    for lab_dir in LAB_DIRS:
        folder = Path(lab_dir) / "hygiene"
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            shared_sweep = _read_shared(path)
            if shared_sweep is not None:
                sweeps.setdefault(*shared_sweep)
    return sweeps


def failing(verdicts: list[Verdict], *kinds: str) -> list[Verdict]:
    """The verdicts of those kinds."""
    return [v for v in verdicts if v.verdict in kinds]


def summary() -> dict[str, dict[str, Any]]:
    """Every SUT swept in this run: ``{sut: {"counts": {verdict: n}, "tools": [Verdict.line …]}}``
    (verdicts in :data:`VERDICTS` order), for the report."""
    out: dict[str, dict[str, Any]] = {}
    for name, verdicts in sorted(_all_sweeps().items()):
        counts = {k: n for k in VERDICTS if (n := sum(v.verdict == k for v in verdicts))}
        out[name] = {"counts": counts, "tools": [v.line for v in verdicts]}
    return out


def summary_text() -> str:
    """:func:`summary` as plain lines (one block per SUT)."""
    lines = []
    for name, entry in summary().items():
        lines.append(f"{name}: " + ", ".join(f"{n} {k}" for k, n in entry["counts"].items()))
        lines += [f"  {line}" for line in entry["tools"]]
    return "\n".join(lines)
