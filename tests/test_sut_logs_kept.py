"""A failure message that names a SUT's log still points at a file after the run.

SUT logs live in ``<lab dir>/suts/<name>/stderr.log`` and the lab directory is removed at
the run's end; the closing lab copies them (masked) into ``<report folder>/sut-logs/`` and
the report names the copy.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support.lab import EmbeddedLab
from support.lab import base as lab_base
from support.secrets import register_secret

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDkq3lQ0s9+\n-----END PRIVATE KEY-----"


def test_a_closing_lab_keeps_its_suts_logs_masked(velociraptor_binary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    register_secret(KEY)
    monkeypatch.setattr(lab_base, "SUT_LOGS_TO", tmp_path / "report" / "sut-logs")
    monkeypatch.setattr(lab_base, "_SUT_LOGS_CLEARED", False)
    lab = EmbeddedLab(velociraptor_binary, base_dir=tmp_path / "labs")
    log = lab.dir / "suts" / "alpha" / "stderr.log"
    log.parent.mkdir(parents=True)
    log.write_text(f"Traceback: boom\nkey was {KEY}\n")
    message = f"SUT alpha exited (code 1); its stderr: {log}"
    lab.close()
    assert not lab.dir.exists()
    moved = lab_base.sut_log_copy(message)
    copy = Path(moved.rsplit(": ", 1)[1])
    assert copy.is_file() and copy.is_relative_to(tmp_path / "report"), moved
    text = copy.read_text()
    assert "Traceback: boom" in text and "MIIE" not in text


_CONFTEST = '''
import shutil
from pathlib import Path

import pytest

from support.lab import base

LAB = Path(__file__).parent / "raptorspec-lab-x"


@pytest.fixture(scope="session")
def lab():
    (LAB / "suts" / "alpha").mkdir(parents=True)
    (LAB / "suts" / "alpha" / "stderr.log").write_text("alpha: listening failed\\n")
    base.LAB_DIRS.append(LAB.resolve())
    yield LAB
    base.keep_sut_logs(LAB.resolve())      # what EmbeddedLab.close does
    shutil.rmtree(LAB)
'''

_TEST = '''
from pytest_bdd import scenarios, when, then

scenarios("features")

@when("the server under test dies")
def _(lab):
    pass

@then("the message names its log")
def _(lab):
    raise AssertionError(f"SUT alpha exited (code 1); its stderr: {lab.resolve()}/suts/alpha/stderr.log")
'''


def test_the_report_names_the_kept_copy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    (pytester.path / "features").mkdir()
    (pytester.path / "features" / "dies.feature").write_text(
        "Feature: Dying\n  Scenario: A SUT dies\n    When the server under test dies\n    Then the message names its log\n")
    pytester.makeconftest(_CONFTEST)
    pytester.makepyfile(test_spec=_TEST)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "support.report.plugin", "-p", "no:cacheprovider", "-p", "no:randomly",
                                           "--report", "out/index.html")
    result.assert_outcomes(failed=1)
    row = json.loads((pytester.path / "out" / "results.json").read_text())["scenarios"][0]
    named = row["message"].rsplit(": ", 1)[1].strip()
    assert Path(named).is_file(), f"the report names {named}, which is not there"
    assert Path(named).read_text() == "alpha: listening failed\n"
    result.stdout.fnmatch_lines(["*SUTs' logs (stderr.log) are kept in*sut-logs*"])


def test_an_external_lab_keeps_its_suts_logs_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The external (and docker) lab removed its directory, SUT logs included, without a copy."""
    from support.lab.external import ExternalLab

    monkeypatch.setattr(lab_base, "SUT_LOGS_TO", tmp_path / "report" / "sut-logs")
    monkeypatch.setattr(lab_base, "_SUT_LOGS_CLEARED", False)
    api = tmp_path / "api_client.yaml"
    api.write_text("ca_certificate: ca\nclient_cert: cert\nclient_private_key: " + json.dumps(KEY) + "\n"
                   "api_connection_string: 127.0.0.1:1\n")
    lab = ExternalLab(api)
    log = lab.dir / "suts" / "gw0" / "alpha" / "stderr.log"
    log.parent.mkdir(parents=True)
    log.write_text(f"Traceback: boom\nkey was {KEY}\n")
    lab.close()
    assert not lab.dir.exists()
    copy = Path(lab_base.sut_log_copy(str(log)))
    assert copy.is_file() and copy.is_relative_to(tmp_path / "report"), copy
    assert "Traceback: boom" in copy.read_text() and "MIIE" not in copy.read_text()


def test_the_docker_lab_keeps_its_suts_logs_when_it_closes(velociraptor_binary, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    """Its directory is removed at close like the others'; the logs are copied first (no docker
    needed: a lab that was never brought up closes the same way)."""
    from support.lab.docker import DockerLab

    class Engine:
        def ensure(self) -> None:
            pass

        def stop(self) -> None:
            pass

    monkeypatch.setattr(lab_base, "SUT_LOGS_TO", tmp_path / "report" / "sut-logs")
    monkeypatch.setattr(lab_base, "_SUT_LOGS_CLEARED", False)
    lab = DockerLab(velociraptor_binary, run_id="t2", compose="true", engine=Engine(), base_dir=tmp_path / "labs")
    log = lab.dir / "suts" / "alpha" / "stderr.log"
    log.parent.mkdir(parents=True)
    log.write_text("Traceback: boom\n")
    lab.close()
    assert not lab.dir.exists()
    copy = Path(lab_base.sut_log_copy(str(log)))
    assert copy.is_file() and copy.read_text() == "Traceback: boom\n", copy


def test_a_killed_runs_external_scratch_directory_is_removed_by_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An external lab's scratch directory (SUT logs, cwd, home) had no owner: a run killed
    before its close (a mutant's timeout, kill -9) left it in /tmp for good (nine were found)."""
    import subprocess
    import sys
    import tempfile

    from support.lab.external import ExternalLab

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)   # re-read TMPDIR
    api = tmp_path / "api_client.yaml"
    api.write_text("ca_certificate: ca\nclient_cert: cert\nclient_private_key: " + json.dumps(KEY) + "\n"
                   "api_connection_string: 127.0.0.1:1\n")
    killed = subprocess.run([sys.executable, "-c", "import os, sys\nsys.path.insert(0, sys.argv[1])\n"
                             "from support.lab.external import ExternalLab\nlab = ExternalLab(sys.argv[2])\n"
                             "print(lab.dir, flush=True)\nos._exit(9)\n", str(ROOT), str(api)],
                            capture_output=True, text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    left = Path(killed.stdout.strip())
    assert left.is_dir() and left.parent == tmp_path, killed
    lab = ExternalLab(api)
    try:
        assert not left.exists(), "the killed run's scratch directory is still there"
        assert lab.dir.is_dir()
    finally:
        lab.close()


def test_a_flooded_sut_log_is_kept_capped_with_its_start_and_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A server that floods stderr left a 21 MB copy per run beside the report; the copy keeps
    the start-up and the end (where a failure's cause is) and says how much it left out."""
    monkeypatch.setattr(lab_base, "SUT_LOGS_TO", tmp_path / "report" / "sut-logs")
    monkeypatch.setattr(lab_base, "_SUT_LOGS_CLEARED", False)
    monkeypatch.setattr(lab_base, "SUT_LOG_HEAD", 1000)
    monkeypatch.setattr(lab_base, "SUT_LOG_TAIL", 2000)
    log = tmp_path / "lab" / "suts" / "flood" / "stderr.log"
    log.parent.mkdir(parents=True)
    log.write_text("started\n" + "x" * 10_000 + "\nTraceback: the end\n")
    (copy,) = lab_base.keep_sut_logs(tmp_path / "lab")
    text = copy.read_text()
    assert text.startswith("started\n") and text.endswith("Traceback: the end\n")
    assert "bytes of this log left out of the kept copy; it was 10028 bytes]" in text
    assert len(text) < 3200
