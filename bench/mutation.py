"""How strong is the spec? Mutation testing of the reference server (issue 14 §4).

    python -m bench.mutation [--mutants N] [--seed S] [--out bench/results/mutation.json]
                             [--per-mutant-timeout S] [--widen-timeout S] [--plan] [--no-widen]
                             [--no-unit] [--replay FILE [--attach-to SAMPLE.json]]

(``make mutation MUTANTS=N SEED=S``.) The steps:

1. **Enumerate** with cosmic-ray (``cosmic-ray init bench/mutation.toml SESSION``): every
   mutant of ``reference/`` its core operators make, one work item each.
2. **Attribute** each mutant to the spec's targets — a canonical tool, resource
   (``resource:velociraptor://…``) or prompt (``prompt:…``) — by the code it sits in: a tool
   method, resource page or prompt function is its own target; a helper (``require_client``,
   ``_spec``, a reply model, ``Velociraptor.query``…) belongs to every target whose code
   reaches it by name (a static call graph of reference/), at most ``CAP`` of them: the
   nearest first (fewest calls from the target's own code; ties broken with the seed). What
   only ``__main__.main`` reaches (the Velociraptor client's set-up) serves every target. Mutants of type annotations (the SDK then cannot build the tool's schema:
   every scenario dies, nothing is learned) and of the HTTP transport and argument parsing in
   ``__main__.py`` (the spec drives stdio; ``make test`` covers HTTP) are left out.
3. **Sample** ``N`` mutants, seeded: one per target first (in a seeded order), then round
   robin over targets and helpers. The same seed and the same reference/ give the same sample.
4. **Run** each: cosmic-ray's ``use_mutation()`` writes the mutant to disk and puts the
   original back afterwards; meanwhile
   ``python -m pytest <the targets' feature files> -m "tool(name=…)" --sut reference -x -q
   -p no:randomly --report none --lab external --api-config LAB --allow-destructive`` runs
   against ONE lab kept for the whole run (``python -m support.lab up``, in a private cache
   directory so no other lab of this machine is touched; always ``down`` at the end).
   A survivor in a helper is run once more against the features of every OTHER target that
   reaches it (``widened`` in the JSON; ``--no-widen`` skips this): its verdict is then
   the spec's as a whole, not only its nearest features'. That re-run is bounded by
   ``--widen-timeout`` (150 s): past it, it is recorded as ``bounded`` and the mutant stays
   survived (a conservative verdict: the whole spec for one mutant, four to five minutes on a
   loaded machine, would make a run of 48 undecidable within an hour).
   Then (unless ``--no-unit``) a second, cheap command runs for the same mutant:
   ``python -m pytest tests/test_reference_faults.py tests/test_reference.py -m "not lab"``,
   the reference's unit tests with a fake Velociraptor (they reach the code that runs only
   when Velociraptor fails). Each result records ``spec_outcome``, ``unit_outcome`` and
   ``killed_by``; ``outcome`` is killed when either killed it. The JSON's ``score_spec`` is the
   spec's figure alone, ``score`` the spec's and the unit tests' together.
   ``--replay FILE`` runs the mutants of a previous result file again instead of a sample
   (matched by the lines their diff changes), so a figure after the reference changed is the
   same mutants' figure; one whose code is gone is recorded as ``gone`` (not counted).
   Exit 1 = killed, 0 = survived, the per-mutant timeout = killed (``timeout``), anything
   else (2-5: interrupted, usage, nothing collected) = ``error``, not counted either way.
   Before the mutants, the same commands run once on the unmutated reference (the
   *baseline*): a target whose features fail there would "kill" every mutant, so the run
   stops and says which.
5. **Write** ``bench/results/mutation.json`` (shape in :func:`summarise`) after every mutant,
   and the cosmic-ray session ``<workdir>/session.sqlite`` (``cr-report`` reads it); each
   mutant's pytest output is ``<workdir>/<job_id>.log`` (workdir: ``$TMPDIR/raptorspec-mutation-UID``).

Safety: reference/ must be clean in git before the run (else it stops, naming the files).
A journal (``<workdir>/in-flight.json`` with the original bytes) is written before each
mutant and removed after its restore; a later run (even ``--plan``) finding it restores the
file first, so a SIGKILL'd run is repaired by the next one (checked: kill -9 during a mutant
left reference/prompts.py mutated; the next ``--plan`` restored it and git status was clean).
A SIGKILL'd run also leaves its lab up; the next run reuses it (same private cache) and
downs it, or ``RAPTORSPEC_CACHE=<workdir>/cache python -m support.lab down`` stops it. SIGTERM/SIGHUP are turned into KeyboardInterrupt
so cosmic-ray's restore and the lab's ``down`` run. After the run, ``git status --porcelain
reference/`` is checked empty and recorded in the JSON (``reference_clean_after``).
"""
from __future__ import annotations

import argparse
import ast
import base64
import difflib
import json
import os
import platform
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "bench" / "mutation.toml"
RESULTS = ROOT / "bench" / "results" / "mutation.json"
CAP = 3  # most targets whose features one helper mutant runs
PYTEST_FLAGS = ["--sut", "reference", "-x", "-q", "-p", "no:randomly", "--report", "none"]
# The second, cheap command run per mutant: the reference's own unit tests, no lab (a fake
# Velociraptor; the F class of bench/MUTATION.md: code reached only when Velociraptor fails).
UNIT_TESTS = ["tests/test_reference_faults.py", "tests/test_reference.py"]
EXCLUDED_DEFS = {("reference/__main__.py", "_serve_http"), ("reference/__main__.py", "_args")}


class MutationRunError(Exception):
    """The mutation run cannot go on (dirty reference/, failing baseline, lab down); ``str()``
    says why and what to do. (Kept here: bench/ may not import new types into support/errors.py
    while that file is being rewritten; the lead may move it there.)"""


@dataclass
class Mutant:
    """One cosmic-ray work item, attributed. ``line`` is 1-based; ``targets`` the canonical
    names whose features run; ``group`` the sampling stratum (a target, or ``shared:<def>``)."""

    job_id: str
    file: str
    line: int
    col: int
    operator: str
    occurrence: int
    definition: str
    group: str
    targets: list[str]
    reaching: int = 0  # how many targets reach the code (before the CAP)
    reach_all: list[str] = field(default_factory=list, repr=False)  # all of them

    @property
    def key(self) -> str:
        """Stable across ``cosmic-ray init`` runs (job ids are random): file, place, operator."""
        return f"{self.file}:{self.line}:{self.col}:{self.operator}:{self.occurrence}"
    spec: Any = field(default=None, repr=False)  # the cosmic-ray MutationSpec


# ------------------------------------------------------------------------- attribution


def _defs(tree: ast.Module) -> list[tuple[str, int, int, ast.AST]]:
    """``(name, first line, last line, node)`` for every function, class and top-level
    assignment (a constant such as ``QUARANTINE_ARTIFACTS``)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out.append((node.name, start, node.end_lineno or node.lineno, node))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    out.append((t.id, node.lineno, node.end_lineno or node.lineno, node))
    return out


def owner_of(defs: list[tuple[str, int, int, ast.AST]], line: int) -> str:
    """The innermost definition containing ``line`` ('<module>' when none)."""
    best = None
    for name, start, end, _ in defs:
        if start <= line <= end and (best is None or end - start < best[2] - best[1]):
            best = (name, start, end)
    return best[0] if best else "<module>"


def annotation_spans(tree: ast.Module) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``((line, col), (end_line, end_col))`` of every type annotation in the module."""
    spans = []

    def add(node: ast.AST | None) -> None:
        if node is not None:
            spans.append(((node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if arg is not None:
                    add(arg.annotation)
            add(node.returns)
        elif isinstance(node, ast.AnnAssign):
            add(node.annotation)
    return spans


def in_spans(pos: tuple[int, int], spans: Iterable[tuple[tuple[int, int], tuple[int, int]]]) -> bool:
    return any(start <= tuple(pos) < end for start, end in spans)


def references(node: ast.AST) -> set[str]:
    """Names a definition mentions: plain names and attribute names (``self.require_client``)."""
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.add(sub.attr)
    return names


def direct_targets(server_tree: ast.Module, prompts_tree: ast.Module) -> dict[str, str]:
    """``{definition name: canonical target}``: the tool methods (``TOOLS``), the resource
    pages (the ``pages`` dict of ``build()``) and the prompt functions (``PROMPTS``)."""
    out: dict[str, str] = {}
    for node in ast.walk(server_tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "TOOLS" for t in node.targets):
            out |= {elt.value: elt.value for elt in node.value.elts}
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pages" for t in node.targets):
            for key, value in zip(node.value.keys, node.value.values):
                out[value.attr] = f"resource:{key.value}"
    for node in ast.walk(prompts_tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PROMPTS" for t in node.targets):
            for elt in node.value.generators[0].iter.elts:
                out[elt.id] = f"prompt:{elt.id}"
    return out


def reach(graph: dict[str, set[str]], roots: dict[str, str]) -> dict[str, dict[str, int]]:
    """``{definition: {target: fewest name hops from the target's root}}`` over the name graph
    (breadth first from each root; the root itself is at 0)."""
    reached: dict[str, dict[str, int]] = defaultdict(dict)
    for root, target in roots.items():
        frontier, seen, hops = [root], {root}, 0
        while frontier:
            nxt = []
            for name in frontier:
                if hops < reached[name].get(target, hops + 1):
                    reached[name][target] = hops
                for callee in sorted(graph.get(name, ())):
                    if callee not in seen:
                        seen.add(callee)
                        nxt.append(callee)
            frontier, hops = nxt, hops + 1
    return reached


def attribute(items: Iterable[Any], root: Path, seed: int, cap: int = CAP) -> tuple[list[Mutant], dict[str, int]]:
    """Turn cosmic-ray work items into :class:`Mutant` s; returns them and the count left out
    per reason (``annotation``, ``excluded``, ``unreached``)."""
    trees = {p: ast.parse((root / p).read_text()) for p in
             ("reference/server.py", "reference/prompts.py", "reference/velo.py", "reference/__main__.py")}
    defs = {p: _defs(t) for p, t in trees.items()}
    graph: dict[str, set[str]] = defaultdict(set)
    for p, ds in defs.items():
        for name, _, _, node in ds:
            graph[name] |= references(node) - {name}
    roots = direct_targets(trees["reference/server.py"], trees["reference/prompts.py"])
    everything = sorted(set(roots.values()))
    # __main__.main starts the server: it, and what only it reaches (the Velociraptor
    # client's set-up), serves every target.
    reached = reach(graph, roots)
    for name, hops in reach(graph, {"main": "*"}).items():
        if not reached.get(name):
            reached[name] = {t: hops["*"] for t in everything}
    spans = {p: annotation_spans(t) for p, t in trees.items()}
    left_out: dict[str, int] = defaultdict(int)
    out = []
    for item in items:
        m = item.mutations[0]
        path = str(m.module_path)
        if path not in trees:
            left_out["excluded"] += 1
            continue
        if in_spans(m.start_pos, spans[path]):
            left_out["annotation"] += 1
            continue
        owner = owner_of(defs[path], m.start_pos[0])
        if (path, owner) in EXCLUDED_DEFS:
            left_out["excluded"] += 1
            continue
        if owner in roots:
            targets, group = [roots[owner]], roots[owner]
        else:
            hops = reached.get(owner, {})
            # the nearest targets first (their code calls this helper itself), ties in seeded order
            rng = random.Random(f"{seed}:{path}:{m.start_pos}:{m.operator_name}:{m.occurrence}")
            targets = sorted(hops, key=lambda t: (hops[t], rng.random()))
            group = f"shared:{owner}"
        if not targets:
            left_out["unreached"] += 1
            continue
        reaching = len(targets)
        all_targets = sorted(targets)
        targets = sorted(targets[:cap])
        out.append(Mutant(job_id=item.job_id, file=path, line=m.start_pos[0], col=m.start_pos[1],
                          operator=m.operator_name, occurrence=m.occurrence, definition=owner, group=group,
                          targets=targets, reaching=reaching, reach_all=all_targets, spec=m))
    out.sort(key=lambda x: (x.file, x.line, x.col, x.operator, x.occurrence))
    return out, dict(left_out)


def sample(mutants: list[Mutant], n: int, seed: int,
           accept: Callable[[Mutant], bool] = lambda m: True) -> list[Mutant]:
    """``n`` mutants, seeded and reproducible (same mutants, same seed: same sample, same order).

    First one mutant per target, in a seeded order: from the target's own code when it has
    mutants, else from the most specific helper the target reaches (fewest targets; that
    mutant then runs this target's features; a target with neither is left uncovered). Then the rest uniformly at random
    among the remaining mutants, so the score also weighs the code the way cosmic-ray finds it.
    ``accept`` is asked (lazily, in that order) of each candidate: a refused one is passed over
    (``main`` refuses mutants that are not valid Python).
    """
    rng = random.Random(seed)
    pool = sorted(mutants, key=lambda m: m.key)
    rng.shuffle(pool)
    verdicts: dict[str, bool] = {}

    def ok(m: Mutant) -> bool:
        if m.key not in verdicts:
            verdicts[m.key] = accept(m)
        return verdicts[m.key]

    targets = sorted({t for m in pool for t in m.reach_all})
    rng.shuffle(targets)
    picked: list[Mutant] = []
    taken: set[str] = set()
    for target in targets:
        if len(picked) >= n:
            break
        own = [m for m in pool if m.group == target and m.key not in taken]
        via = sorted((m for m in pool if target in m.reach_all and m.key not in taken
                      and m.reaching < len(targets)), key=lambda m: m.reaching)
        covered = any(m.group == target for m in picked) or (not own and any(target in m.targets for m in picked))
        if covered:
            continue
        choice = next((m for m in own if ok(m)), None) or next((m for m in via if ok(m)), None)
        if choice is None:
            continue
        if target not in choice.targets:
            choice.targets = [target] + [t for t in choice.targets if t != target][:CAP - 1]
        picked.append(choice)
        taken.add(choice.key)
    for m in pool:
        if len(picked) >= n:
            break
        if m.key not in taken and ok(m):
            picked.append(m)
            taken.add(m.key)
    return picked


def compiles(m: Mutant, root: Path) -> bool:
    """Whether cosmic-ray's mutant of ``m`` is valid Python (a syntax error is not a mutant the
    spec should have to kill: cosmic-ray calls it incompetent)."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    operator = get_operator(m.operator)(**(m.spec.operator_args or {}))
    code = mutate_code((root / m.file).read_text(), operator, m.occurrence)
    if code is None:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            compile(code, m.file, "exec")
    except SyntaxError:
        return False
    return True


# ------------------------------------------------------------------------- test commands


def feature_files(features: Path, target: str) -> list[str]:
    """The feature files (relative to the project) that tag a scenario ``@tool:<target>``."""
    token = f"@tool:{target}"
    out = []
    for path in sorted(features.rglob("*.feature")):
        if any(token in line.split() for line in path.read_text().splitlines()):
            out.append(str(path.relative_to(features.parent)))
    return out


def test_command(python: str, features: Path, targets: list[str], lab_args: list[str]) -> list[str]:
    """The pytest command line for one mutant: its targets' feature files, narrowed to their
    scenarios by ``-m "tool(name='…') or …"``. Raises MutationRunError when no file tags a target."""
    files = sorted({f for t in targets for f in feature_files(features, t)})
    if not files:
        raise MutationRunError(f"no feature file tags @tool:{' / @tool:'.join(targets)}")
    expr = " or ".join(f"tool(name={t!r})" for t in targets)
    return [python, "-m", "pytest", *files, "-m", expr, *PYTEST_FLAGS, *lab_args]


def unit_command(python: str) -> list[str]:
    """The per-mutant unit-test command: :data:`UNIT_TESTS` without the lab-marked tests."""
    return [python, "-m", "pytest", *UNIT_TESTS, "-m", "not lab", "-x", "-q", "-p", "no:randomly"]


def combine(spec: str, unit: str | None) -> str:
    """One verdict from the spec command's and the unit command's (``unit`` None: not run):
    killed when either killed it (a timeout counts as killed), else ``error`` when either
    erred, else survived."""
    verdicts = [v for v in (spec, unit) if v is not None]
    if any(v in ("killed", "timeout") for v in verdicts):
        return "killed" if "killed" in verdicts else "timeout"
    if "error" in verdicts:
        return "error"
    return "survived" if verdicts else "pending"


def changed_lines(diff: str) -> list[str]:
    """The removed and added lines of a unified diff (no headers, no line numbers): what a
    mutation changes, independent of where the code sits in the file."""
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def replay(previous: list[dict[str, Any]], mutants: list[Mutant], diff_of: Callable[[Mutant], str]) -> list[
        Mutant | dict[str, Any]]:
    """The mutants of a previous run, found again in today's reference/ (``--replay``): for each
    previous entry, today's mutant of the same file, definition and operator whose diff changes
    the same lines (line numbers aside); it keeps the previous targets. An entry whose code no
    longer exists (the reference was changed there) comes back as itself (a dict), to be
    recorded as ``gone``."""
    out: list[Mutant | dict[str, Any]] = []
    used: set[str] = set()
    for old in previous:
        want = changed_lines(old.get("diff") or "")
        match = None
        for m in mutants:
            if (m.file, m.definition, m.operator) == (old["file"], old["definition"], old["operator"]) \
                    and m.key not in used and changed_lines(diff_of(m)) == want:
                match = m
                break
        if match is None:
            out.append(old)
            continue
        used.add(match.key)
        match.targets = list(old["targets"])
        out.append(match)
    return out


def widened_verdict(returncode: int | None) -> str:
    """The verdict of a widened re-run (a helper's survivor run against the other targets
    that reach it): as :func:`classify`, except that reaching the widening bound is
    ``bounded`` — not decided, so the mutant keeps its first verdict (survived). A full
    widened run is most of the spec (four to five minutes on a loaded machine); running out
    of time there says nothing about the mutant, unlike a mutant that hangs its own
    features (``timeout``, counted as killed)."""
    return "bounded" if returncode is None else classify(returncode)


def classify(returncode: int | None) -> str:
    """pytest's exit code → ``killed`` (1: a test failed), ``survived`` (0), ``timeout``
    (None), else ``error`` (2 interrupted, 3 internal, 4 usage, 5 nothing collected)."""
    if returncode is None:
        return "timeout"
    return {0: "survived", 1: "killed"}.get(returncode, "error")


def run_command(cmd: list[str], cwd: Path, timeout: float, log: Path) -> tuple[int | None, str]:
    """Run ``cmd`` in its own process group, output to ``log``; ``(returncode or None on
    timeout, last 60 lines of output)``. The group is killed on timeout or interrupt."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if rc is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    tail = log.read_text(errors="replace").splitlines()[-60:]
    return rc, "\n".join(tail)


# ------------------------------------------------------------------------- results


def summarise(meta: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON written to bench/results/mutation.json::

        {"when", "host", "tool": "cosmic-ray X", "seed", "requested", "enumerated", "left_out": {reason: n},
         "eligible", "baseline": {"seconds", "commands"}, "lab_up_s", "total_s",
         "counts": {"killed": n, "timeout": n, "survived": n, "error": n, "pending": n},
         "score": killed+timeout / (killed+timeout+survived) or null,
         "targets_exercised": [targets whose features ran for a mutant], "targets_without_mutant": [...],
         "targets_without_own_mutant": [...], "reference_clean_after": bool,
         "mutants": [{"job_id", "file", "line", "col", "operator", "occurrence", "definition", "group",
                      "targets", "reaching", "command", "outcome", "seconds", "diff", "tail",
                      "widened": {"targets": n, "outcome", "seconds", "bound_s"} (only for a helper's survivor;
                      outcome "bounded" when the re-run reached --widen-timeout)}]}

    ``seconds`` are wall seconds of the mutant's pytest run; ``tail`` (last lines of its output)
    is kept for survivors and errors only."""
    def tally(key: str) -> tuple[dict[str, int], float | None]:
        counts = {k: 0 for k in ("killed", "timeout", "survived", "error", "pending", "gone")}
        for r in results:
            counts[r.get(key) or r["outcome"]] += 1
        decided = counts["killed"] + counts["timeout"] + counts["survived"]
        return counts, round((counts["killed"] + counts["timeout"]) / decided, 4) if decided else None

    counts, score = tally("outcome")
    counts_spec, score_spec = tally("spec_outcome")
    exercised = sorted({t for r in results for t in r["targets"]})
    return meta | {"counts": counts, "score": score, "counts_spec": counts_spec, "score_spec": score_spec,
                   "targets_exercised": exercised, "mutants": results}


def attach(path: Path, doc: dict[str, Any]) -> None:
    """Append ``doc`` (a replay's summary) to the ``replays`` list of the result file ``path``
    (``--attach-to``); a replay of the same ``replay_of`` and ``when`` replaces its older copy."""
    base = json.loads(path.read_text())
    kept = [r for r in base.get("replays", []) if (r.get("replay_of"), r.get("when")) != (doc.get("replay_of"),
                                                                                           doc.get("when"))]
    base["replays"] = kept + [doc]
    write_json(path, base)


def partial_path(out: Path) -> Path:
    """Where a run keeps its results while it runs, and keeps them when it is stopped before the
    end (``mutation.json`` → ``mutation.partial.json``): ``out`` itself, often a committed
    figure, is written only by a run in which every mutant got its verdict."""
    return out.with_name(out.stem + ".partial" + out.suffix)


def finish(out: Path, doc: dict[str, Any], complete: bool) -> Path:
    """Write a run's summary ``doc``: to ``out`` when ``complete`` (and drop the partial file),
    else to :func:`partial_path` with ``out`` left as it was. Returns the path written."""
    if complete:
        write_json(out, doc)
        partial_path(out).unlink(missing_ok=True)
        return out
    write_json(partial_path(out), doc)
    return partial_path(out)


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` atomically (a temp file renamed over ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def mutant_diff(m: Mutant, root: Path) -> str:
    """The unified diff cosmic-ray's mutant of ``m`` makes ("" when it makes none)."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    operator = get_operator(m.operator)(**(m.spec.operator_args or {}))
    before = (root / m.file).read_text()
    after = mutate_code(before, operator, m.occurrence)
    return make_diff(m.file, before, after) if after is not None else ""


def make_diff(path: str, before: str, after: str) -> str:
    return "\n".join(difflib.unified_diff(before.split("\n"), after.split("\n"), f"a/{path}", f"b/{path}",
                                          lineterm="", n=1))


# ------------------------------------------------------------------------- safety


def git_dirty(root: Path, where: str = "reference/") -> list[str]:
    """``git status --porcelain`` lines for ``where`` (empty: clean)."""
    out = subprocess.run(["git", "status", "--porcelain", "--", where], cwd=root, capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def recover(journal: Path, root: Path) -> str | None:
    """If ``journal`` (written before a mutant, removed after its restore) exists, put the
    original bytes it holds back and remove it; return the restored path, else None."""
    if not journal.exists():
        return None
    doc = json.loads(journal.read_text())
    target = root / doc["file"]
    target.write_bytes(base64.b64decode(doc["original"]))
    journal.unlink()
    return doc["file"]


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# ------------------------------------------------------------------------- the run


def lab_env(workdir: Path) -> dict[str, str]:
    """Environment for ``python -m support.lab``: a private cache (so ``up``/``down`` never
    meet another lab of this machine) and the already built Velociraptor binary."""
    from support.lab.provision import cached_binary_path

    env = dict(os.environ)
    if not env.get("RAPTORSPEC_VELOCIRAPTOR") and cached_binary_path().exists():
        env["RAPTORSPEC_VELOCIRAPTOR"] = str(cached_binary_path())
    env["RAPTORSPEC_CACHE"] = str(workdir / "cache")
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", type=int, default=48, help="how many mutants to sample (default 48)")
    ap.add_argument("--seed", type=int, default=14, help="sampling seed (default 14)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / f"raptorspec-mutation-{os.getuid()}")
    ap.add_argument("--per-mutant-timeout", type=float, default=600.0, help="seconds; a mutant over it is killed")
    ap.add_argument("--plan", action="store_true", help="print the sample and each command; run nothing")
    ap.add_argument("--widen-timeout", type=float, default=150.0,
                    help="seconds a helper survivor's widened re-run may take; past it the re-run is "
                         "recorded as bounded and the mutant stays survived (default 150)")
    ap.add_argument("--no-widen", dest="widen", action="store_false",
                    help="do not re-run a helper's survivor against every target that reaches it")
    ap.add_argument("--no-unit", dest="unit", action="store_false",
                    help="run the spec command only, not also the reference's unit tests")
    ap.add_argument("--replay", type=Path, default=None,
                    help="run the mutants of a previous result file again (matched by their diff), "
                         "instead of a fresh sample: the same mutants after the reference changed")
    ap.add_argument("--attach-to", type=Path, default=None,
                    help="also append this run's result to the 'replays' list of that result file (a replay "
                         "of a sample's survivors, kept with the sample it answers)")
    args = ap.parse_args(argv)

    from importlib.metadata import version

    from cosmic_ray.mutating import use_mutation
    from cosmic_ray.plugins import get_operator
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    journal = workdir / "in-flight.json"
    for old in workdir.glob("*.log"):  # the previous run's per-mutant logs
        old.unlink()
    restored = recover(journal, ROOT)
    if restored:
        print(f"[mutation] restored {restored} left mutated by an interrupted run", file=sys.stderr)
    dirty = git_dirty(ROOT)
    if dirty:
        raise MutationRunError("reference/ has uncommitted changes; commit or `git checkout reference/` first:\n"
                               + "\n".join(dirty))

    session = workdir / "session.sqlite"
    session.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "cosmic_ray.cli", "init", str(CONFIG), str(session)], cwd=ROOT, check=True)
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = list(db.pending_work_items)
    mutants, left_out = attribute(items, ROOT, args.seed)
    if args.replay:
        previous = json.loads(args.replay.read_text())
        entries = replay(previous["mutants"], mutants, lambda m: mutant_diff(m, ROOT))
        picked = [m for m in entries if isinstance(m, Mutant)]
        gone = [m for m in entries if not isinstance(m, Mutant)]
    else:
        picked = sample(mutants, args.mutants, args.seed, accept=lambda m: compiles(m, ROOT))
        entries, gone = list(picked), []
    all_targets = sorted(set(direct_targets(ast.parse((ROOT / "reference/server.py").read_text()),
                                            ast.parse((ROOT / "reference/prompts.py").read_text())).values()))
    with_mutant = {t for m in mutants for t in m.reach_all}
    features = ROOT / "features"
    python = sys.executable
    meta: dict[str, Any] = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()},
        "tool": f"cosmic-ray {version('cosmic-ray')}", "config": str(CONFIG.relative_to(ROOT)), "seed": args.seed,
        "requested": args.mutants, "enumerated": len(items), "left_out": left_out, "eligible": len(mutants),
        "cap_targets_per_mutant": CAP, "pytest_flags": PYTEST_FLAGS,
        "targets_without_mutant": [t for t in all_targets if t not in with_mutant],
        "targets_without_own_mutant": [t for t in all_targets if t not in {m.group for m in mutants}],
        "replay_of": (f"{args.replay} ({previous.get('when')}, seed {previous.get('seed')})"
                      if args.replay else None),
        "gone": len(gone),
        "unit_command": shlex.join(["python", *unit_command(python)[1:]]) if args.unit else None,
    }
    if args.plan:
        for m in entries:
            if isinstance(m, Mutant):
                print(f"{m.file}:{m.line} {m.operator} [{m.group}] -> {', '.join(m.targets)}")
            else:
                print(f"{m['file']}:{m['line']} {m['operator']} [{m['group']}] gone (its code changed)")
        print(json.dumps({k: v for k, v in meta.items() if k != "host"}, indent=2))
        return 0

    env = lab_env(workdir)
    results: list[dict[str, Any]] = [
        {**{k: v for k, v in asdict(m).items() if k not in ("spec", "reach_all")}, "outcome": "pending",
         "seconds": None, "diff": None}
        if isinstance(m, Mutant) else
        {k: m.get(k) for k in ("job_id", "file", "line", "col", "operator", "occurrence", "definition", "group",
                               "targets", "reaching", "diff")}
        | {"outcome": "gone", "seconds": None,
           "note": "no such mutant in today's reference/: the code it mutated was changed"}
        for m in entries]
    pairs = [(m, r) for m, r in zip(entries, results) if isinstance(m, Mutant)]
    started = time.monotonic()
    lab_up = False
    in_flight: dict[str, Any] | None = None
    code = 0
    try:
        t0 = time.monotonic()
        up = subprocess.run([python, "-m", "support.lab", "up", "--json"], cwd=ROOT, env=env, capture_output=True,
                            text=True)
        lab_up = True  # even a failed `up` may leave a supervisor behind: `down` in any case
        if up.returncode != 0:
            raise MutationRunError(f"`python -m support.lab up` failed ({up.returncode}): {up.stderr.strip()[-2000:]}")
        lab = json.loads(up.stdout)
        meta["lab_up_s"] = round(time.monotonic() - t0, 1)
        lab_args = ["--lab", "external", "--api-config", lab["api_config"], "--allow-destructive"]

        # Baseline: every command of the sample on the unmutated reference must pass.
        t0 = time.monotonic()
        groups = sorted({tuple(m.reach_all if args.widen else m.targets) for m in picked})
        union = sorted({t for g in groups for t in g})
        cmd = test_command(python, features, union, lab_args)
        rc, tail = run_command(cmd, ROOT, args.per_mutant_timeout * 3, workdir / "baseline.log")
        meta["baseline"] = {"seconds": round(time.monotonic() - t0, 1), "returncode": rc,
                            "command": shlex.join(cmd[1:]).replace(lab["api_config"], "LAB_API_CONFIG")}
        if rc != 0:
            write_json(args.out, summarise(meta, results))
            raise MutationRunError(f"the baseline (unmutated reference) did not pass (exit {rc}); its output:\n{tail}")
        if args.unit:
            rc, tail = run_command(unit_command(python), ROOT, args.per_mutant_timeout, workdir / "baseline.unit.log")
            meta["baseline"]["unit_returncode"] = rc
            if rc != 0:
                write_json(args.out, summarise(meta, results))
                raise MutationRunError(f"the unit tests fail on the unmutated reference (exit {rc}):\n{tail}")

        with use_db(str(session), WorkDB.Mode.open) as db:
            chosen = {m.job_id for m in picked}
            for item in items:
                if item.job_id not in chosen:
                    db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
            for m, r in pairs:
                path = ROOT / m.file
                original = path.read_bytes()
                journal.write_text(json.dumps({"file": m.file, "original": base64.b64encode(original).decode()}))
                cmd = test_command(python, features, m.targets, lab_args)
                r["command"] = shlex.join(["python", *cmd[1:len(cmd) - len(lab_args)]])
                operator = get_operator(m.spec.operator_name)(**(m.spec.operator_args or {}))
                t0 = time.monotonic()
                in_flight = r  # an interrupted mutant goes back to pending (see finally)
                with use_mutation(path, operator, m.spec.occurrence) as (before, after):
                    if after is None:
                        r["outcome"], r["diff"] = "error", "(cosmic-ray made no mutation)"
                        rc = 2
                    else:
                        r["diff"] = make_diff(m.file, before, after)
                        rc, tail = run_command(cmd, ROOT, args.per_mutant_timeout, workdir / f"{m.job_id}.log")
                        r["outcome"] = classify(rc)
                        rest = sorted(set(m.reach_all) - set(m.targets))
                        if r["outcome"] == "survived" and args.widen and rest:
                            # A helper's survivor: again, against the other targets that reach it,
                            # within the widening bound (see widened_verdict).
                            wide = test_command(python, features, rest, lab_args)
                            t1 = time.monotonic()
                            wrc, wtail = run_command(wide, ROOT, args.widen_timeout,
                                                     workdir / f"{m.job_id}.widened.log")
                            r["widened"] = {"targets": len(rest), "outcome": widened_verdict(wrc),
                                            "seconds": round(time.monotonic() - t1, 1)}
                            if r["widened"]["outcome"] == "bounded":
                                r["widened"]["bound_s"] = args.widen_timeout
                            else:
                                r["outcome"], tail = r["widened"]["outcome"], wtail
                        r["spec_outcome"] = r["outcome"]
                        if args.unit:
                            # The cheap second command: the reference's unit tests (fake Velociraptor).
                            t1 = time.monotonic()
                            urc, utail = run_command(unit_command(python), ROOT, args.per_mutant_timeout,
                                                     workdir / f"{m.job_id}.unit.log")
                            r["unit_outcome"] = classify(urc)
                            r["unit_seconds"] = round(time.monotonic() - t1, 1)
                            r["outcome"] = combine(r["spec_outcome"], r["unit_outcome"])
                            r["killed_by"] = [name for name, v in (("spec", r["spec_outcome"]),
                                                                    ("unit", r["unit_outcome"]))
                                              if v in ("killed", "timeout")]
                            if r["unit_outcome"] == "error":
                                tail = utail
                journal.unlink(missing_ok=True)
                if path.read_bytes() != original:  # cosmic-ray's restore_contents() must have put it back
                    path.write_bytes(original)
                    raise MutationRunError(f"{m.file} was not restored after mutant {m.job_id}; restored it")
                r["seconds"] = round(time.monotonic() - t0, 1)
                if r["outcome"] in ("survived", "error"):
                    r["tail"] = tail.replace(lab["api_config"], "LAB_API_CONFIG")
                outcome = {"killed": TestOutcome.KILLED, "timeout": TestOutcome.KILLED,
                           "survived": TestOutcome.SURVIVED}.get(r["outcome"], TestOutcome.INCOMPETENT)
                db.set_result(m.job_id, WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=outcome,
                                                   diff=r["diff"], output=tail[-4000:]))
                print(f"[mutation] {len([x for x in results if x['seconds'] is not None])}/{len(pairs)} "
                      f"{m.file}:{m.line} {m.operator} [{', '.join(m.targets)}] {r['outcome']} "
                      f"(spec {r.get('spec_outcome')}, unit {r.get('unit_outcome')}) {r['seconds']} s",
                      file=sys.stderr, flush=True)
                meta["total_s"] = round(time.monotonic() - started, 1)
                write_json(partial_path(args.out), summarise(meta, results))
                if r["outcome"] in ("killed", "error"):
                    st = subprocess.run([python, "-m", "support.lab", "status"], cwd=ROOT, env=env,
                                        capture_output=True, text=True)
                    if st.returncode != 0:
                        r["outcome"] = "error"
                        raise MutationRunError(f"the lab stopped during mutant {m.job_id}; its verdict is void")
    except MutationRunError as exc:
        print(f"[mutation] error: {exc}", file=sys.stderr)
        code = 1
    finally:
        if in_flight is not None and in_flight["seconds"] is None:  # stopped mid-mutant: no verdict
            in_flight["outcome"] = "pending"
            for key in ("spec_outcome", "unit_outcome", "killed_by", "widened"):
                in_flight.pop(key, None)
        if lab_up:
            subprocess.run([python, "-m", "support.lab", "down"], cwd=ROOT, env=env, capture_output=True)
        recover(journal, ROOT)
        meta["total_s"] = round(time.monotonic() - started, 1)
        meta["reference_clean_after"] = not git_dirty(ROOT)
        complete = code == 0 and all(r["seconds"] is not None for _, r in pairs)  # "gone" ones have no time
        written = finish(args.out, summarise(meta, results), complete)
        if not complete:
            print(f"[mutation] stopped before every mutant had its verdict: the results so far are in {written}; "
                  f"{args.out} is unchanged", file=sys.stderr)
        elif args.attach_to is not None and args.attach_to.resolve() != args.out.resolve():
            attach(args.attach_to, summarise(meta, results))
    print(f"[mutation] {summarise(meta, results)['counts']} score {summarise(meta, results)['score']} "
          f"in {meta['total_s']} s; reference/ clean: {meta['reference_clean_after']}", file=sys.stderr)
    return code if meta["reference_clean_after"] else 1


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except MutationRunError as exc:
        print(f"[mutation] error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
