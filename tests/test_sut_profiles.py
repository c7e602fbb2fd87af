"""The SUT profiles, registry and pytest plugin.

Fast: every profile's reader on recorded reply shapes (tests/sut_fakes/recorded_replies.py),
argument mapping, the registry's choice of SUTs, and — through pytester, the way pytest-bdd
tests itself — a scenario per outcome: pass, "SUT <name> has no <tool>" skip, strict xfail of
a known defect (and its XPASS failing). Slow: each PyPI server installs into its own venv
and lists its tools over MCP; the tool names and arguments its profile sends fit the
schemas it declares.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

from support.secrets import mask_obj
from support.sut.base import Unsupported
from support.sut.install import InstallError, ensure_venv, installed_versions, normalize, venv_dir
from support.sut.profiles import match_template, reader
from support.sut.selection import DEFAULT_SUTS, PROFILES, PYPI_SUTS, SutConfigError, get_profile, resolve_suts
from support.sut.session import SutSession
from sut_fakes.recorded_replies import CASES

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
FAKES = Path(__file__).parent / "sut_fakes"
FEATURES = ROOT / "features"
CANONICAL = PROFILES["megaraptor"]


# ---------------------------------------------------------------------------- readers


@pytest.mark.parametrize("sut,tool,what,reply,want", CASES, ids=[f"{c[0]}:{c[1]}:{c[2][:40]}" for c in CASES])
def test_reader_on_recorded_reply(sut, tool, what, reply, want):
    result = get_profile(sut).read_reply(tool, reply)
    assert result.ok is want["ok"], f"{what}: {result}"
    if "error_has" in want:
        assert want["error_has"] in (result.error or ""), result.error
    if want["ok"]:
        assert result.error is None
    if "rows" in want:
        assert len(result.rows or []) == want["rows"], result.rows
    if "flow_id" in want:
        assert result.flow_id == want["flow_id"]
    if "hunt_id" in want:
        assert result.hunt_id == want["hunt_id"]
    if "data" in want:
        assert result.data == want["data"]
    if "data_type" in want:
        assert isinstance(result.data, want["data_type"])
    if "data_has_key" in want:
        assert want["data_has_key"] in result.data
    assert result.tool == get_profile(sut).sut_tool(tool)
    assert result.raw["texts"] == mask_obj(reply["texts"])  # kept, masked, for the report


def test_is_error_true_is_never_ok_even_with_json_inside():
    result = reader(rows=True)({"is_error": True, "texts": ['[{"a": 1}]']})
    assert not result.ok and result.rows is None


def test_an_error_key_inside_a_success_reply_is_an_error():
    result = reader()({"is_error": False, "texts": ['{"error": "Client C.0 not found", "hint": "list them"}']})
    assert not result.ok and result.error == "Client C.0 not found (hint: list them)"


def test_reply_texts_are_masked_in_raw():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0t\n-----END RSA PRIVATE KEY-----"
    result = reader()({"is_error": False, "texts": [json.dumps({"key": pem})]})
    assert "MIIEowIBAAKCAQEAu1SU1" not in json.dumps(result.raw)


# ---------------------------------------------------------------------------- mapping


def test_every_profile_speaks_the_canonical_vocabulary():
    assert len(CANONICAL.tools) == 35 and len(CANONICAL.resources) == 10 and len(CANONICAL.prompts) == 8
    for profile in PROFILES.values():
        assert set(profile.tools) <= set(CANONICAL.tools), profile.name
        assert set(profile.resources) <= set(CANONICAL.resources), profile.name
        assert set(profile.prompts) <= set(CANONICAL.prompts), profile.name
        for key in profile.known_defects:  # tool, resource:<template> or prompt:<name>, then ::<title>
            assert CANONICAL.supports(key.partition("::")[0]), f"{profile.name}: defect of no canonical row: {key}"


def _scenario_titles() -> dict[str, set[str]]:
    """Canonical tool → titles of the scenarios tagged with it, read from features/."""
    titles: dict[str, set[str]] = {}
    for feature in FEATURES.rglob("*.feature"):
        feature_tools: list[str] = []
        pending: list[str] = []
        for line in feature.read_text().splitlines():
            text = line.strip()
            if text.startswith("@"):
                pending += [t[len("@tool:"):] for t in text.split() if t.startswith("@tool:")]
            elif text.startswith("Feature:"):
                feature_tools, pending = pending, []
            elif text.startswith(("Scenario:", "Scenario Outline:")):
                title = text.split(":", 1)[1].strip()
                for tool in feature_tools + pending:
                    titles.setdefault(tool, set()).add(title)
                pending = []
    return titles


@pytest.mark.skipif(not FEATURES.is_dir(), reason="no features/ to check the defect keys against")
def test_known_defects_name_existing_scenarios():
    titles = _scenario_titles()
    stale = [(p.name, key) for p in PROFILES.values() for key in p.known_defects
             if "::" in key and key.split("::")[1] not in titles.get(key.split("::")[0], set())]
    assert not stale, f"known_defects keys naming no scenario (renamed?): {stale}"


def test_canonical_arguments_pass_through_megaraptor_without_nones():
    assert CANONICAL.map_call("label_client", {"client_id": "C.1", "labels": ["a"], "operation": None}) == (
        "label_client", {"client_id": "C.1", "labels": ["a"]})


@pytest.mark.parametrize("sut,tool,kwargs,want", [
    ("velociraptor-mcp-server", "list_clients", {}, ("list_clients", {"limit": 100, "offset": 0})),
    ("velociraptor-mcp-server", "list_clients", {"search": "label:case-1", "limit": 2},
     ("search_clients", {"label": "case-1", "limit": 2})),
    ("velociraptor-mcp-server", "list_clients", {"search": "host:lab"}, ("search_clients", {"hostname": "lab", "limit": 100})),
    ("velociraptor-mcp-server", "get_artifact", {"artifact_name": "X"}, ("get_artifact_definition", {"name": "X"})),
    ("velociraptor-mcp-server", "collect_artifact",
     {"client_id": "C.1", "artifacts": ["A"], "parameters": {"A": {"k": "v"}}, "urgent": False},
     ("collect_artifact", {"client_id": "C.1", "artifact": "A", "params": {"k": "v"}})),
    ("velociraptor-mcp-server", "modify_hunt", {"hunt_id": "H.1", "action": "stop"}, ("stop_hunt", {"hunt_id": "H.1"})),
    ("velociraptor-mcp-server", "run_vql", {"query": "SELECT 1", "max_rows": 10000}, ("query_vql", {"vql": "SELECT 1"})),
    ("iflow-mcp-mgreen27-mcp-velociraptor", "collect_artifact",
     {"client_id": "C.1", "artifacts": ["A"], "parameters": {"k": "v", "j": "w"}},
     ("collect_artifact", {"client_id": "C.1", "artifact": "A", "parameters": "k='v',j='w'"})),
    ("iflow-mcp-mgreen27-mcp-velociraptor", "get_flow_results",
     {"client_id": "C.1", "flow_id": "F.1", "artifact": "A"},
     ("get_collection_results", {"client_id": "C.1", "flow_id": "F.1", "artifact": "A", "max_retries": 1, "retry_delay": 0})),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "run_vql", {"query": "SELECT 1", "max_rows": 5},
     ("RunVQLQueryTool", {"args": {"vql": "SELECT 1", "max_rows": 5}})),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "get_artifact", {"artifact_name": "X"},
     ("FindArtifactDetailsTool", {"args": {"artifact_name": "X"}})),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "collect_artifact", {"client_id": "C.1", "artifacts": ["A"]},
     ("CollectArtifactTool", {"args": {"client_id": "C.1", "artifact": "A", "parameters": ""}})),
])
def test_argument_mapping(sut, tool, kwargs, want):
    assert get_profile(sut).map_call(tool, kwargs) == want


@pytest.mark.parametrize("sut,tool,kwargs,says", [
    ("velociraptor-mcp-server", "run_vql", {"query": "q", "env": {"a": "b"}}, "cannot pass env="),
    ("velociraptor-mcp-server", "run_vql", {"query": "q", "max_rows": 10}, "cannot pass max_rows="),
    ("velociraptor-mcp-server", "list_artifacts", {"artifact_type": "SERVER"}, "cannot pass artifact_type="),
    ("velociraptor-mcp-server", "modify_hunt", {"hunt_id": "H.1", "action": "archive"}, "can only stop a hunt"),
    ("velociraptor-mcp-server", "collect_artifact", {"client_id": "C.1", "artifacts": ["A", "B"]}, "exactly one artifact"),
    ("velociraptor-mcp-server", "label_client", {"client_id": "C.1", "labels": ["x"]}, "has no label_client"),
    ("iflow-mcp-mgreen27-mcp-velociraptor", "get_flow_results", {"client_id": "C.1", "flow_id": "F.1"}, "needs the artifact"),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "run_vql", {"query": "q", "org_id": "O1"}, "cannot pass org_id="),
])
def test_what_a_sut_cannot_express_is_unsupported(sut, tool, kwargs, says):
    with pytest.raises(Unsupported, match=says):
        get_profile(sut).map_call(tool, kwargs)


def test_resources_and_prompts_map_by_template():
    assert match_template("velociraptor://hunts/{hunt_id}/results", "velociraptor://hunts/H.1/results") == {"hunt_id": "H.1"}
    assert match_template("velociraptor://hunts/{hunt_id}", "velociraptor://hunts/H.1/results") is None
    assert CANONICAL.resource_uri("velociraptor://clients/C.1") == "velociraptor://clients/C.1"
    assert CANONICAL.supports("resource:velociraptor://clients/{client_id}")
    assert CANONICAL.supports("prompt:threat_hunt")
    assert not get_profile("velociraptor-mcp-server").supports("prompt:threat_hunt")
    with pytest.raises(Unsupported, match="has no resource"):
        get_profile("velociraptor-mcp-server").resource_uri("velociraptor://clients")
    page = CANONICAL.read_resource_reply({"texts": [json.dumps({"type": "client_list", "count": 1, "clients": [{"client_id": "C.1"}]})]})
    assert page.ok and page.rows == [{"client_id": "C.1"}]
    missing = CANONICAL.read_resource_reply({"texts": ['{"error": "Client C.0 not found"}']})
    assert not missing.ok and "not found" in missing.error


# ---------------------------------------------------------------------------- registry


def test_default_is_the_reference_and_the_three_pypi_suts():
    assert list(PYPI_SUTS) == [
        "velociraptor-mcp-server", "iflow-mcp-mgreen27-mcp-velociraptor", "iflow-mcp-socfortress-velociraptor-mcp-server"]
    assert resolve_suts({}) == list(DEFAULT_SUTS) == ["reference", *PYPI_SUTS]


def test_all_adds_megaraptor_only_with_a_command():
    assert resolve_suts({"sut": ["all"]}) == list(DEFAULT_SUTS)
    assert resolve_suts({"sut": ["all"], "sut_command": "python -m megaraptor_mcp"}) == [*DEFAULT_SUTS, "megaraptor"]
    assert resolve_suts({"sut_command": "python -m megaraptor_mcp"}) == ["megaraptor"]


def test_megaraptor_needs_a_command_and_unknown_names_are_refused():
    with pytest.raises(SutConfigError, match="--sut-command"):
        resolve_suts({"sut": ["megaraptor"]})
    with pytest.raises(SutConfigError, match="unknown SUT 'nope'"):
        resolve_suts({"sut": ["nope"]})
    assert resolve_suts({"sut": ["velociraptor-mcp-server,megaraptor"], "sut_command": "x"}) == [
        "velociraptor-mcp-server", "megaraptor"]


def test_megaraptor_command_from_a_venv_path(tmp_path):
    argv, env = CANONICAL.command(None, Path("/lab/api.yaml"), [str(tmp_path)])
    assert argv == [str(tmp_path / "bin" / "python"), "-m", "megaraptor_mcp"]
    assert env == {"VELOCIRAPTOR_CONFIG_PATH": "/lab/api.yaml"}


def test_venvs_are_keyed_by_pinned_requirements(tmp_path):
    a = venv_dir(get_profile("velociraptor-mcp-server"), tmp_path)
    b = venv_dir(SimpleNamespace(name="velociraptor-mcp-server", requirements=("velociraptor-mcp-server==9",)), tmp_path)
    assert a.parent == tmp_path and a.name.startswith("velociraptor-mcp-server-") and a != b


def test_a_failed_install_names_the_pip_command_and_leaves_no_half_venv(tmp_path):
    broken = SimpleNamespace(name="broken", requirements=("this is not a requirement!!",))
    with pytest.raises(InstallError) as info:
        ensure_venv(broken, tmp_path)
    message = str(info.value)
    assert "pip install" in message and "exited with code" in message and "Invalid requirement" in message
    assert not venv_dir(broken, tmp_path).exists()
    with pytest.raises(InstallError, match="not installable from PyPI"):
        ensure_venv(CANONICAL, tmp_path)


# ---------------------------------------------------------------------------- the plugin, through pytester

_CONFTEST = '''
import pytest
from types import SimpleNamespace

pytest_plugins = ["support.sut.plugin"]


def pytest_bdd_apply_tag(tag, function):
    kind, sep, value = tag.partition(":")
    if sep and kind == "tool":
        pytest.mark.tool(name=value)(function)
        return True
    return None


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    d = tmp_path_factory.mktemp("lab")
    (d / "api_client.yaml").write_text("api_connection_string: 127.0.0.1:1\\n")
    return SimpleNamespace(api_config=d / "api_client.yaml", dir=d)
'''

_FEATURE = '''Feature: The fake server under test

  @tool:list_clients
  Scenario: Rows come back
    When I call "list_clients"
    Then it is ok with 3 rows

  @tool:label_client
  Scenario: Labels are not there
    When I call "label_client"

  @tool:get_client_info
  Scenario: A client that is not found
    When I call "get_client_info"
    Then it is ok with 0 rows

  @tool:run_vql
  Scenario: An echo that works
    When I call "run_vql"
    Then it is ok with 0 rows

  @tool:prompt:investigate_endpoint
  Scenario: A prompt renders
    When I ask for the prompt "investigate_endpoint"
    Then it is ok with 0 rows

  @tool:vql_help
  Scenario: A hang fails the step and the next scenario gets a fresh server
    When I call "vql_help"

  @tool:list_clients
  Scenario: Rows come back after the hang
    When I call "list_clients"
    Then it is ok with 3 rows
'''

_STEPS = '''
from pytest_bdd import parsers, scenarios, then, when

scenarios("fake.feature")

ARGS = {"list_clients": {}, "label_client": {"client_id": "C.1", "labels": ["x"]},
        "get_client_info": {"client_id": "C.1"}, "run_vql": {"query": "SELECT 1"}, "vql_help": {}}


@when(parsers.parse('I call "{tool}"'), target_fixture="reply")
def _(sut, tool):
    return sut.call(tool, **ARGS[tool])


@when(parsers.parse('I ask for the prompt "{name}"'), target_fixture="reply")
def _(sut, name):
    return sut.get_prompt(name, name="Ada")


@then(parsers.parse("it is ok with {n:d} rows"))
def _(reply, n):
    assert reply.ok, reply.error
    assert len(reply.rows or []) == n
'''


@pytest.fixture(autouse=True)
def _suite_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester's subprocesses import support.* from this checkout."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


@pytest.fixture
def fake_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(_CONFTEST)
    pytester.makefile(".feature", fake=_FEATURE)
    pytester.makepyfile(test_fake=_STEPS)
    return pytester


def test_plugin_runs_each_scenario_with_the_profiles_outcomes(fake_project: pytest.Pytester):
    command = shlex.join([sys.executable, str(FAKES / "fake_server.py")])
    result = fake_project.runpytest_subprocess(
        # "--opt=value": a bare path argument would make pytest pick this checkout as rootdir
        f"--sut-profile={FAKES / 'fake_profile.py'}", f"--sut-command={command}",
        "--sut-timeout=3", "-rsxXf", "-p", "no:cacheprovider", "-v",
    )
    result.stdout.fnmatch_lines([  # in the order pytest prints them
        "*test_rows_come_back?fake? PASSED*",
        "*test_an_echo_that_works?fake? FAILED*",
        "*test_rows_come_back_after_the_hang?fake? PASSED*",
        "*XPASS(strict)*SUT fake: known defect: a defect that is not there*",
        "*SutTimeout: SUT fake: no reply to tools/call (tool 'hang') within 3s*",
        "*fake: hanging now*",
        "SKIPPED*SUT fake has no label_client*",
        "XFAIL*SUT fake: known defect: answers every client id with not found*",
    ])
    result.assert_outcomes(passed=3, skipped=1, xfailed=1, failed=2)


def test_default_suts_parametrize_scenarios_and_skip_what_they_lack(pytester: pytest.Pytester):
    pytester.makeconftest(_CONFTEST)
    # a tool no default SUT has (the reference server has label_client; none is a deployer)
    pytester.makefile(".feature", fake="Feature: F\n\n  @tool:deploy_server\n  Scenario: Labels\n    When I call \"label_client\"\n")
    pytester.makepyfile(test_fake=_STEPS)
    collected = pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:cacheprovider")
    collected.stdout.fnmatch_lines([f"*test_labels?{name}?*" for name in DEFAULT_SUTS])
    result = pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"*SUT {name} has no deploy_server*" for name in DEFAULT_SUTS])
    result.assert_outcomes(skipped=len(DEFAULT_SUTS))


def test_megaraptor_without_a_command_is_a_usage_error(pytester: pytest.Pytester):
    pytester.makeconftest(_CONFTEST)
    result = pytester.runpytest_subprocess("--sut", "megaraptor", "-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*SUT megaraptor is not installed by the suite: add --sut-command*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


# ---------------------------------------------------------------------------- the real servers


SAMPLES: dict[str, list[dict]] = {
    "list_clients": [{}, {"search": "host:lab"}, {"search": "label:case-1", "limit": 5}],
    "get_client_info": [{"client_id": "C.1a2b3c4d5e6f7a8b"}],
    "label_client": [{"client_id": "C.1", "labels": ["case-1"], "operation": "remove"}],
    "quarantine_client": [{"client_id": "C.1", "quarantine": False, "message": "m"}],
    "list_artifacts": [{"search": "Pslist", "limit": 5}],
    "get_artifact": [{"artifact_name": "Linux.Sys.Users"}],
    "collect_artifact": [{"client_id": "C.1", "artifacts": ["Linux.Sys.Pslist"],
                          "parameters": {"Linux.Sys.Pslist": {"processRegex": "x"}}}],
    "create_hunt": [{"artifacts": ["Generic.Client.Info"], "description": "d", "include_labels": ["x"]}],
    "list_hunts": [{"state": "PAUSED", "limit": 5}],
    "get_hunt_results": [{"hunt_id": "H.1"}],
    "modify_hunt": [{"hunt_id": "H.1", "action": "stop"}],
    "list_flows": [{"client_id": "C.1"}],
    "get_flow_results": [{"client_id": "C.1", "flow_id": "F.1", "artifact": "Linux.Sys.Users"}],
    "get_flow_status": [{"client_id": "C.1", "flow_id": "F.1"}],
    "cancel_flow": [{"client_id": "C.1", "flow_id": "F.1"}],
    "run_vql": [{"query": "SELECT 1 AS x FROM scope()"}, {"query": "SELECT 1 FROM scope()", "max_rows": 5}],
    "vql_help": [{"topic": "syntax"}],
}
# Tools that do not need Velociraptor (and so may succeed with a dummy config).
OFFLINE_OK = {"vql_help"}
# Checked against the schema only: never sent, even to a server that cannot reach anything.
NEVER_CALLED = {"quarantine_client"}


def _dummy_api_config(tmp_path: Path) -> Path:
    path = tmp_path / "api_client.yaml"
    path.write_text(
        "ca_certificate: |\n  -----BEGIN CERTIFICATE-----\n  MIIBdummy\n  -----END CERTIFICATE-----\n"
        "client_cert: |\n  -----BEGIN CERTIFICATE-----\n  MIIBdummy\n  -----END CERTIFICATE-----\n"
        "client_private_key: |\n  -----BEGIN RSA PRIVATE KEY-----\n  MIIBdummy\n  -----END RSA PRIVATE KEY-----\n"
        "api_connection_string: 127.0.0.1:1\nname: dummy\n"
    )
    return path


def _check_server(name: str, argv: list[str], env: dict[str, str], tmp_path: Path) -> None:
    profile = get_profile(name)
    with SutSession(name, argv, env, tmp_path / name, start_timeout=120, call_timeout=60) as session:
        tools = {t["name"]: t for t in session.list_tools()}
        for canonical, entry in profile.tools.items():
            assert entry.tool in tools, f"{name} lists no tool {entry.tool} (for {canonical}); it has {sorted(tools)}"
            if canonical not in SAMPLES:
                continue  # deployment tools: never called here (some deploy for real)
            for sample in SAMPLES[canonical]:
                try:
                    sut_tool, arguments = profile.map_call(canonical, sample)
                except Unsupported:
                    continue
                assert sut_tool in tools, f"{name} lists no tool {sut_tool} (for {canonical}); it has {sorted(tools)}"
                jsonschema.validate(arguments, tools[sut_tool]["inputSchema"])
            if canonical in NEVER_CALLED:
                continue
            sut_tool, arguments = profile.map_call(canonical, SAMPLES[canonical][0])
            result = profile.read_reply(canonical, session.call_tool(sut_tool, arguments), sut_tool)
            if canonical not in OFFLINE_OK:
                assert not result.ok, f"{name} {canonical} claims success with no Velociraptor: {result}"
        assert session.alive() is None, session.alive()
        pgid = session.pgid
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("name", PYPI_SUTS)
def test_pypi_sut_installs_and_lists_its_tools(name, tmp_path):
    """Installs into the real cache dir (~/.cache/raptorspec/suts), so later runs reuse it."""
    profile = get_profile(name)
    venv = ensure_venv(profile)
    assert venv == venv_dir(profile) and (venv / ".raptorspec-complete").is_file()
    pins = {normalize(pkg): v for pkg, v in (r.split("==") for r in profile.requirements)}
    versions = installed_versions(venv)
    assert {pkg: versions.get(pkg) for pkg in pins} == pins
    argv, env = profile.command(venv, _dummy_api_config(tmp_path))
    _check_server(name, argv, env, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RAPTORSPEC_MEGARAPTOR_COMMAND"),
                    reason="set RAPTORSPEC_MEGARAPTOR_COMMAND to megaraptor-mcp's command to check its profile")
def test_megaraptor_lists_the_canonical_tools(tmp_path):
    argv, env = CANONICAL.command(None, _dummy_api_config(tmp_path), shlex.split(os.environ["RAPTORSPEC_MEGARAPTOR_COMMAND"]))
    _check_server("megaraptor", argv, env, tmp_path)


def test_a_sut_profile_file_does_not_change_the_module_level_profiles():
    """--sut-profile is one run's choice: the loaded profile lives in that run's config."""
    import pytest as _pytest

    class Config:  # what resolve_suts needs of a pytest.Config
        def __init__(self):
            self.stash = _pytest.Stash()

        def getoption(self, name):
            return {"sut_profile": str(Path(__file__).parent / "sut_fakes" / "fake_profile.py"),
                    "sut_command": "python fake.py"}.get(name)

    before = dict(PROFILES)
    config = Config()
    names = resolve_suts(config)
    assert names == ["fake"] and get_profile("fake", config).name == "fake"
    assert PROFILES == before
    with _pytest.raises(SutConfigError):
        get_profile("fake")  # another run (no config) does not see it


@pytest.mark.parametrize("argv,words", [
    (["--sut-timeout", "0"], "--sut-timeout: must be more than 0 seconds"),
    (["--sut-timeout", "-1"], "--sut-timeout: must be more than 0 seconds"),
    (["--sut-drain", "-1"], "--sut-drain: must be at least 0 seconds"),
    (["--sut-max-reply", "0"], "--sut-max-reply: must be positive"),
])
def test_nonsense_sut_option_values_are_usage_errors(argv, words):
    """Never silently replaced by a default (0 s used to mean 60 s)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "pytest", "features/", "--collect-only", "-q", *argv],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4 and words in done.stderr, done.stderr


_TEARDOWN_FAULT = '''
import os
import pytest
from support.errors import OracleError, SutStreamError

@pytest.fixture(autouse=True)
def _fault_at_the_end(request):
    yield
    if "a_client_that_is_not_found" in request.node.name:
        if os.environ.get("FAULT") == "suite":
            raise OracleError("the leak audit could not ask Velociraptor")
        raise SutStreamError("SUT fake: non-protocol output after its last reply")
'''


@pytest.mark.parametrize("fault, outcomes", [("suite", {"xfailed": 1, "errors": 1}), ("sut", {"xfailed": 2})])
def test_a_known_defect_never_hides_an_error_of_the_suite_at_teardown(fake_project, monkeypatch, fault, outcomes):
    """A strict xfail covers the SUT's faults, at teardown too; an error of the suite at a known-defect
    scenario's teardown (e.g. the run's leak audit, charged to the last test) is an error, not an XFAIL."""
    fake_project.makepyfile(teardown_fault=_TEARDOWN_FAULT)
    monkeypatch.setenv("FAULT", fault)
    command = shlex.join([sys.executable, str(FAKES / "fake_server.py")])
    result = fake_project.runpytest_subprocess(
        f"--sut-profile={FAKES / 'fake_profile.py'}", f"--sut-command={command}", "-p", "teardown_fault",
        "-k", "a_client_that_is_not_found", "-p", "no:cacheprovider", "-rxE")
    result.assert_outcomes(**outcomes)
    if fault == "suite":
        result.stdout.fnmatch_lines(["*ERROR at teardown*", "*OracleError: the leak audit could not ask*",
                                     "*not covered by the known defect (answers every client id with not found)*"])
