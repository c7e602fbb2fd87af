"""bench/mutation.py on tiny fakes: attribution, seeded sampling, test commands, verdicts,
result JSON, and that a mutated file always comes back (no lab, no real mutation run)."""
from __future__ import annotations

import base64
import json
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import mutation as mu

SERVER = '''\
from typing import Any

QUARANTINE_LABEL = "Quarantine"


def _helper(row: dict[str, Any] | None) -> int:
    return len(row or {}) + 1


class Reference:
    async def list_clients(self, limit: int = 100) -> int:
        if limit < 1:
            raise ValueError(limit)
        return _helper({})

    async def label_client(self, labels: list[str]) -> int:
        return _helper(None) + len(labels) + len(QUARANTINE_LABEL)

    async def clients_page(self) -> str:
        return "x" * 2


TOOLS = ("list_clients", "label_client")


def build(ref):
    pages = {
        "velociraptor://clients": ref.clients_page,
    }
    return pages
'''
PROMPTS = '''\
def _bullets(names):
    return "-" + "\\n".join(names)


def triage(client_id: str) -> str:
    return _bullets([client_id])


def plain(x: str) -> str:
    return f"{x}"


PROMPTS = {f.__name__: f for f in (triage, plain)}
'''
VELO = '''\
def level_of(line):
    return line.upper() if ":" in line else "DEFAULT"
'''
MAIN = '''\
def _args(argv):
    return argv or []


def _serve_http(port):
    return port + 1


def main(argv=None):
    return 0 if _args(argv) == [] and build and PROMPTS else 1
'''


def _line(src: str, needle: str) -> int:
    return next(i for i, line in enumerate(src.splitlines(), 1) if needle in line)


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    ref = tmp_path / "reference"
    ref.mkdir()
    for name, text in (("server.py", SERVER), ("prompts.py", PROMPTS), ("velo.py", VELO), ("__main__.py", MAIN)):
        (ref / name).write_text(text)
    feats = tmp_path / "features"
    (feats / "clients").mkdir(parents=True)
    (feats / "clients" / "list_clients.feature").write_text("Feature: x\n  @tool:list_clients\n  Scenario: a\n")
    (feats / "clients" / "label_client.feature").write_text("@tool:label_client\nFeature: y\n")
    (feats / "resources").mkdir()
    (feats / "resources" / "clients.feature").write_text(
        "Feature: z\n  @tool:resource:velociraptor://clients\n  Scenario: b\n  @tool:list_clientsX\n")
    return tmp_path


def _item(job: str, file: str, line: int, col: int = 8, op: str = "core/AddNot") -> SimpleNamespace:
    spec = SimpleNamespace(module_path=Path(file), start_pos=(line, col), operator_name=op, occurrence=0,
                           operator_args={})
    return SimpleNamespace(job_id=job, mutations=(spec,))


def test_each_mutant_is_attributed_to_the_targets_its_code_serves(fake_root: Path) -> None:
    items = [
        _item("tool", "reference/server.py", _line(SERVER, "if limit < 1")),
        _item("helper", "reference/server.py", _line(SERVER, "return len(row or {})"), 11),
        _item("const", "reference/server.py", _line(SERVER, "QUARANTINE_LABEL ="), 0),
        _item("page", "reference/server.py", _line(SERVER, '"x" * 2'), 15),
        _item("prompt-helper", "reference/prompts.py", _line(PROMPTS, 'return "-" +'), 11),
        _item("main", "reference/__main__.py", _line(MAIN, "return 0 if"), 11),
        _item("annotation", "reference/server.py", _line(SERVER, "def _helper"), 27),
        _item("http", "reference/__main__.py", _line(MAIN, "return port + 1"), 11),
    ]
    mutants, left_out = mu.attribute(items, fake_root, seed=1, cap=10)
    by_id = {m.job_id: m for m in mutants}
    assert by_id["tool"].targets == ["list_clients"] and by_id["tool"].group == "list_clients"
    assert by_id["helper"].targets == ["label_client", "list_clients"]
    assert by_id["helper"].group == "shared:_helper"
    assert by_id["const"].targets == ["label_client"]
    assert by_id["page"].targets == ["resource:velociraptor://clients"]
    assert by_id["prompt-helper"].targets == ["prompt:triage"]
    # main starts the server: every target, and what main reaches (_args) too.
    assert set(by_id["main"].targets) == {"list_clients", "label_client", "resource:velociraptor://clients",
                                          "prompt:triage", "prompt:plain"}
    assert left_out == {"annotation": 1, "excluded": 1}


def test_a_helper_reaching_many_targets_runs_at_most_cap_of_them(fake_root: Path) -> None:
    items = [_item("main", "reference/__main__.py", _line(MAIN, "return 0 if"), 11)]
    (m,), _ = mu.attribute(items, fake_root, seed=1, cap=2)
    assert len(m.targets) == 2 and m.reaching == 5 and len(m.reach_all) == 5


def _fake(job: str, group: str, reach: list[str], cap: int = 1) -> mu.Mutant:
    return mu.Mutant(job_id=job, file=f"fake/{job}.py", line=1, col=0,
                     operator="core/AddNot", occurrence=0,
                     definition=group, group=group, targets=list(reach[:cap]), reaching=len(reach),
                     reach_all=list(reach))


def _pool() -> list[mu.Mutant]:
    pool = [_fake(f"{t}-{i}", t, [t]) for t in ("a", "b", "c") for i in range(5)]
    pool += [_fake(f"h-{i}", "shared:h", ["a", "d"]) for i in range(5)]  # d has no code of its own
    return pool


def test_the_sample_is_reproducible_for_a_seed_and_differs_for_another() -> None:
    first = [m.job_id for m in mu.sample(_pool(), 8, seed=7)]
    again = [m.job_id for m in mu.sample(_pool(), 8, seed=7)]
    other = [m.job_id for m in mu.sample(_pool(), 8, seed=8)]
    assert first == again
    assert len(first) == len(set(first)) == 8
    assert first != other


def test_the_sample_does_not_depend_on_cosmic_rays_random_job_ids() -> None:
    pool = _pool()
    renamed = _pool()
    for m in renamed:
        m.job_id = f"zz{(hash(m.job_id) % 997):03d}-{m.job_id[::-1]}"
    assert [m.key for m in mu.sample(pool, 8, seed=7)] == [m.key for m in mu.sample(renamed, 8, seed=7)]


def test_the_sample_covers_every_target_before_drawing_the_rest() -> None:
    picked = mu.sample(_pool(), 4, seed=3)
    assert {m.group for m in picked} >= {"a", "b", "c"}
    via = [m for m in picked if m.group == "shared:h"]
    assert len(via) == 1 and "d" in via[0].targets, "d is reached only through the helper: it must run d"


def test_a_refused_mutant_is_passed_over() -> None:
    picked = mu.sample(_pool(), 20, seed=3, accept=lambda m: not m.job_id.startswith("b"))
    assert not any(m.group == "b" for m in picked) and len(picked) == 15


def test_the_command_runs_the_targets_feature_files_narrowed_by_marker(fake_root: Path) -> None:
    features = fake_root / "features"
    cmd = mu.test_command("py", features, ["list_clients", "resource:velociraptor://clients"], ["--lab", "external"])
    assert cmd[:5] == ["py", "-m", "pytest", "features/clients/list_clients.feature",
                       "features/resources/clients.feature"]
    assert cmd[cmd.index("-m", 3) + 1] == ("tool(name='list_clients') or "
                                           "tool(name='resource:velociraptor://clients')")
    assert cmd[-2:] == ["--lab", "external"] and "--sut" in cmd and "-x" in cmd
    with pytest.raises(mu.MutationRunError, match="@tool:nothing"):
        mu.test_command("py", features, ["nothing"], [])


@pytest.mark.parametrize("rc, outcome", [(0, "survived"), (1, "killed"), (None, "timeout"), (2, "error"),
                                         (5, "error")])
def test_pytest_exit_codes_become_verdicts(rc: int | None, outcome: str) -> None:
    assert mu.classify(rc) == outcome


@pytest.mark.parametrize("rc, outcome", [(0, "survived"), (1, "killed"), (None, "bounded"), (2, "error")])
def test_a_widened_rerun_out_of_time_is_bounded_not_killed(rc: int | None, outcome: str) -> None:
    # The widened re-run of a helper's survivor is most of the spec: running out of its time
    # bound says nothing about the mutant (it must not count as a kill, as a mutant's own timeout does).
    assert mu.widened_verdict(rc) == outcome


def test_the_summary_counts_verdicts_and_scores_only_decided_mutants() -> None:
    rows = [{"outcome": o, "targets": ["a"], "group": "a"} for o in ("killed", "killed", "timeout", "survived",
                                                                       "error", "pending")]
    doc = mu.summarise({"seed": 1}, rows)
    assert doc["counts"] == {"killed": 2, "timeout": 1, "survived": 1, "error": 1, "pending": 1, "gone": 0}
    assert doc["score"] == 0.75 and doc["seed"] == 1 and doc["targets_exercised"] == ["a"]


def test_the_summary_scores_the_spec_alone_and_with_the_unit_tests() -> None:
    rows = [{"outcome": "killed", "spec_outcome": "killed", "targets": ["a"]},
            {"outcome": "killed", "spec_outcome": "survived", "targets": ["a"]},   # killed by the unit tests only
            {"outcome": "survived", "spec_outcome": "survived", "targets": ["a"]},
            {"outcome": "gone", "targets": ["a"]}]
    doc = mu.summarise({}, rows)
    assert doc["score"] == round(2 / 3, 4) and doc["score_spec"] == round(1 / 3, 4)
    assert doc["counts"]["gone"] == 1 and doc["counts_spec"]["survived"] == 2


@pytest.mark.parametrize("spec, unit, outcome", [
    ("survived", "killed", "killed"), ("killed", "survived", "killed"), ("survived", "survived", "survived"),
    ("timeout", "survived", "timeout"), ("survived", "error", "error"), ("survived", None, "survived"),
    ("error", "killed", "killed")])
def test_a_mutant_is_killed_when_either_command_kills_it(spec: str, unit: str | None, outcome: str) -> None:
    assert mu.combine(spec, unit) == outcome


def test_the_unit_command_runs_the_reference_unit_tests_without_a_lab() -> None:
    cmd = mu.unit_command("py")
    assert cmd[:3] == ["py", "-m", "pytest"] and "tests/test_reference_faults.py" in cmd
    assert cmd[cmd.index("-m", 3) + 1] == "not lab" and "--lab" not in cmd
    for path in mu.UNIT_TESTS:
        assert (mu.ROOT / path).is_file(), path


def test_a_replay_finds_the_same_mutants_after_lines_moved_and_marks_changed_code_gone() -> None:
    def mutant(job: str, line: int, definition: str = "f") -> mu.Mutant:
        return mu.Mutant(job_id=job, file="reference/x.py", line=line, col=0, operator="core/AddNot", occurrence=0,
                         definition=definition, group=definition, targets=["t-new"], reaching=1, reach_all=["t-new"])

    diffs = {"m1": "@@ -10 +10 @@\n-    if a:\n+    if not a:", "m2": "@@ -30 +30 @@\n-    if b:\n+    if not b:"}
    old = [{"file": "reference/x.py", "definition": "f", "operator": "core/AddNot", "targets": ["t-old"],
            "diff": "--- a/reference/x.py\n+++ b/reference/x.py\n@@ -7 +7 @@\n-    if b:\n+    if not b:"},
           {"file": "reference/x.py", "definition": "f", "operator": "core/AddNot", "targets": ["t-old"],
            "diff": "@@ -9 +9 @@\n-    if c:\n+    if not c:"}]
    got = mu.replay(old, [mutant("m1", 10), mutant("m2", 30)], lambda m: diffs[m.job_id])
    assert isinstance(got[0], mu.Mutant) and got[0].job_id == "m2" and got[0].targets == ["t-old"]
    assert got[1] is old[1], "a mutant whose code changed must come back as gone"


def test_the_result_file_is_written_whole(tmp_path: Path) -> None:
    out = tmp_path / "r" / "mutation.json"
    mu.write_json(out, {"x": 1})
    assert json.loads(out.read_text()) == {"x": 1} and not out.with_suffix(".tmp").exists()


def test_a_journal_left_by_a_killed_run_restores_the_file(tmp_path: Path) -> None:
    (tmp_path / "reference").mkdir()
    target = tmp_path / "reference" / "server.py"
    target.write_text("mutated\n")
    journal = tmp_path / "in-flight.json"
    journal.write_text(json.dumps({"file": "reference/server.py",
                                   "original": base64.b64encode(b"original\n").decode()}))
    assert mu.recover(journal, tmp_path) == "reference/server.py"
    assert target.read_text() == "original\n" and not journal.exists()
    assert mu.recover(journal, tmp_path) is None


def test_cosmic_rays_mutation_is_undone_even_when_interrupted(tmp_path: Path) -> None:
    pytest.importorskip("cosmic_ray")
    from cosmic_ray.mutating import use_mutation
    from cosmic_ray.plugins import get_operator

    path = tmp_path / "m.py"
    path.write_text("def f(x):\n    return x < 1\n")
    operator = get_operator("core/ReplaceComparisonOperator_Lt_Gt")()
    with pytest.raises(KeyboardInterrupt):
        with use_mutation(path, operator, 0) as (_, mutated):
            assert "x > 1" in mutated and "x > 1" in path.read_text()
            raise KeyboardInterrupt
    assert path.read_text() == "def f(x):\n    return x < 1\n"


def test_a_command_over_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    child = textwrap.dedent("""
        import subprocess, sys, threading
        subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait()"])
        print("started", flush=True)
        threading.Event().wait()
    """)
    started = time.monotonic()
    rc, tail = mu.run_command([sys.executable, "-c", child], tmp_path, 3, tmp_path / "log")
    assert rc is None and "started" in tail
    assert time.monotonic() - started < 30


def test_make_diff_shows_the_changed_line() -> None:
    diff = mu.make_diff("reference/x.py", "a\nif x < 1:\nb", "a\nif x > 1:\nb")
    assert "-if x < 1:" in diff and "+if x > 1:" in diff and diff.startswith("--- a/reference/x.py")


def test_the_lab_environment_uses_a_private_cache_and_the_built_binary(tmp_path: Path) -> None:
    # main's run broke here once: support.provision kept only `main` when the lab became a package
    env = mu.lab_env(tmp_path)
    assert env["RAPTORSPEC_CACHE"] == str(tmp_path / "cache")
    from support.lab.provision import cached_binary_path
    if cached_binary_path().exists():
        assert env["RAPTORSPEC_VELOCIRAPTOR"] == str(cached_binary_path())


def test_a_replay_is_attached_to_the_sample_it_answers(tmp_path: Path) -> None:
    sample = tmp_path / "mutation.json"
    mu.write_json(sample, {"seed": 14, "mutants": [{"outcome": "survived"}]})
    mu.attach(sample, {"replay_of": "x (t0, seed 14)", "when": "t1", "counts": {"killed": 1}})
    mu.attach(sample, {"replay_of": "x (t0, seed 14)", "when": "t1", "counts": {"killed": 2}})  # the same run again
    doc = json.loads(sample.read_text())
    assert doc["seed"] == 14 and doc["mutants"] == [{"outcome": "survived"}]
    assert [r["counts"] for r in doc["replays"]] == [{"killed": 2}]


def test_a_run_stopped_before_the_end_leaves_the_committed_figure_alone(tmp_path: Path) -> None:
    """An interrupted `make mutation MUTANTS=1` overwrote bench/results/mutation.json, the README's
    figure, with a half run (score null). A run writes its results file only when complete."""
    out = tmp_path / "mutation.json"
    out.write_text('{"score": 0.91}\n')
    written = mu.finish(out, {"score": None}, complete=False)
    assert written == tmp_path / "mutation.partial.json" and json.loads(written.read_text()) == {"score": None}
    assert json.loads(out.read_text()) == {"score": 0.91}
    assert mu.finish(out, {"score": 0.5}, complete=True) == out
    assert json.loads(out.read_text()) == {"score": 0.5} and not (tmp_path / "mutation.partial.json").exists()
