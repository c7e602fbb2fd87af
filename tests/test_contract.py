"""support/contract.py holds the canonical names once; everything else takes them from there,
and they match the contract file when it is beside the clone (../shared/contracts/, as in CI)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from support import contract, discovery, prompts

ROOT = Path(__file__).resolve().parents[1]
#: Where the contract file may be: beside the clone (CI), or beside the worktrees' parent.
CANDIDATES = [ROOT.parent / "shared" / "contracts" / "megaraptor-mcp-tools.md",
              ROOT.parent.parent / "shared" / "contracts" / "megaraptor-mcp-tools.md"]


@pytest.fixture(scope="module")
def contract_text() -> str:
    found = next((p for p in CANDIDATES if p.is_file()), None)
    if found is None:
        pytest.skip(f"the contract file is not beside this clone (looked at {', '.join(map(str, CANDIDATES))})")
    return found.read_text()


def _tables(text: str) -> dict[str, list[list[str]]]:
    """Section title -> its table rows (cells), header and rule rows left out."""
    out: dict[str, list[list[str]]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("|") and not set(line) <= set("|-: "):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] != "tool":
                out.setdefault(section, []).append(cells)
    return out


def test_the_tools_are_the_contracts_in_its_order(contract_text):
    tables = _tables(contract_text)
    written = [row[0] for rows in tables.values() for row in rows]
    assert tuple(written) == contract.TOOLS
    for family, names in contract.TOOL_FAMILIES:
        section = next(s for s in tables if s.startswith(family))
        assert tuple(r[0] for r in tables[section]) == names, family


def test_the_resources_are_the_contracts(contract_text):
    section = contract_text.split("## Resources", 1)[1].split("## ", 1)[0]
    assert tuple(re.findall(r"`(velociraptor://[^`]+)`", section)) == contract.RESOURCES


def test_the_prompts_and_their_required_arguments_are_the_contracts(contract_text):
    section = contract_text.split("## Prompts", 1)[1].split("## ", 1)[0]
    written = {}
    for name, args in re.findall(r"(\w+)\(([^)]*)\)", section):
        written[name] = tuple(a.strip() for a in args.split(",") if a.strip() and "=" not in a)
    assert written == contract.PROMPT_ARGUMENTS


def test_the_defaults_are_the_contracts(contract_text):
    tables = _tables(contract_text)
    params = {row[0]: row[1] for rows in tables.values() for row in rows}
    for tool, defaults in contract.DEFAULTS.items():
        for name, value in defaults.items():
            want = f'"{value}"' if isinstance(value, str) else str(value)
            assert re.search(rf"\b{name}: \w+ = {re.escape(want)}", params[tool]), (tool, name, params[tool])


def test_everyone_takes_the_names_from_the_contract_module():
    from support.report import canonical
    from support.sut.profiles import CANONICAL_DEFAULTS
    from support.sut.profiles.megaraptor import PROFILE

    assert canonical.TOOLS is contract.TOOLS and canonical.matrix_rows() == contract.matrix_rows()
    assert set(PROFILE.tools) == set(contract.TOOLS)
    assert tuple(PROFILE.resources) == contract.RESOURCES and tuple(PROFILE.prompts) == contract.PROMPTS
    assert CANONICAL_DEFAULTS is contract.DEFAULTS
    assert prompts.REQUIRED is contract.PROMPT_ARGUMENTS and set(prompts.NAMES.values()) == set(contract.PROMPTS)
    for tool in contract.CORE_TOOLS:  # discovery knows typical arguments for every core tool
        discovery.typical_arguments(tool, "C.1", "raptorspec-x")


def test_the_matrix_has_every_tool_resource_and_prompt_once():
    rows = contract.matrix_rows()
    assert len(rows) == len(set(rows)) == 35 + 10 + 8 + len(contract.SERVER_ROWS)
    assert len(contract.CORE_TOOLS) == 17 and len(contract.DEPLOYMENT_TOOLS) == 18
