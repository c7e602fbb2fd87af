"""Argument coverage of the contract: every argument of every canonical tool → the scenarios
whose Then fails when a server ignores that argument, replaces it by its default, or alters it.

How a scenario claims an argument: the tag ``@arg:<argument>`` on the scenario (or its Rule,
or its feature), next to its ``@tool:<tool>`` tag; the argument belongs to the scenario's tool
(to each row's tool when an Examples column ``tool`` names it). A claim says "this scenario's
Then looks, in Velociraptor, at the effect of that argument". Two checks keep claims honest:

* statically (:func:`matrix`, ``tests/test_coverage.py``): a claim names an argument of its
  tool (:data:`ARGUMENTS`, the contract's parameters); every argument is claimed by at least
  one scenario or listed with a reason in ``support/coverage_exceptions.yaml``; an exception
  for an argument a scenario claims is stale and fails too;
* at run time (:func:`unsent_claims`, called after each scenario that ran all its steps): the
  scenario did call the tool with that argument (``ledger.calls``, the canonical arguments the
  scenario sent to the server under test), and with a value other than the contract's default
  (:data:`support.contract.DEFAULTS`) — a claim sent with the default value could not notice a
  server that replaces it by the default.

``python -m support.coverage`` prints the matrix (``--json`` for the structure,
``--uncovered`` for what is missing); :func:`matrix` gives it to the report.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from support.contract import DEFAULTS, TOOL_FAMILIES, TOOLS

ROOT = Path(__file__).resolve().parents[1]
FEATURES_DIR = ROOT / "features"
EXCEPTIONS_FILE = Path(__file__).resolve().with_name("coverage_exceptions.yaml")
TAG_PREFIX = "arg:"

#: The contract's parameters of each canonical tool, in its order
#: (../shared/contracts/megaraptor-mcp-tools.md; ``tests/test_coverage.py`` compares them with it).
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "list_clients": ("search", "limit"),
    "get_client_info": ("client_id",),
    "label_client": ("client_id", "labels", "operation"),
    "quarantine_client": ("client_id", "quarantine", "message"),
    "list_artifacts": ("search", "artifact_type", "limit"),
    "get_artifact": ("artifact_name",),
    "collect_artifact": ("client_id", "artifacts", "parameters", "timeout", "urgent"),
    "create_hunt": ("artifacts", "description", "parameters", "include_labels", "exclude_labels", "os_filter",
                    "timeout", "expires_hours", "paused"),
    "list_hunts": ("state", "limit"),
    "get_hunt_results": ("hunt_id", "artifact", "limit"),
    "modify_hunt": ("hunt_id", "action"),
    "list_flows": ("client_id", "limit"),
    "get_flow_results": ("client_id", "flow_id", "artifact", "limit"),
    "get_flow_status": ("client_id", "flow_id"),
    "cancel_flow": ("client_id", "flow_id"),
    "run_vql": ("query", "env", "max_rows", "org_id"),
    "vql_help": ("topic",),
    "deploy_server": ("deployment_type", "profile", "server_hostname", "gui_port", "frontend_port", "target_host",
                      "ssh_user", "ssh_key_path"),
    "deploy_server_docker": ("profile", "server_hostname", "gui_port", "frontend_port", "memory_limit", "cpu_limit"),
    "deploy_server_cloud": ("cloud_provider", "profile", "region", "instance_type", "server_hostname"),
    "get_deployment_status": ("deployment_id",),
    "destroy_deployment": ("deployment_id", "confirm"),
    "list_deployments": ("profile_filter", "include_destroyed"),
    "generate_agent_installer": ("deployment_id", "os_type", "installer_type", "labels"),
    "create_offline_collector": ("artifacts", "target_os", "artifact_set", "encrypt_output", "deployment_id"),
    "generate_gpo_package": ("deployment_id", "domain_controller", "labels"),
    "generate_ansible_playbook": ("deployment_id", "include_windows", "include_linux", "include_macos", "labels"),
    "deploy_agents_winrm": ("deployment_id", "targets", "username", "password", "labels", "use_ssl", "port"),
    "deploy_agents_ssh": ("deployment_id", "targets", "username", "key_path", "password", "target_os", "labels",
                          "port"),
    "check_agent_deployment": ("deployment_id", "client_search", "labels"),
    "generate_server_config": ("deployment_id", "output_format"),
    "generate_api_credentials": ("deployment_id", "client_name", "validity_days"),
    "rotate_certificates": ("deployment_id", "rotate_ca", "validity_days"),
    "validate_deployment": ("deployment_id",),
    "export_deployment_docs": ("deployment_id", "output_path"),
}

#: Every argument name some tool takes (an ``@arg:`` tag naming none of them is unknown).
ALL_ARGUMENTS: frozenset[str] = frozenset(a for names in ARGUMENTS.values() for a in names)


@dataclass(frozen=True)
class Claim:
    """One scenario's claim on one argument of one tool."""

    tool: str
    argument: str
    file: str      # the feature file, relative to the repository root
    line: int      # the scenario's line
    title: str     # the scenario's title (an Outline's template title)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "title": self.title}


def claimed_arguments(tags: Iterable[str]) -> list[str]:
    """The argument names of the ``@arg:<name>`` tags among ``tags`` (written without the @)."""
    return sorted({t[len(TAG_PREFIX):] for t in tags if t.startswith(TAG_PREFIX)})


def is_arg_tag(tag: str) -> bool:
    """Whether ``tag`` (without the @) is a well-formed claim: ``arg:<an argument some tool takes>``."""
    return tag.startswith(TAG_PREFIX) and tag[len(TAG_PREFIX):] in ALL_ARGUMENTS


def _rel(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(path)


def _tools_of(tags: Iterable[str], template: Any) -> list[str]:
    tools = {t[len("tool:"):] for t in tags if t.startswith("tool:")}
    for examples in getattr(template, "examples", None) or []:
        params = list(examples.example_params)
        if "tool" in params:
            i = params.index("tool")
            tools |= {row[i] for row in examples.examples}
    return sorted(t for t in tools if t in ARGUMENTS)


def claims(features_dir: Path | str = FEATURES_DIR) -> tuple[list[Claim], list[str]]:
    """Every claim of every scenario under ``features_dir`` → (claims, problems).

    A problem is a line ``<file>:<line>: <what>`` for a claim that names no argument of the
    scenario's tool (or a scenario with claims and no canonical tool)."""
    from pytest_bdd.feature import get_features

    found: list[Claim] = []
    problems: list[str] = []
    for feature in get_features([str(features_dir)]):
        for template in feature.scenarios.values():
            rule_tags = set(getattr(getattr(template, "rule", None), "tags", None) or ())
            tags = set(feature.tags) | rule_tags | set(template.tags)
            for examples in getattr(template, "examples", None) or []:
                tags |= set(getattr(examples, "tags", None) or ())
            args = claimed_arguments(tags)
            if not args:
                continue
            where = f"{_rel(feature.filename)}:{template.line_number}"
            tools = _tools_of(tags, template)
            if not tools:
                problems.append(f"{where}: scenario {template.name!r} claims {args} but has no canonical tool")
                continue
            for arg in args:
                owners = [t for t in tools if arg in ARGUMENTS[t]]
                if not owners:
                    problems.append(f"{where}: scenario {template.name!r} claims @arg:{arg}, which "
                                    f"{' / '.join(tools)} does not take (it takes: "
                                    f"{', '.join(a for t in tools for a in ARGUMENTS[t])})")
                for tool in owners:
                    found.append(Claim(tool, arg, _rel(feature.filename), template.line_number, template.name))
    return found, problems


def exceptions(path: Path | str = EXCEPTIONS_FILE) -> dict[str, str]:
    """The listed uncovered arguments: ``{"tool.argument": reason}`` (empty when no file).

    Raises ValueError for a file that is not a mapping of strings to non-empty strings."""
    path = Path(path)
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                             for k, v in data.items()):
        raise ValueError(f"{path}: expected a mapping 'tool.argument: reason' with a non-empty reason each")
    return dict(data)


def matrix(features_dir: Path | str = FEATURES_DIR, exceptions_file: Path | str = EXCEPTIONS_FILE) -> dict[str, Any]:
    """The argument-coverage matrix, JSON-serialisable::

        {"families": [{"family": "Clients", "tools": [
            {"tool": "list_clients", "arguments": [
                {"argument": "search", "status": "covered" | "excepted" | "uncovered",
                 "scenarios": [{"file": "features/…", "line": 12, "title": "…"}],
                 "reason": "…" | None}]}]}],
         "totals": {"arguments": n, "covered": n, "excepted": n, "uncovered": n},
         "uncovered": ["tool.argument", …],
         "stale_exceptions": ["tool.argument", …],   # listed but claimed, or no such argument
         "problems": ["<file>:<line>: …", …]}         # claims naming no argument of their tool
    """
    found, problems = claims(features_dir)
    listed = exceptions(exceptions_file)
    by_key: dict[str, list[Claim]] = {}
    for c in found:
        by_key.setdefault(f"{c.tool}.{c.argument}", []).append(c)
    families = []
    totals = {"arguments": 0, "covered": 0, "excepted": 0, "uncovered": 0}
    uncovered = []
    for family, tools in TOOL_FAMILIES:
        rows = []
        for tool in tools:
            args = []
            for arg in ARGUMENTS[tool]:
                key = f"{tool}.{arg}"
                covering = sorted(by_key.get(key, []), key=lambda c: (c.file, c.line))
                status = "covered" if covering else "excepted" if key in listed else "uncovered"
                totals["arguments"] += 1
                totals[status] += 1
                if status == "uncovered":
                    uncovered.append(key)
                args.append({"argument": arg, "status": status, "scenarios": [c.as_dict() for c in covering],
                             "reason": listed.get(key) if not covering else None})
            rows.append({"tool": tool, "arguments": args})
        families.append({"family": family, "tools": rows})
    known = {f"{t}.{a}" for t in TOOLS for a in ARGUMENTS[t]}
    stale = sorted(k for k in listed if k in by_key or k not in known)
    return {"families": families, "totals": totals, "uncovered": uncovered, "stale_exceptions": stale,
            "problems": sorted(problems)}


def unsent_claims(claimed: Iterable[str], tools: Iterable[str], calls: Iterable[tuple[str, Mapping[str, Any]]]
                  ) -> list[str]:
    """The claims a scenario that ran to its end did not honour, one sentence each.

    ``claimed``: argument names of its ``@arg:`` tags; ``tools``: its canonical tool(s);
    ``calls``: ``(tool, canonical kwargs)`` of every call it made (``Ledger.calls``). A claim
    is honoured when some call of one of ``tools`` that takes the argument passed it with a
    value that is not None and not the contract's default."""
    calls = list(calls)
    tools = [t for t in tools if t in ARGUMENTS]
    wrong = []
    for arg in claimed:
        owners = [t for t in tools if arg in ARGUMENTS[t]]
        if not owners:
            wrong.append(f"@arg:{arg} names no argument of {' / '.join(tools) or 'its tool'}")
            continue
        sent = [(t, kw[arg]) for t, kw in calls if t in owners and kw.get(arg) is not None]
        telling = [(t, v) for t, v in sent if not (arg in DEFAULTS.get(t, {}) and v == DEFAULTS[t][arg])]
        if not sent:
            wrong.append(f"@arg:{arg}: the scenario never sent {arg} to {' / '.join(owners)}")
        elif not telling:
            wrong.append(f"@arg:{arg}: the scenario sent {arg} only with the contract's default "
                         f"{DEFAULTS[sent[0][0]][arg]!r}, which cannot tell a server that ignores it")
    return wrong


def render(m: Mapping[str, Any], *, uncovered_only: bool = False) -> str:
    """The matrix as text: one line per argument, its status and covering scenarios (or reason)."""
    out = []
    for fam in m["families"]:
        lines = []
        for row in fam["tools"]:
            for a in row["arguments"]:
                if uncovered_only and a["status"] != "uncovered":
                    continue
                mark = {"covered": "✓", "excepted": "–", "uncovered": "✗"}[a["status"]]
                what = ("; ".join(f"{s['file']}:{s['line']} {s['title']}" for s in a["scenarios"])
                        if a["scenarios"] else (a["reason"] or "UNCOVERED: no scenario claims it, no reason listed"))
                lines.append(f"  {mark} {row['tool']}.{a['argument']}: {what}")
        if lines:
            out.append(f"{fam['family']}\n" + "\n".join(lines))
    t = m["totals"]
    out.append(f"{t['arguments']} arguments: {t['covered']} covered, {t['excepted']} excepted (with a reason), "
               f"{t['uncovered']} uncovered")
    for key in m["stale_exceptions"]:
        out.append(f"stale exception (claimed by a scenario, or no such argument): {key}")
    out.extend(m["problems"])
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """``python -m support.coverage [--json] [--uncovered]``; exit 1 when something is
    uncovered, an exception is stale or a claim is wrong."""
    ap = argparse.ArgumentParser(prog="python -m support.coverage", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the matrix as JSON")
    ap.add_argument("--uncovered", action="store_true", help="only the uncovered arguments")
    args = ap.parse_args(argv)
    m = matrix()
    print(json.dumps(m, indent=2) if args.json else render(m, uncovered_only=args.uncovered))
    return 1 if (m["uncovered"] or m["stale_exceptions"] or m["problems"]) else 0


if __name__ == "__main__":
    sys.exit(main())
