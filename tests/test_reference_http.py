"""A slice of the spec against the reference server over Streamable HTTP (issue 14 §3):
the reference started with ``--transport http`` on a free 127.0.0.1 port, the spec driven
through ``--sut reference --sut-url URL`` on this session's lab (as ``--lab external``),
then the server stopped and nothing of it left running."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from support import procs
from support.httpserve import outcome_counts, run_spec, serving

ROOT = Path(__file__).resolve().parents[1]
SLICE = ("features/vql/run_vql.feature", "features/clients/label_client.feature")
#: Seconds the slice may take in its subprocess (it ran in about a minute and a half here).
SLICE_TIMEOUT = 600


def server_env(api_config: Path | str) -> dict[str, str]:
    """The environment of the server: PATH, HOME, LANG, the lab's API config, the repository."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
            "VELOCIRAPTOR_API_CONFIG": str(api_config), "PYTHONPATH": str(ROOT)}


def test_a_summary_line_becomes_counts():
    assert outcome_counts("1 failed, 12 passed, 3 skipped, 2 errors in 80.1s") == {
        "failed": 1, "passed": 12, "skipped": 3, "error": 2}
    assert outcome_counts("no tests ran in 0.01s") == {}


@pytest.mark.lab
@pytest.mark.timeout(SLICE_TIMEOUT + 120)
def test_the_reference_passes_a_slice_of_the_spec_over_http(lab, tmp_path):
    argv = [sys.executable, "-m", "reference", "--transport", "http", "--config", str(lab.api_config)]
    with serving(argv, env=server_env(lab.api_config), cwd=ROOT, log=tmp_path / "reference.log",
                 url=r"listening on (http://127\.0\.0\.1:\d+/mcp)", what="the reference server over http") as server:
        assert server.url.startswith("http://127.0.0.1:")
        done, summary = run_spec(SLICE, "reference", server.url, lab.api_config, tmp_path / "slice.log", SLICE_TIMEOUT)
        pgid = server.pgid
        found = outcome_counts(summary)
        assert done.returncode == 0 and not (found.keys() & {"failed", "error", "xpassed"}), (
            f"the slice failed against the reference over http ({summary}):\n{done.stdout[-6000:]}\n"
            f"{done.stderr[-2000:]}\nserver log:\n{server.log_tail()}")
        assert found.get("passed", 0) >= 10, f"too little of the slice ran: {summary}\n{done.stdout[-3000:]}"
    assert not procs.group_members(pgid), "the reference server's process group outlived the stop"
