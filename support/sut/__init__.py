"""Servers under test: MCP sessions (session.py), isolated installs (install.py), profiles
mapping canonical tools onto each server (profiles/), the SUT selection (selection.py: which SUTs a run uses, and their profiles by name) and
the pytest plugin that runs every scenario once per SUT (plugin.py)."""
from support.sut.base import Result, Unsupported

__all__ = ["Result", "Unsupported"]
