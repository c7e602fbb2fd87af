"""How long the lab takes: provisioning (cached), server ready and client enrolled, embedded
and docker. Prints the figures and keeps the last results in bench/results/lab_boot.json.

    python -m bench.lab_boot [--runs 5] [--docker] [--cold]

Medians of ``--runs`` labs (default 5) each, embedded and docker; the machine's load average
is recorded before and after each kind (other work on the machine makes them provisional).
Each kind also gives ``enrolled_after_ready``: seconds from the server being ready to the
client being enrolled — the client's own part, which for docker starts before the server
is ready (both containers start together) and so includes the client's back-off after its
first failed connections (see ``docker_client_log``: the client log of one docker lab, kept
to show it). ``docker_client_max_poll_std_1`` repeats the docker labs with the client's
back-off jitter at 1 s instead of Velociraptor's default 30 s (``Client.max_poll_std``).

``--cold`` also builds Velociraptor from scratch into a temporary cache with empty Go module
and build caches (minutes; downloads ~1.3 GB of modules) to measure cold provisioning.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support.lab import EmbeddedLab
from support.lab.provision import ensure_binary, verify_binary

RESULTS = Path(__file__).resolve().parent / "results" / "lab_boot.json"


def _summary(values: list[float]) -> dict[str, float]:
    return {"runs": len(values), "min_s": round(min(values), 2), "median_s": round(statistics.median(values), 2),
            "max_s": round(max(values), 2)}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def embedded(binary: Path, runs: int) -> dict:
    ready, enrolled = [], []
    load = _load()
    for _ in range(runs):
        with EmbeddedLab(binary) as lab:
            ready.append(lab.timings["server_ready"])
            enrolled.append(lab.timings["clients_enrolled"])
    return {"server_ready": _summary(ready), "client_enrolled": _summary(enrolled),
            "enrolled_after_ready": _summary([e - r for e, r in zip(enrolled, ready)]),
            "load_avg_before": load, "load_avg_after": _load()}


def docker_client_log(binary: Path) -> dict:
    """One docker lab, its client container's log read before it goes down (the client's
    first connection attempts and back-off, with Velociraptor's own timestamps)."""
    from support.lab import DockerLab

    with DockerLab(binary, run_id=f"bench{os.getpid()}") as lab:
        out = lab._run("logs", "--no-color", "--timestamps", "client", timeout=60).stdout
        timings = dict(lab.timings)
    lines = [line for line in out.splitlines() if line.strip()]
    return {"timings": {k: round(v, 2) for k, v in timings.items()}, "client_log_head": lines[:60]}


def docker(binary: Path, runs: int, *, max_poll_std: int | None = None) -> dict:
    """``runs`` docker labs one after the other (``up --build -d``, server ready, client
    enrolled, ``down -v``): the lab's own timings. ``max_poll_std`` sets the client's
    ``Client.max_poll_std`` (the random part, in seconds, of its wait after a failed
    connection; Velociraptor's default is 30) to show what the client's back-off costs."""
    from support.lab import DockerLab
    from support.lab.config import LabConfig

    original = LabConfig.merge_doc

    def merge_doc(self, datastore, client_dir_expr):
        doc = original(self, datastore, client_dir_expr)
        if max_poll_std is not None:
            doc["Client"]["max_poll_std"] = max_poll_std
        return doc

    figures: dict[str, list[float]] = {}
    load = _load()
    LabConfig.merge_doc = merge_doc
    try:
        for i in range(runs):
            with DockerLab(binary, run_id=f"bench{os.getpid()}x{i}") as lab:
                timings = dict(lab.timings)
            for name, value in timings.items():
                figures.setdefault(name, []).append(value)
    except Exception as exc:  # noqa: BLE001 - the figures so far, and why it stopped
        return {"error": f"{type(exc).__name__}: {str(exc)[-1500:]}", "runs_done": len(figures.get("clients_enrolled", []))}
    finally:
        LabConfig.merge_doc = original
    if "clients_enrolled" in figures and "server_ready" in figures:
        figures["enrolled_after_ready"] = [e - r for e, r in zip(figures["clients_enrolled"], figures["server_ready"])]
    return {**{name: _summary(values) for name, values in figures.items()},
            "load_avg_before": load, "load_avg_after": _load()}


def cold() -> dict:
    with tempfile.TemporaryDirectory(prefix="raptorspec-cold-") as tmp:
        env = dict(os.environ, RAPTORSPEC_CACHE=f"{tmp}/cache", GOMODCACHE=f"{tmp}/gomod", GOCACHE=f"{tmp}/gocache")
        env.pop("RAPTORSPEC_VELOCIRAPTOR", None)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "support.lab.provision"], env=env, check=True)
        took = time.monotonic() - t0
        sizes = {d: subprocess.run(["du", "-sb", f"{tmp}/{d}"], capture_output=True, text=True).stdout.split()[0]
                 for d in ("gomod", "gocache")}
        subprocess.run(["chmod", "-R", "u+w", tmp])
    return {"seconds": round(took, 1), "go_module_cache_bytes": int(sizes["gomod"]),
            "go_build_cache_bytes": int(sizes["gocache"])}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--docker", action="store_true")
    ap.add_argument("--cold", action="store_true")
    args = ap.parse_args()
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    t0 = time.monotonic()
    binary = ensure_binary()
    verify_binary(binary)
    results = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "binary": {"path": str(binary), "bytes": binary.stat().st_size},
        "provision_cached_s": round(time.monotonic() - t0, 2),
        "embedded": embedded(binary, args.runs),
    }
    results["docker"] = docker(binary, args.runs) if args.docker else previous.get("docker", "not measured (use --docker)")
    if args.docker:
        results["docker_client_max_poll_std_1"] = docker(binary, args.runs, max_poll_std=1)
        results["docker_client_log"] = docker_client_log(binary)
    results["provision_cold"] = cold() if args.cold else previous.get("provision_cold", "not measured (use --cold)")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
