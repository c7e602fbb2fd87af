"""Root conftest: loads the suite's plugins and every step module (steps are fixtures, so
they are visible only where loaded as plugins)."""
from pathlib import Path

import pytest

pytest.register_assert_rewrite("support", "steps")

_STEPS = sorted(p.stem for p in (Path(__file__).parent / "steps").glob("*.py") if not p.stem.startswith("_"))

pytest_plugins = [
    "support.plugin",       # options, tags, the oracle fixture, live Gherkin progress
    "support.lab.plugin",   # --lab/--clients/…: the lab, its settings fixtures (docker's too)
    "support.sut.plugin",   # --sut, SUT sessions and profiles, per-SUT skip/xfail
    "support.report.plugin",  # the living-documentation report
    "support.ledger",       # ledger / ledger_book fixtures: what a scenario made, the session's leak audit
    "support.targets",      # targets fixture: the lab's enrolled clients by OS
] + [f"steps.{name}" for name in _STEPS]

# pytest-docker's settings, overridden for --lab docker. Overrides must live in a conftest:
# fixtures of an installed plugin (pytest-docker's entry point) win over another plugin's.
from support.lab.plugin import (  # noqa: E402,F401
    docker_cleanup,
    docker_compose_command,
    docker_compose_file,
    docker_compose_project_name,
    docker_setup,
)
