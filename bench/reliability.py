"""Is every verdict of the spec the same each time? N consecutive full runs in file order and K
runs in random orders (pytest-randomly seeds), each test id's outcome compared across all runs.

    python -m bench.reliability [--runs 5] [--orders 3] [--out bench/results/reliability.json]
                                [--cwd DIR] [--run-timeout S] [-- PYTEST ARGS …]

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


def run_once(index: int, order: str, seed: int | None, pytest_args: list[str], cwd: Path, workdir: Path,
             timeout: float) -> tuple[dict, dict[str, str]]:
    """One pytest run in its own process. Returns (the run's record, its outcomes by id)."""
    junit = workdir / f"run-{index}.xml"
    order_args = ["-p", "no:randomly"] if order == "file" else ["-p", "randomly", f"--randomly-seed={seed}"]
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
    return record, outcomes


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
    args = parser.parse_args(argv)
    if args.runs < 0 or args.orders < 0 or args.runs + args.orders < 2:
        parser.error("need at least two runs in all (--runs + --orders >= 2) to compare outcomes")
    rng = random.Random(args.seed)
    plan = [("file", None)] * args.runs + [("random", rng.randrange(1, 2**31)) for _ in range(args.orders)]
    records, per_run = [], []
    with tempfile.TemporaryDirectory(prefix="raptorspec-reliability-") as tmp:
        for index, (order, seed) in enumerate(plan, start=1):
            record, outcomes = run_once(index, order, seed, pytest_args, args.cwd, Path(tmp), args.run_timeout)
            print(f"run {index}/{len(plan)} ({order}{f', seed {seed}' if seed else ''}): exit {record['exit_code']}, "
                  f"{record['wall_s']}s, {record['counts']}", flush=True)
            if record["exit_code"] not in (0, 1):
                tail = (Path(tmp) / f"run-{index}.log").read_text(errors="replace")[-3000:]
                record["log_tail"] = tail
                print(tail, flush=True)
            records.append(record)
            per_run.append(outcomes)
    tests, stable, flaky = compare(per_run)
    walls = [r["wall_s"] for r in records]
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "pytest_args": pytest_args,
        "runs": records,
        "wall_s": {"min": min(walls), "max": max(walls), "total": round(sum(walls), 1)},
        "tests": tests,
        "stable": stable,
        "flaky": flaky,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{tests} test ids, {stable} stable, {len(flaky)} flaky -> {args.out}")
    for item in flaky:
        print(f"  FLAKY {item['id']}: {' / '.join(item['outcomes'])}")
    return 1 if flaky else 0


if __name__ == "__main__":
    raise SystemExit(main())
