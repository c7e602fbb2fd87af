"""The canonical vocabulary of ``@tool:`` tags, for the report: re-exported from
:mod:`support.contract` (the one place the contract's names are written)."""
from __future__ import annotations

from support.contract import (  # noqa: F401 (the report's names for them)
    PROMPTS,
    RESOURCES,
    TOOL_FAMILIES,
    TOOLS,
    matrix_groups,
    matrix_rows,
)
