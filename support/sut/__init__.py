"""Servers under test: MCP sessions (session.py), isolated installs (install.py), profiles
mapping canonical tools onto each server (profiles/), the SUT registry (registry.py) and
the pytest plugin that runs every scenario once per SUT (plugin.py)."""
from support.sut.base import Result, Unsupported

__all__ = ["Result", "Unsupported"]
