"""Is every verdict of the spec the same each time? N consecutive full runs in file order and K
runs in random orders (pytest-randomly seeds), each test id's outcome compared across all runs.

    python -m bench.reliability [--runs 5] [--orders 3] [--out bench/results/reliability.json]
                                [--cwd DIR] [--run-timeout S] [--workers N …] [--baseline RESULTS_JSON]
                                [-- PYTEST ARGS …]

PYTEST ARGS default to ``features/ --report none`` (the default SUT set on an embedded lab).
Each run is ``python -m pytest PYTEST ARGS --junitxml=…`` in its own process, one after the
other; the outcome of a test id is read from its junit XML: passed, failed, error, skipped or
xfailed (an id missing from a run counts as ``absent``). An id with more than one outcome is
flaky. Writes the JSON below and exits 1 when an id is flaky, 0 otherwise:

    {"when": ISO time, "host": {...}, "pytest_args": [...],
     "runs": [{"index": 1, "order": "file" | "random", "seed": int | null, "exit_code": int,
               "wall_s": float, "counts": {"passed": n, ...}}, ...],
     "tests": number of ids seen, "stable": number with one outcome,
     "flaky": [{"id": "features.test_spec::test_x[sut]", "outcomes": ["passed", "failed", ...]}, ...]}

``outcomes`` lists one entry per run, in run order. Wall times are seconds of the whole
process (lab start and SUT installs included).

**Parallel runs (pytest-xdist, issue 12).** ``--workers 2 4`` makes the plan once per worker
count, each run with ``-n N`` (``0`` is a serial run): ``--runs 5 --orders 0 --workers 2 4``
is five ``-n 2`` runs then five ``-n 4`` runs, every id compared across all ten. Each run then
also writes its own living-doc report (``--report`` in the work directory, in place of the
PYTEST ARGS' ``--report none``) and its record says whether it was **green** in the issue's
sense: ``"audit_clean"`` (the run's output has no leak-audit failure: neither the parallel
run's "leak audit of the parallel run" section nor a ``LeftBehind``), ``"report"``
(``{"scenario_runs", "not_run", "ids_differ_from_baseline"}`` from the run's results.json:
whole when every scenario run is there, none "not run", and — with ``--baseline``, the
results.json of a serial run — the same ids with the same outcomes) and ``"green"`` (exit 0,
audit clean, report whole). ``"commit"`` is the commit of ``--cwd`` that was tested, and
``"green_in_a_row"`` the longest streak of green runs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "reliability.json"
DEFAULT_ARGS = ["features/", "--report", "none"]


def outcomes_of(junit_xml: Path) -> dict[str, str]:
    """``{test id: outcome}`` from a pytest junit XML file; ``{}`` when the file is missing or
    empty (a run that stopped before writing it). The id is ``<classname>::<name>``."""
    if not junit_xml.exists() or junit_xml.stat().st_size == 0:
        return {}
    result = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        tags = {child.tag: child for child in case}
        if "failure" in tags:
            outcome = "failed"
        elif "error" in tags:
            outcome = "error"
        elif "skipped" in tags:
            outcome = "xfailed" if tags["skipped"].get("type") == "pytest.xfail" else "skipped"
        else:
            outcome = "passed"
        result[test_id] = outcome
    return result


AUDIT_FAILED = ("leak audit of the parallel run", "LeftBehind", "The run left ", "leak audit of the run could not run")


def report_of(results_json: Path, baseline: dict[str, str] | None = None) -> dict:
    """Whether a run's report is whole: ``{"scenario_runs", "not_run", "ids_differ_from_baseline"
    (ids whose outcome differs from ``baseline``'s, or that one of the two lacks; first 20),
    "n_differ", "whole"}``; ``{"whole": False, "missing": True}`` when results.json is absent."""
    if not results_json.exists():
        return {"whole": False, "missing": True}
    got = {s["nodeid"]: s["outcome"] for s in json.loads(results_json.read_text()).get("scenarios", [])}
    not_run = sum(1 for o in got.values() if o == "not run")
    differ = sorted(k for k in set(baseline or {}) | set(got) if (baseline or got).get(k) != got.get(k))
    return {"scenario_runs": len(got), "not_run": not_run, "ids_differ_from_baseline": differ[:20],
            "n_differ": len(differ), "whole": bool(got) and not_run == 0 and not differ}


def _with_report(pytest_args: list[str], report: Path) -> list[str]:
    """PYTEST ARGS with ``--report report`` in place of any ``--report X`` they hold."""
    out, skip = [], False
    for a in pytest_args:
        if skip:
            skip = False
            continue
        if a == "--report":
            skip = True
            continue
        if a.startswith("--report="):
            continue
        out.append(a)
    return [*out, "--report", str(report)]


def run_once(index: int, order: str, seed: int | None, pytest_args: list[str], cwd: Path, workdir: Path,
             timeout: float, workers: int | None = None, baseline: dict[str, str] | None = None
             ) -> tuple[dict, dict[str, str]]:
    """One pytest run in its own process. Returns (the run's record, its outcomes by id).

    With ``workers`` (an int: ``-n workers``, 0 = serial) the run writes its own report and its
    record says whether the run was green (see the module docstring)."""
    junit = workdir / f"run-{index}.xml"
    order_args = ["-p", "no:randomly"] if order == "file" else ["-p", "randomly", f"--randomly-seed={seed}"]
    report = workdir / f"report-{index}" / "index.html"
    if workers is not None:
        pytest_args = _with_report(pytest_args, report) + (["-n", str(workers)] if workers else [])
    cmd = [sys.executable, "-m", "pytest", *pytest_args, *order_args, f"--junitxml={junit}"]
    log = workdir / f"run-{index}.log"
    started = time.monotonic()
    with log.open("w") as out:
        try:
            proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
            exit_code = proc.returncode
        except subprocess.TimeoutExpired:
            exit_code = -1
    wall = time.monotonic() - started
    outcomes = outcomes_of(junit)
    record = {"index": index, "order": order, "seed": seed, "exit_code": exit_code, "wall_s": round(wall, 1),
              "counts": dict(sorted(Counter(outcomes.values()).items())), "command": cmd[1:]}
    if exit_code == -1:
        record["timed_out_after_s"] = timeout
    if workers is not None:
        text = log.read_text(errors="replace")
        record["workers"] = workers
        record["audit_clean"] = not any(mark in text for mark in AUDIT_FAILED)
        record["report"] = report_of(report.parent / "results.json", baseline)
        record["green"] = exit_code == 0 and record["audit_clean"] and record["report"]["whole"]
        summary = [line for line in text.splitlines() if " in " in line and ("passed" in line or "failed" in line)]
        record["summary"] = summary[-1].strip("= ") if summary else ""
    return record, outcomes


def longest_streak(flags: list[bool]) -> int:
    """The longest run of consecutive True values."""
    best = cur = 0
    for f in flags:
        cur = cur + 1 if f else 0
        best = max(best, cur)
    return best


def commit_of(cwd: Path) -> str:
    """``git rev-parse HEAD`` of ``cwd`` (plus ``+dirty`` when it has uncommitted changes); "" outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True,
                               text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return ""


def compare(per_run: list[dict[str, str]]) -> tuple[int, int, list[dict]]:
    """(ids seen, ids with one outcome, flaky ids with their outcomes in run order)."""
    ids = sorted(set().union(*per_run)) if per_run else []
    flaky = []
    for test_id in ids:
        seen = [run.get(test_id, "absent") for run in per_run]
        if len(set(seen)) > 1:
            flaky.append({"id": test_id, "outcomes": seen})
    return len(ids), len(ids) - len(flaky), flaky


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args = DEFAULT_ARGS
    if "--" in argv:
        pytest_args = argv[argv.index("--") + 1:]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="consecutive runs in file order (default 5)")
    parser.add_argument("--orders", type=int, default=3, help="runs in random orders, one seed each (default 3)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the seeds (default: fresh)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"result file (default {RESULTS})")
    parser.add_argument("--cwd", type=Path, default=ROOT, help="where pytest runs (default: the checkout)")
    parser.add_argument("--run-timeout", type=float, default=3600.0, help="seconds one run may take (default 3600)")
    parser.add_argument("--workers", type=int, nargs="+", default=None, metavar="N",
                        help="the plan once per worker count, each run with -n N (0 = serial), each run checked "
                             "for a clean audit and a whole report (default: the PYTEST ARGS as they are)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="results.json of a serial run: each --workers run's report must have its ids and outcomes")
    args = parser.parse_args(argv)
    if args.runs < 0 or args.orders < 0 or (args.runs + args.orders) * len(args.workers or [None]) < 2:
        parser.error("need at least two runs in all (--runs + --orders >= 2) to compare outcomes")
    rng = random.Random(args.seed)
    one = [("file", None)] * args.runs + [("random", rng.randrange(1, 2**31)) for _ in range(args.orders)]
    plan = [(order, seed, w) for w in (args.workers or [None]) for order, seed in one]
    baseline = None
    if args.baseline is not None:
        baseline = {s["nodeid"]: s["outcome"] for s in json.loads(args.baseline.read_text()).get("scenarios", [])}
    commit = commit_of(args.cwd)
    records, per_run = [], []
    with tempfile.TemporaryDirectory(prefix="raptorspec-reliability-") as tmp:
        for index, (order, seed, workers) in enumerate(plan, start=1):
            record, outcomes = run_once(index, order, seed, pytest_args, args.cwd, Path(tmp), args.run_timeout,
                                        workers, baseline)
            par = "" if workers is None else f", -n {workers}"
            green = "" if workers is None else (
                f", audit {'clean' if record['audit_clean'] else 'FAILED'}, report "
                f"{'whole' if record['report']['whole'] else 'NOT WHOLE'} -> {'green' if record['green'] else 'RED'}")
            print(f"run {index}/{len(plan)} ({order}{f', seed {seed}' if seed else ''}{par}): exit {record['exit_code']}, "
                  f"{record['wall_s']}s, {record['counts']}{green}", flush=True)
            if record["exit_code"] not in (0, 1) or (workers is not None and not record["green"]):
                tail = (Path(tmp) / f"run-{index}.log").read_text(errors="replace")[-3000:]
                record["log_tail"] = tail
                print(tail, flush=True)
            records.append(record)
            per_run.append(outcomes)
            _write(args, pytest_args, commit, records, per_run, planned=len(plan))   # a stopped sequence keeps its runs
    result, flaky = _write(args, pytest_args, commit, records, per_run, planned=len(plan))
    tests, stable = result["tests"], result["stable"]
    print(f"{tests} test ids, {stable} stable, {len(flaky)} flaky -> {args.out}")
    for item in flaky:
        print(f"  FLAKY {item['id']}: {' / '.join(item['outcomes'])}")
    if args.workers is not None:
        print(f"green: {sum(r['green'] for r in records)} of {len(records)}, {result['green_in_a_row']} in a row")
        return 1 if flaky or not all(r["green"] for r in records) else 0
    return 1 if flaky else 0


def _write(args: argparse.Namespace, pytest_args: list[str], commit: str, records: list[dict],
           per_run: list[dict[str, str]], planned: int) -> tuple[dict, list[dict]]:
    """Write the result file for the runs so far (``"planned"``: how many the plan has); return
    (the result, its flaky ids)."""
    tests, stable, flaky = compare(per_run)
    walls = [r["wall_s"] for r in records]
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "pytest_args": pytest_args,
        "commit": commit,
        "planned_runs": planned,
        "runs": records,
        "wall_s": {"min": min(walls), "max": max(walls), "total": round(sum(walls), 1)},
        "tests": tests,
        "stable": stable,
        "flaky": flaky,
    }
    if args.workers is not None:
        result["baseline"] = str(args.baseline) if args.baseline else None
        result["green_in_a_row"] = longest_streak([r["green"] for r in records])
        result["by_workers"] = {str(w): {"runs": sum(1 for r in records if r["workers"] == w),
                                         "green": sum(1 for r in records if r["workers"] == w and r["green"]),
                                         "green_in_a_row": longest_streak([r["green"] for r in records
                                                                           if r["workers"] == w])}
                                for w in args.workers}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result, flaky


if __name__ == "__main__":
    raise SystemExit(main())
