"""SUT profiles: how one server under test maps onto the canonical tools.

A profile is a small class (one module per SUT) that declares

- ``name`` and ``requirements`` (pinned pip requirements, or None when not on PyPI);
- :meth:`Profile.command`: the server's argv and environment, given its venv (or the user's
  ``--sut-command``) and the lab's ``api_client.yaml``;
- ``tools``: canonical tool name → :class:`ToolMap` (the SUT's tool name, an argument mapper,
  a reply reader). A canonical tool the SUT lacks is simply absent;
- ``resources`` / ``prompts``: canonical URI templates and prompt names → the SUT's own;
- ``known_defects``: ``"tool"``, ``"tool::<scenario title>"`` or, for one row of a Scenario
  Outline, ``"tool::<scenario title>::<a value of that Examples row>"`` → a one-line reason,
  applied as a strict xfail so that a fix shows up as XPASS.

Argument mappers get the canonical keyword arguments (None values already dropped) and
return the SUT's arguments, or ``(sut_tool_name, arguments)`` to route to another tool. A
canonical argument the SUT cannot express raises :class:`Unsupported` (the step is skipped,
naming the SUT, tool and argument); an argument passed with its canonical default is
dropped instead. Readers turn the session's call_tool dict into a :class:`Result`:
``isError: true`` is never ok, and neither is an error inside an ``isError: false`` reply.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

from support import contract
from support.secrets import mask_obj
from support.sut.base import Result, Unsupported

Reply = dict[str, Any]
Mapper = Callable[[dict[str, Any]], "dict[str, Any] | tuple[str, dict[str, Any]]"]
Reader = Callable[[Reply], Result]

# Canonical defaults (support.contract.DEFAULTS): a canonical argument passed with exactly
# this value may be dropped by a SUT that lacks it.
CANONICAL_DEFAULTS: dict[str, dict[str, Any]] = contract.DEFAULTS

FLOW_ID = re.compile(r"^F\.[A-Za-z0-9]+$")
HUNT_ID = re.compile(r"^H\.[A-Za-z0-9]+$")


# ---------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class ToolMap:
    """How one canonical tool is called on one SUT."""

    tool: str
    args: Mapper | None = None
    read: Reader | None = None
    note: str = ""          # a short remark for the coverage table (e.g. "stop only")


def passthrough(kwargs: dict[str, Any]) -> dict[str, Any]:
    return dict(kwargs)


def lacks(tool: str, kwargs: Mapping[str, Any], *names: str, sut: str = "this SUT") -> None:
    """Refuse (Unsupported) when any of ``names`` is set to something else than its canonical default."""
    defaults = CANONICAL_DEFAULTS.get(tool, {})
    for name in names:
        if name in kwargs and not (name in defaults and kwargs[name] == defaults[name]):
            raise Unsupported(f"SUT {sut} cannot pass {name}= to {tool}")


def with_default(tool: str, kwargs: Mapping[str, Any], name: str) -> Any:
    """The canonical value of an argument: as given, else the contract's default."""
    return kwargs.get(name, CANONICAL_DEFAULTS.get(tool, {}).get(name))


def single_artifact(tool: str, kwargs: Mapping[str, Any], sut: str) -> tuple[str, dict[str, Any]]:
    """For SUTs that collect one artifact per call: (artifact, its flat parameters).

    Canonical ``parameters`` are keyed by artifact (``{"Artifact": {"k": "v"}}``, as
    megaraptor-mcp documents); a flat dict is taken as the one artifact's parameters.
    """
    artifacts = kwargs.get("artifacts") or []
    if isinstance(artifacts, str):
        artifacts = [artifacts]
    if len(artifacts) != 1:
        raise Unsupported(f"SUT {sut} collects exactly one artifact per call, not {len(artifacts)}")
    artifact = artifacts[0]
    params = kwargs.get("parameters") or {}
    if artifact in params and isinstance(params[artifact], dict):
        params = params[artifact]
    return artifact, dict(params)


def vql_kv_string(params: Mapping[str, Any]) -> str:
    """``k='v',k2='v2'``: the parameter string some SUTs take (values are not escaped: the
    SUT documents no escaping, and injection through it is for scenarios to find)."""
    return ",".join(f"{k}='{v}'" for k, v in params.items())


# ---------------------------------------------------------------------------- reading


def raw_of(reply: Reply) -> dict[str, Any]:
    return mask_obj({k: reply.get(k) for k in ("is_error", "texts", "structured", "seconds")})


def parse_json_text(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is JSON, else (False, text)."""
    try:
        return True, json.loads(text)
    except (ValueError, TypeError):
        return False, text


def reply_data(reply: Reply) -> Any:
    """The reply's content as one value: JSON parsed when it is JSON, else the text.

    Several text items (mcp 1.x FastMCP splits a returned list into one item per element)
    become a list; no text at all falls back to the structured content.
    """
    texts = [t for t in reply.get("texts") or [] if t is not None]
    if not texts:
        return reply.get("structured")
    if len(texts) == 1:
        return parse_json_text(texts[0])[1]
    parsed = [parse_json_text(t) for t in texts]
    if all(ok for ok, _ in parsed):
        return [v for _, v in parsed]
    return "\n".join(texts)


def unwrap_content_json(texts: list[str]) -> list[str]:
    """Texts that are a *serialized* MCP content list (``[{"type": "text", "text": …}]``,
    what FastMCP 4 makes of a tool returning content dicts) → the inner texts."""
    out: list[str] = []
    for text in texts:
        ok, value = parse_json_text(text)
        if ok and isinstance(value, list) and value and all(
            isinstance(i, dict) and i.get("type") == "text" and isinstance(i.get("text"), str) for i in value
        ):
            out += [i["text"] for i in value]
        else:
            out.append(text)
    return out


def error_in(data: Any) -> str | None:
    """An error a reply carries inside isError: false (``{"error": …}``), as text."""
    if isinstance(data, dict) and data.get("error"):
        err = data["error"]
        text = err if isinstance(err, str) else json.dumps(err, default=str)
        hint = data.get("hint")
        return f"{text} (hint: {hint})" if isinstance(hint, str) and hint else text
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict) and set(data[0]) == {"error"}:
        return error_in(data[0])
    return None


def find_id(data: Any, keys: tuple[str, ...], pattern: re.Pattern[str], depth: int = 4) -> str | None:
    """The first value under one of ``keys`` that looks like an id (depth-first, bounded)."""
    if depth < 0:
        return None
    if isinstance(data, dict):
        for key in keys:
            value = data.get(key)
            if isinstance(value, str) and pattern.match(value):
                return value
        for value in data.values():
            found = find_id(value, keys, pattern, depth - 1)
            if found:
                return found
    elif isinstance(data, list):
        for value in data[:5]:
            found = find_id(value, keys, pattern, depth - 1)
            if found:
                return found
    return None


def reader(
    *,
    rows: str | bool | None = None,
    one: str | None = None,
    flow: bool = False,
    hunt: bool = False,
    error_text: re.Pattern[str] | None = None,
    check: Callable[[Any], str | None] | None = None,
    prefix_json: bool = False,
    content_json: bool = False,
) -> Reader:
    """Build a reply reader.

    ``rows``: True when the reply is a JSON array of records, or the key of the list inside
    an object (``"results"``), or ``"*"`` for an object of lists to concatenate.
    ``one``: the key of a list holding the single record the tool fetched (the record
    becomes ``data``; an empty list leaves ``data`` None — no error is invented).
    ``flow`` / ``hunt``: look for a flow / hunt id in the reply.
    ``error_text``: a pattern that marks a plain-text reply as an error.
    ``check``: a last look at the parsed data; returns an error text or None.
    ``prefix_json``: the text may be ``"Some words:\\n{json}"``; parse the JSON after the line.
    ``content_json``: the text may be a serialized content list (see :func:`unwrap_content_json`).
    """

    def read(reply: Reply) -> Result:
        raw = raw_of(reply)
        texts = [t for t in reply.get("texts") or [] if isinstance(t, str)]
        if content_json:
            texts = unwrap_content_json(texts)
            reply = {**reply, "texts": texts}
        joined = "\n".join(texts).strip()
        if reply.get("is_error"):
            return Result(ok=False, error=joined or "the server flagged an error with no text", raw=raw)
        data = reply_data(reply)
        if isinstance(data, str) and error_text is not None and error_text.search(data.strip()):
            return Result(ok=False, error=data.strip(), data=data, raw=raw)
        if isinstance(data, str) and prefix_json and "\n" in data:
            head, _, body = data.partition("\n")
            ok, parsed = parse_json_text(body)
            if ok:
                data = parsed
        err = error_in(data)
        if err is None and check is not None:
            err = check(data)
        if err is not None:
            return Result(ok=False, error=err, data=data, raw=raw)
        result = Result(ok=True, data=data, raw=raw)
        if one is not None and isinstance(data, dict) and isinstance(data.get(one), list):
            records = data[one]
            result.rows = records
            result.data = records[0] if len(records) == 1 else (None if not records else records)
        elif rows is True and isinstance(data, list):
            result.rows = data
        elif rows == "*" and isinstance(data, dict):
            result.rows = [r for v in data.values() if isinstance(v, list) for r in v]
        elif isinstance(rows, str) and isinstance(data, dict) and isinstance(data.get(rows), list):
            result.rows = data[rows]
        if flow:
            result.flow_id = find_id(data, ("flow_id", "FlowId", "session_id"), FLOW_ID)
        if hunt:
            result.hunt_id = find_id(data, ("hunt_id", "HuntId"), HUNT_ID)
        return result

    return read


def text_reader(error_text: re.Pattern[str] | None = None) -> Reader:
    """For tools whose success is free text (markdown, YAML)."""
    return reader(error_text=error_text)


# ---------------------------------------------------------------------------- resources


_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def match_template(template: str, uri: str) -> dict[str, str] | None:
    """The variables of ``uri`` under a URI template like ``velociraptor://hunts/{hunt_id}``."""
    pattern = "".join(
        f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part)
        for i, part in enumerate(_VAR.split(template))
    )
    m = re.fullmatch(pattern, uri)
    return m.groupdict() if m else None


# ---------------------------------------------------------------------------- commands


class NoCommand(Exception):
    """A profile cannot build a command line (e.g. a non-PyPI SUT without --sut-command)."""


def user_command(sut: str, sut_command: list[str] | None, module: str | None = None) -> list[str]:
    """The argv a user gave with --sut-command, already split.

    A single existing directory is taken as a venv: ``<venv>/bin/python -m <module>``.
    """
    if not sut_command:
        raise NoCommand(
            f"SUT {sut} is not installed by the suite: give its command line, e.g. "
            f'--sut {sut} --sut-command "python -m {module or sut}" (or the path of its venv)'
        )
    if len(sut_command) == 1 and Path(sut_command[0]).is_dir():
        if module is None:
            raise NoCommand(f"SUT {sut}: --sut-command {sut_command[0]} is a directory; give the server's command")
        return [str(Path(sut_command[0]) / "bin" / "python"), "-m", module]
    return list(sut_command)


# ---------------------------------------------------------------------------- validation


def _closest(name: str, names: list[str]) -> str:
    import difflib

    near = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f"closest: {', '.join(near)}" if near else f"known: {', '.join(names)}"


def profile_problems(profile: "Profile") -> list[str]:
    """Every key of a profile that names nothing canonical (support/contract.py), one line each
    with the closest canonical names: a ``tools`` key that is no canonical tool, a
    ``resources`` key that is no canonical URI template, a ``prompts`` key that is no canonical
    prompt, a ``known_defects`` key whose part before ``::`` is no matrix row (a tool,
    ``resource:<uri>``, ``prompt:<name>`` or ``server:hygiene``). Such a key was accepted, and
    the capability just skipped or the defect never applied. Empty when all is well."""
    problems = []
    for attr, names, kind in (("tools", list(contract.TOOLS), "tool"),
                              ("resources", list(contract.RESOURCES), "resource"),
                              ("prompts", list(contract.PROMPTS), "prompt")):
        for key in getattr(profile, attr):
            if key not in names:
                problems.append(f"{attr} key {key!r} is no canonical {kind}; {_closest(key, names)}")
    rows = contract.matrix_rows()
    for key in profile.known_defects:
        row = key.split("::", 1)[0]
        if row not in rows:
            problems.append(f"known_defects key {key!r} names no canonical tool, resource:<uri> or prompt:<name> "
                            f"({row!r}); {_closest(row, rows)}")
    return problems


# ---------------------------------------------------------------------------- the base class


class Profile:
    """Shared behaviour of every SUT profile; subclasses only declare."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    requirements: ClassVar[tuple[str, ...] | None] = None
    tools: ClassVar[dict[str, ToolMap]] = {}
    resources: ClassVar[dict[str, str]] = {}
    resource_reader: ClassVar[Reader | None] = None
    prompts: ClassVar[dict[str, str]] = {}
    known_defects: ClassVar[dict[str, str]] = {}

    # -- the process

    def command(self, venv: Path | None, api_config: Path, sut_command: list[str] | None = None
                ) -> tuple[list[str], dict[str, str]]:
        """The server's argv and the environment it needs (beyond PATH/HOME/LANG)."""
        raise NotImplementedError

    def launch_argv(self, venv: Path | None, sut_command: list[str] | None, default: list[str],
                    module: str | None = None) -> list[str]:
        """The user's --sut-command when given, else ``default`` run from the SUT's own venv
        (its first word names an executable in the venv's bin)."""
        if sut_command:
            return user_command(self.name, sut_command, module=module)
        assert venv is not None, f"SUT {self.name} needs its venv"
        from support.sut.install import venv_bin

        return [str(venv_bin(venv, default[0])), *default[1:]]

    @property
    def installable(self) -> bool:
        return bool(self.requirements)

    # -- tools

    def supports(self, tool: str) -> bool:
        """Whether the SUT has a canonical capability: a tool name, ``resource:<canonical URI
        template>`` or ``prompt:<name>`` (the row keys of the coverage matrix)."""
        kind, sep, rest = tool.partition(":")
        if sep and kind == "resource":
            return rest in self.resources
        if sep and kind == "prompt":
            return rest in self.prompts
        if tool in contract.SERVER_ROWS:
            return True
        return tool in self.tools

    def sut_tool(self, tool: str) -> str:
        return self._map(tool).tool

    def map_call(self, tool: str, kwargs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(SUT tool name, SUT arguments) for a canonical call; Unsupported when it cannot be made."""
        entry = self._map(tool)
        clean = {k: v for k, v in kwargs.items() if v is not None}
        mapped = (entry.args or passthrough)(clean)
        if isinstance(mapped, tuple):
            return mapped[0], mapped[1]
        return entry.tool, mapped

    def read_reply(self, tool: str, reply: Reply, sut_tool: str | None = None) -> Result:
        entry = self._map(tool)
        result = (entry.read or reader())(reply)
        result.tool = sut_tool or entry.tool
        return result

    # -- resources and prompts

    def resource_uri(self, canonical_uri: str) -> str:
        """The SUT's URI for a canonical resource URI (Unsupported when it has none)."""
        for canonical, own in self.resources.items():
            values = match_template(canonical, canonical_uri)
            if values is not None:
                return _VAR.sub(lambda m: values[m.group(1)], own)
        raise Unsupported(f"SUT {self.name} has no resource {canonical_uri}")

    def read_resource_reply(self, reply: Reply) -> Result:
        """A resource body: JSON (rows from its first list of records) or text."""
        texts = reply.get("texts") or []
        data: Any = reply_data({"texts": texts}) if texts else None
        err = error_in(data)
        result = Result(ok=err is None, error=err, data=data, raw=mask_obj(reply))
        if err is None and isinstance(data, dict):
            for value in data.values():
                if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                    result.rows = value
                    break
        elif err is None and isinstance(data, list):
            result.rows = data
        return result

    def prompt_name(self, name: str) -> str:
        if name not in self.prompts:
            raise Unsupported(f"SUT {self.name} has no prompt {name}")
        return self.prompts[name]

    def read_prompt_reply(self, reply: Reply) -> Result:
        messages = reply.get("messages") or []
        return Result(ok=bool(messages), error=None if messages else "the prompt rendered no message",
                      data="\n".join(messages), raw=mask_obj(reply))

    # -- defects

    def defect(self, tool: str, scenario: str | None = None, example: dict[str, str] | None = None,
               whole_tool: bool = True) -> str | None:
        """The known-defect reason for a tool (or one scenario of it, or one outline row), if any.

        ``whole_tool=False`` ignores a defect keyed by the tool alone."""
        for value in (example or {}).values():
            if f"{tool}::{scenario}::{value}" in self.known_defects:
                return self.known_defects[f"{tool}::{scenario}::{value}"]
        if scenario is not None and f"{tool}::{scenario}" in self.known_defects:
            return self.known_defects[f"{tool}::{scenario}"]
        return self.known_defects.get(tool) if whole_tool else None

    def _map(self, tool: str) -> ToolMap:
        try:
            return self.tools[tool]
        except KeyError:
            raise Unsupported(f"SUT {self.name} has no {tool}") from None

    def __repr__(self) -> str:
        return f"<profile {self.name}: {len(self.tools)} canonical tools>"
