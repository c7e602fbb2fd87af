"""The spec serial and on pytest-xdist, side by side in one sitting (issue 12).

    python -m bench.parallel [--workers 2 4] [--out bench/results/parallel.json]
                             [--overhead-out bench/results/overhead.json] [--keep DIR]
                             [-- PYTEST ARGS …]

Runs the full spec (PYTEST ARGS default to ``features/ -p no:randomly``: the default SUT
set on an embedded lab, file order) once serially and once per ``-n N``, one run after the
other, each with ``$RAPTORSPEC_TIMINGS`` on (:mod:`support.timings`) and its own report.
For each run it records the wall time, exit code, pytest's summary line, the machine's load
average before and after (other work on the machine makes the figures provisional), whether
the leak audit was clean and whether the report is whole (as many scenario runs as the
serial run's, none "not run" that the serial run ran, the same outcome for each); the
speed-up of each parallel run over the serial one; and the wait and suite overhead of every
run (:func:`bench.overhead.analyse`; the serial run's go to ``--overhead-out``, with where its
wall time went by layer, :mod:`bench.breakdown`). ``--keep DIR`` keeps each run's results.json
as ``DIR/results-serial.json``, ``DIR/results-n2.json``, …: the serial one is the baseline
``bench.reliability --baseline`` wants.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.overhead import analyse, read_timings, run_spec

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "parallel.json"
OVERHEAD = ROOT / "bench" / "results" / "overhead.json"
DEFAULT_ARGS = ["features/", "-p", "no:randomly"]


def outcomes(results_json: Path) -> dict[str, str]:
    """``{nodeid: outcome}`` of a report's results.json ({} when missing)."""
    if not results_json.exists():
        return {}
    data = json.loads(results_json.read_text())
    return {s["nodeid"]: s["outcome"] for s in data.get("scenarios", [])}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--overhead-out", type=Path, default=OVERHEAD)
    ap.add_argument("--keep", type=Path, default=None, metavar="DIR",
                    help="keep each run's results.json in DIR (results-serial.json, results-n2.json, …)")
    args = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    base = extra or DEFAULT_ARGS
    runs = []
    with tempfile.TemporaryDirectory(prefix="raptorspec-parallel-") as tmp:
        for n in [0, *args.workers]:
            label = "serial" if n == 0 else f"-n {n}"
            pytest_args = base + (["-n", str(n)] if n else [])
            timings = Path(tmp) / f"timings-{n}.jsonl"
            report = Path(tmp) / f"report-{n}" / "index.html"
            print(f"[bench.parallel] {label}: pytest {' '.join(pytest_args)}", file=sys.stderr, flush=True)
            run = run_spec(pytest_args, timings, report,
                           breakdown=Path(tmp) / "breakdown.json" if n == 0 else None)
            run["label"] = label
            run["outcomes"] = outcomes(report.parent / "results.json")
            if n == 0:
                run["instrumented"] = "bench.breakdown (where the time goes): the speed-ups are against this run"
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                kept = args.keep / f"results-{'serial' if n == 0 else f'n{n}'}.json"
                kept.unlink(missing_ok=True)   # never a stale copy of an earlier sitting
                if (report.parent / "results.json").exists():
                    shutil.copy(report.parent / "results.json", kept)
            run.update(analyse(read_timings(timings), run["wall_s"]))
            runs.append(run)
            print(f"[bench.parallel] {label}: {run['wall_s']} s, exit {run['exit_code']}, {run['summary']}",
                  file=sys.stderr, flush=True)
    serial = runs[0]
    for run in runs:
        got = run.pop("outcomes")
        want = serial.get("_outcomes", got) if run is not serial else got
        if run is serial:
            serial["_outcomes"] = got
        differ = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
        run["report"] = {"scenario_runs": len(got), "not_run": sum(1 for o in got.values() if o == "not run"),
                         "differ_from_serial": differ[:20], "n_differ_from_serial": len(differ)}
        run["speedup_over_serial"] = round(serial["wall_s"] / run["wall_s"], 2) if run["wall_s"] else None
    serial.pop("_outcomes", None)
    busy = any(max(r["load_avg_before"][0], r["load_avg_after"][0]) > (os.cpu_count() or 1) for r in runs)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
        "provisional": busy,
        "note": ("the machine's 1-minute load average exceeded its CPU count during the runs (other work ran): "
                 "provisional figures") if busy else "the machine was otherwise idle",
        "goal": "speed-up of -n 2 >= 1.6",
        "runs": runs,
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    overhead = {"when": result["when"], "cpus": os.cpu_count(), "provisional": busy, "note": result["note"],
                "measured_on": "the serial run of bench/parallel.py",
                "run": {k: serial[k] for k in ("args", "exit_code", "wall_s", "summary", "load_avg_before",
                                               "load_avg_after")},
                "wait_overhead": serial["wait_overhead"], "suite_overhead": serial["suite_overhead"],
                "breakdown": serial.get("breakdown"),
                "parallel_runs": {r["label"]: {"wait_overhead": r["wait_overhead"], "suite_overhead": r["suite_overhead"]}
                                  for r in runs[1:]}}
    args.overhead_out.write_text(json.dumps(overhead, indent=2) + "\n")
    print(json.dumps({r["label"]: {"wall_s": r["wall_s"], "speedup": r["speedup_over_serial"],
                                   "exit": r["exit_code"], "summary": r["summary"]} for r in runs}, indent=2))
    return 0 if all(r["exit_code"] == 0 for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
