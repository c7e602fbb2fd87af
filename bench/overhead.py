"""What the suite itself costs, against Velociraptor's and the SUTs' own time (issue 12).

    python -m bench.overhead [--out bench/results/overhead.json] [-- PYTEST ARGS …]

Runs the spec once (serial; PYTEST ARGS default to ``features/ -p no:randomly``) with
``$RAPTORSPEC_TIMINGS`` set (:mod:`support.timings`: every SUT call, every flow and hunt wait,
with wall-clock times) and a report, then computes:

- **wait overhead**, per flow the suite waited on, two ways. ``from_active_time``: from the
  later of (the wait's start, the flow's own last-activity time — flows() ``active_time``, µs,
  the finest completion time Velociraptor records; its System.Flow.Completion event carries
  whole seconds only) to the moment the wait returned. This includes Velociraptor's own
  finalisation of the flow after its last response (0.2–0.8 s here: a flows() poll every few
  ms sees FINISHED no sooner than the completion event arrives). ``from_completion``: from the
  moment Velociraptor published the completion (the event reached the wait; or the wait's
  start when the flow was done before it) to the wait's return: the suite's own share.
  Goal: median ≤ 0.1 s, p95 ≤ 0.5 s.
- **suite overhead**: the run's wall time against the time the SUTs and Velociraptor spent
  on the scenarios' operations — the union of the SUT calls' intervals, the flows' own
  intervals (``create_time`` → ``active_time``) and the hunt waits — i.e. the share of the
  wall time during which neither a SUT nor Velociraptor was working for a scenario. Given
  for the whole process (lab boot and SUT installs included) and for the span from the
  first to the last operation. Goal: ≤ 25 %.

:func:`analyse` is also used by bench/parallel.py on each of its runs. The machine's load
average is recorded with the figures (other work on the machine makes them provisional).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "overhead.json"
DEFAULT_ARGS = ["features/", "-p", "no:randomly"]


def read_timings(path: Path) -> list[dict[str, Any]]:
    """The lines of a $RAPTORSPEC_TIMINGS file (a torn line is skipped)."""
    out = []
    if not Path(path).exists():
        return out
    for line in Path(path).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    i = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[i]


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of ``[start, end]`` intervals (seconds); empty ones are ignored."""
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(i for i in intervals if i[1] > i[0]):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def wait_overheads(lines: list[dict[str, Any]]) -> list[float]:
    """Per flow wait: seconds from max(wait start, the flow's active_time) to the wait's return."""
    out = []
    for t in lines:
        if t.get("kind") != "flow" or not t.get("active_time"):
            continue
        done = float(t["active_time"]) / 1e6
        out.append(max(0.0, t["end"] - max(t["start"], done)))
    return out


def completion_overheads(lines: list[dict[str, Any]]) -> list[float]:
    """Per flow wait: seconds from Velociraptor's published completion (the event's arrival, or
    the wait's start when the flow was already done) to the wait's return."""
    return [max(0.0, t["end"] - (t.get("event_at") or t["start"])) for t in lines
            if t.get("kind") == "flow" and "event_at" in t]


def _stats(values: list[float]) -> dict[str, Any]:
    return {"n": len(values),
            "median_s": round(statistics.median(values), 3) if values else None,
            "p95_s": round(_quantile(values, 0.95), 3) if values else None,
            "max_s": round(max(values), 3) if values else None}


def work_intervals(lines: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """The intervals during which a SUT or Velociraptor worked on a scenario's operation."""
    out = []
    for t in lines:
        if t.get("kind") == "sut":
            out.append((t["start"], t["end"]))
        elif t.get("kind") == "flow" and t.get("create_time") and t.get("active_time"):
            out.append((float(t["create_time"]) / 1e6, min(float(t["active_time"]) / 1e6, t["end"])))
        elif t.get("kind") == "hunt":
            out.append((t["start"], t["end"]))
    return out


def analyse(lines: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """The wait and suite overhead figures of one run (see the module docstring)."""
    waits = wait_overheads(lines)
    own = completion_overheads(lines)
    work = work_intervals(lines)
    busy = union_seconds(work)
    span = (max(e for _, e in work) - min(s for s, _ in work)) if work else 0.0
    return {
        "wait_overhead": {
            "flows_waited": len(waits),
            "from_active_time": _stats(waits),
            "from_completion": _stats(own),
            "goal": "median <= 0.1 s, p95 <= 0.5 s",
        },
        "suite_overhead": {
            "wall_s": round(wall_s, 1),
            "work_s": round(busy, 1),
            "sut_calls": sum(1 for t in lines if t.get("kind") == "sut"),
            "sut_call_s": round(sum(t["end"] - t["start"] for t in lines if t.get("kind") == "sut"), 1),
            "flows": sum(1 for t in lines if t.get("kind") == "flow"),
            "hunt_waits": sum(1 for t in lines if t.get("kind") == "hunt"),
            "overhead_whole_run": round(1 - busy / wall_s, 3) if wall_s else None,
            "operations_span_s": round(span, 1),
            "overhead_operations_span": round(1 - busy / span, 3) if span else None,
            "goal": "overhead <= 0.25",
        },
    }


def run_spec(args: list[str], timings: Path, report: Path, timeout: float = 3600,
             breakdown: Path | None = None) -> dict[str, Any]:
    """One pytest run of the spec with timings on; its wall time, exit code, last lines.

    With ``breakdown`` (a JSON path), the run also loads :mod:`bench.breakdown` (where the
    wall time goes, by layer) and the result holds its figures under ``"breakdown"``."""
    env = dict(os.environ, RAPTORSPEC_TIMINGS=str(timings))
    if breakdown is not None:
        env["RAPTORSPEC_BREAKDOWN"] = str(breakdown)
        args = [*args, "-p", "bench.breakdown"]
    load_before = os.getloadavg()
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", *args, "-q", "-rfE", "--report", str(report)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - t0
    tail = proc.stdout.strip().splitlines()[-40:]
    summary = next((line for line in reversed(tail) if " in " in line and ("passed" in line or "failed" in line)), "")
    out = {"args": args, "exit_code": proc.returncode, "wall_s": round(wall, 1), "summary": summary.strip("= "),
           "load_avg_before": [round(x, 2) for x in load_before],
           "load_avg_after": [round(x, 2) for x in os.getloadavg()],
           "leak_audit_clean": "leak audit" not in proc.stdout and "LeftBehind" not in proc.stdout,
           "tail": tail if proc.returncode else tail[-3:]}
    if breakdown is not None and Path(breakdown).exists():
        out["breakdown"] = json.loads(Path(breakdown).read_text())
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--no-breakdown", action="store_true",
                    help="do not load bench.breakdown (where the time goes, by layer)")
    args = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    with tempfile.TemporaryDirectory(prefix="raptorspec-overhead-") as tmp:
        timings = Path(tmp) / "timings.jsonl"
        run = run_spec(extra or DEFAULT_ARGS, timings, Path(tmp) / "report" / "index.html",
                       breakdown=None if args.no_breakdown else Path(tmp) / "breakdown.json")
        figures = analyse(read_timings(timings), run["wall_s"])
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
              "run": run, **figures}
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if run["exit_code"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
