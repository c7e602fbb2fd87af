"""A stdio server reached over Streamable HTTP through a kept bridge, mcp-proxy (PyPI), and
driven by the spec with ``--sut NAME --sut-url URL`` (issue 14 §3). Opt-in: skipped unless
mcp-proxy is installed (on PATH, or ``RAPTORSPEC_MCP_PROXY=/path/to/mcp-proxy``).

mcp-proxy 0.13 requires ``mcp<2`` and the suite ``mcp>=2``, so it cannot share the project's
venv (pip: ResolutionImpossible); install it as a tool of its own: ``pipx install mcp-proxy``
or ``uv tool install mcp-proxy``, as its README says.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from support import procs
from support.httpserve import outcome_counts, run_spec, serving
from support.sut.install import ensure_venv
from support.sut.selection import get_profile

ROOT = Path(__file__).resolve().parents[1]

MCP_PROXY = os.environ.get("RAPTORSPEC_MCP_PROXY") or shutil.which("mcp-proxy")
SUT = "velociraptor-mcp-server"
SLICE = ("features/vql/run_vql.feature", "features/clients/list_clients.feature")

pytestmark = pytest.mark.skipif(
    not MCP_PROXY, reason="mcp-proxy is not installed: `pipx install mcp-proxy` (a venv of its own: it needs mcp<2), "
                          "or set RAPTORSPEC_MCP_PROXY=/path/to/mcp-proxy")


def bridge_argv(proxy: str, server: list[str], env: dict[str, str]) -> list[str]:
    """mcp-proxy's command line that serves the stdio ``server`` (argv, with ``env``) over
    Streamable HTTP at ``http://127.0.0.1:<a free port>/mcp`` (also SSE at ``/sse``)."""
    pairs = [x for key, value in env.items() for x in ("--env", key, value)]
    return [proxy, "--host", "127.0.0.1", "--port", "0", *pairs, "--", *server]


@pytest.mark.lab
@pytest.mark.timeout(900)
def test_a_pypi_stdio_server_runs_a_slice_of_the_spec_over_http_through_mcp_proxy(lab, tmp_path):
    profile = get_profile(SUT)
    server, env = profile.command(ensure_venv(profile), Path(lab.api_config))
    argv = bridge_argv(str(MCP_PROXY), server, env)
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    proxy_env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    with serving(argv, env=proxy_env, cwd=tmp_path, log=tmp_path / "mcp-proxy.log",
                 url=r"Uvicorn running on (http://127\.0\.0\.1:\d+)", what=f"mcp-proxy in front of {SUT}") as bridge:
        pgid = bridge.pgid
        done, summary = run_spec(SLICE, SUT, bridge.url + "/mcp", lab.api_config, tmp_path / "slice.log")
        found = outcome_counts(summary)
        assert done.returncode == 0 and not (found.keys() & {"failed", "error", "xpassed"}), (
            f"the slice failed against {SUT} through mcp-proxy ({summary}):\n{done.stdout[-6000:]}\n"
            f"{done.stderr[-2000:]}\nbridge log:\n{bridge.log_tail()}")
        assert found.get("passed", 0) >= 3, f"too little of the slice ran: {summary}\n{done.stdout[-3000:]}"
        assert "velociraptor-mcp" in bridge.log_tail(400), "the bridge did not start the SUT"
    assert not procs.group_members(pgid), "mcp-proxy's process group (it and the SUT) outlived the stop"
    # the bridge changes nothing: the same slice over stdio ends the same way
    _, direct = run_spec(SLICE, SUT, None, lab.api_config, tmp_path / "slice-stdio.log")
    assert outcome_counts(direct) == found, f"over stdio: {direct}; through mcp-proxy: {summary}"
