"""Parallel runs on pytest-xdist (issue 12): one lab for the whole run, started and stopped by
the controller; one run id shared by every worker, entities named per worker; every
worker's ledger journalled for the one audit of the run; one whole report.

No Velociraptor here: the lab is a fake made through the ``pytest_raptorspec_make_lab``
hook, the oracle a dict-backed fake; the live proof is ``pytest features/ -n 2`` (bench/parallel.py).
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from support.errors import LeftBehind
from support.ledger import Book, Entry, Journal, Ledger, worker_number
from test_report import KNOWN, run_known
from test_report_merge import _content, _page

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the report is whole


def test_a_parallel_run_writes_the_report_a_serial_run_writes(pytester, monkeypatch):
    result, _ = run_known(pytester, monkeypatch, "--report", "serial/index.html")
    result.assert_outcomes(**KNOWN)
    result, _ = run_known(pytester, monkeypatch, "--report", "parallel/index.html", "-n", "2")
    result.assert_outcomes(**KNOWN)
    root = pytester.path
    serial = json.loads((root / "serial" / "results.json").read_text())
    parallel = json.loads((root / "parallel" / "results.json").read_text())
    assert len(parallel["scenarios"]) == 10
    assert not [s for s in parallel["scenarios"] if s["outcome"] == "not run"]
    assert _content(parallel) == _content(serial)
    assert _page((root / "parallel" / "index.html").read_text()) == _page((root / "serial" / "index.html").read_text())
    # the controller's terminal shows the run at a glance, from the merged run
    result.stdout.fnmatch_lines(["*the run at a glance*", "*alpha*", "*living documentation:*parallel*index.html*"])


def test_the_parallel_report_keeps_the_layout_when_workers_take_scenarios_in_another_order(pytester, monkeypatch):
    """The workers take the scenarios that run alone first (support.lab.plugin); the merged
    report was sorted by that order, so a -n 2 page listed an @exclusive Outline's rows before
    the feature's first scenario."""
    run_known(pytester, monkeypatch, "--report", "serial/index.html")
    with open(pytester.path / "conftest.py", "a") as fh:
        fh.write("\n\ndef pytest_collection_modifyitems(config, items):\n"   # the features last to first
                 "    from support.bdd import scenario_of\n"
                 "    if hasattr(config, 'workerinput'):\n"
                 "        items.sort(key=lambda i: scenario_of(i).feature.filename, reverse=True)\n")
    run_known(pytester, monkeypatch, "--report", "parallel/index.html", "-n", "2")   # (outcomes differ: order)
    root = pytester.path
    serial = [s["nodeid"] for s in json.loads((root / "serial" / "results.json").read_text())["scenarios"]]
    parallel = [s["nodeid"] for s in json.loads((root / "parallel" / "results.json").read_text())["scenarios"]]
    assert len(parallel) == 10 and parallel == serial, (parallel, serial)


def test_a_parallel_run_is_compared_with_the_previous_one(pytester, monkeypatch):
    run_known(pytester, monkeypatch, "--report", "out/index.html")
    result, _ = run_known(pytester, monkeypatch, "--report", "out/index.html", "-n", "2", variant="after")
    assert (pytester.path / "out" / "results.previous.json").is_file()
    result.stdout.fnmatch_lines(["*compared with*"])


# ------------------------------------------------------------------ one lab, shared


FAKE_LAB_CONFTEST = """\
import json, os, socket
from pathlib import Path
import pytest
from support.lab.base import LabBase

LOG = Path(os.environ["FAKE_LAB_LOG"])

def note(what):
    with LOG.open("a") as fh:
        fh.write(json.dumps(what) + "\\n")

class FakeLab(LabBase):
    mode = "embedded"
    def __init__(self, base):
        self.dir = base
        self.api_config = base / "api_client.yaml"
        self.client_ids = ["C.0123456789abcdef"]
        self.client_user = "nobody"
        self.timings = {}
    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.api = socket.socket()        # the "API": a listening port while the lab lives
        self.api.bind(("127.0.0.1", 0))
        self.api.listen(16)
        self.api_config.write_text("ca_certificate: x\\nclient_cert: y\\nclient_private_key: z\\n"
                                   f"api_connection_string: 127.0.0.1:{self.api.getsockname()[1]}\\n")
        note({"event": "start", "pid": os.getpid()})
    def close(self, failed=False):
        self.api.close()
        note({"event": "close", "pid": os.getpid()})
    def alive(self):
        return None
    def certificates(self):
        return {}

def pytest_raptorspec_make_lab(config, run_id):
    note({"event": "make", "run_id": run_id})
    return FakeLab(Path(os.environ["FAKE_LAB_DIR"]))
"""

FEATURE = """\
@tool:list_clients
Feature: Many scenarios, one lab
  Scenario Outline: Scenario <n> sees the lab
    Given the lab of the run

    Examples:
      | n |
""" + "".join(f"      | {n} |\n" for n in range(8))

STEPS = """\
import json, os
from pathlib import Path
from pytest_bdd import given, scenarios

scenarios("{features}")

@given("the lab of the run")
def _(lab, run_id, pytestconfig):
    from support.lab.plugin import worker_id
    from support.ledger import Ledger
    with Path(os.environ["FAKE_LAB_LOG"]).open("a") as fh:
        fh.write(json.dumps({{"event": "use", "worker": worker_id(pytestconfig), "dir": str(lab.dir),
                             "kind": type(lab).__name__, "run_id": run_id, "alive": lab.alive(),
                             "client_user": getattr(lab, "client_user", None),
                             "name": Ledger(None, run_id, worker=worker_id(pytestconfig)).name("x")}}) + "\\n")
"""


@pytest.fixture
def fake_lab_spec(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeini(textwrap.dedent("""\
        [pytest]
        addopts = -p support.plugin -p no:randomly -p no:cacheprovider
        raptorspec_spec_module = features/test_spec.py
        """))
    pytester.makeconftest(FAKE_LAB_CONFTEST)
    features = pytester.mkdir("features")
    (features / "lab.feature").write_text(FEATURE)
    (features / "test_spec.py").write_text(STEPS.format(features=str(features)))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("FAKE_LAB_LOG", str(pytester.path / "events.jsonl"))
    monkeypatch.setenv("FAKE_LAB_DIR", str(pytester.path / "the-lab"))
    return pytester


def _events(spec: pytest.Pytester) -> list[dict]:
    path = spec.path / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_controller_starts_one_lab_that_every_worker_uses(fake_lab_spec):
    result = fake_lab_spec.runpytest_subprocess("features/", "-n", "2")
    result.assert_outcomes(passed=8)
    events = _events(fake_lab_spec)
    kinds = [e["event"] for e in events]
    assert kinds.count("make") == 1 and kinds.count("start") == 1 and kinds.count("close") == 1
    assert kinds[-1] == "close", "the lab was stopped before the last worker was done"
    uses = [e for e in events if e["event"] == "use"]
    assert len(uses) == 8
    assert {u["worker"] for u in uses} == {"gw0", "gw1"}
    assert {u["dir"] for u in uses} == {str(fake_lab_spec.path / "the-lab")}
    assert {u["kind"] for u in uses} == {"SharedLab"} and {u["alive"] for u in uses} == {None}
    assert {u["client_user"] for u in uses} == {"nobody"}, "the quarantine scenarios need the lab's client user"
    run_id = events[0]["run_id"]
    assert {u["run_id"] for u in uses} == {run_id}, "the workers do not share the run id"
    starter = next(e["pid"] for e in events if e["event"] == "start")
    assert starter == next(e["pid"] for e in events if e["event"] == "close")
    assert {u["name"] for u in uses} == {f"raptorspec-{run_id}-gw0-x", f"raptorspec-{run_id}-gw1-x"}


def test_a_serial_run_starts_its_own_lab_through_the_fixture(fake_lab_spec):
    fake_lab_spec.makeconftest(FAKE_LAB_CONFTEST + textwrap.dedent("""\
        @pytest.fixture(scope="session")
        def lab():
            the_lab = FakeLab(Path(os.environ["FAKE_LAB_DIR"]))
            with the_lab:
                yield the_lab
        """))
    result = fake_lab_spec.runpytest_subprocess("features/")
    result.assert_outcomes(passed=8)
    uses = [e for e in _events(fake_lab_spec) if e["event"] == "use"]
    assert {u["kind"] for u in uses} == {"FakeLab"} and {u["worker"] for u in uses} == {""}
    assert "make" not in [e["event"] for e in _events(fake_lab_spec)]


def test_a_parallel_run_says_where_it_kept_the_suts_logs(fake_lab_spec):
    """The controller's lab closes after the terminal summary, so its copies of the SUTs' logs
    were made after the line that names them was due, and a -n N run never said where they
    went (a serial run does)."""
    fake_lab_spec.makeconftest(FAKE_LAB_CONFTEST.replace(
        "    def close(self, failed=False):\n",
        "    def close(self, failed=False):\n"
        "        from support.lab.base import keep_sut_logs\n"
        "        (self.dir / 'suts' / 'alpha').mkdir(parents=True, exist_ok=True)\n"
        "        (self.dir / 'suts' / 'alpha' / 'stderr.log').write_text('alpha: started\\n')\n"
        "        keep_sut_logs(self.dir)\n"))
    result = fake_lab_spec.runpytest_subprocess("features/", "-n", "2", "-p", "support.report.plugin",
                                                "--report", "out/index.html")
    result.assert_outcomes(passed=8)
    copy = fake_lab_spec.path / "out" / "sut-logs" / "alpha" / "stderr.log"
    assert copy.read_text() == "alpha: started\n"
    result.stderr.fnmatch_lines([f"*SUTs' logs (stderr.log) are kept in {copy.parent.parent}/*"])


def test_a_parallel_run_without_the_spec_starts_no_lab(fake_lab_spec):
    fake_lab_spec.makepyfile(test_other="def test_x():\n    pass\n")
    result = fake_lab_spec.runpytest_subprocess("test_other.py", "-n", "2")
    result.assert_outcomes(passed=1)
    assert _events(fake_lab_spec) == []


# ------------------------------------------------------------------ names and the audit


class DictOracle:
    """What the audit reads of Velociraptor: labels on clients, flows, hunts (in memory)."""

    def __init__(self):
        self.labels: dict[str, set[str]] = {"C.real": set()}
        self.flow_rows: dict[tuple[str, str], dict] = {}
        self.hunt_rows: dict[str, dict] = {}

    def client(self, cid):
        return {"client_id": cid, "labels": sorted(self.labels[cid]), "first_seen_at": 1} if cid in self.labels else None

    def clients(self, search="all"):
        return [self.client(c) for c in self.labels]

    def label(self, cid, labels, op):
        for label in labels:
            (self.labels[cid].add if op == "set" else self.labels[cid].discard)(label)

    def flow(self, cid, fid):
        return self.flow_rows.get((cid, fid))

    def flows(self, cid):
        return [r for (c, _), r in self.flow_rows.items() if c == cid]

    def cancel_flow(self, cid, fid):
        pass

    def delete_flow(self, cid, fid):
        self.flow_rows.pop((cid, fid), None)

    def hunts(self):
        return list(self.hunt_rows.values())

    def hunt(self, hid):
        return self.hunt_rows.get(hid)

    def stop_hunt(self, hid):
        pass

    def delete_hunt(self, hid):
        self.hunt_rows.pop(hid, None)

    def delete_client(self, cid):
        self.labels.pop(cid, None)


def test_names_and_phantom_ids_differ_per_worker_and_keep_their_form():
    serial, gw0, gw3 = (Ledger(None, "0a1b2c3d", worker=w) for w in ("", "gw0", "gw3"))
    assert serial.name("case") == "raptorspec-0a1b2c3d-case"
    assert gw0.name("case") == "raptorspec-0a1b2c3d-gw0-case" != gw3.name("case")
    assert serial.client_id(1) == "C.0a1b2c3d00000001"   # the serial form of before
    assert gw3.client_id(1) == "C.0a1b2c3d03000001" != gw0.client_id(1)
    assert all(len(x.client_id(5)) == 18 for x in (serial, gw0, gw3))
    assert worker_number("gw12") == 12
    with pytest.raises(ValueError):
        worker_number("master")


def test_the_controller_audit_sees_every_worker_and_only_this_run(tmp_path):
    oracle = DictOracle()
    run = "0a1b2c3d"
    books = [Book(oracle, run, worker=w, journal=Journal(tmp_path / f"{w}.jsonl")) for w in ("gw0", "gw1")]
    # gw0 leaves a label it recorded; gw1 leaves a flow it recorded, and a label it never recorded
    led0, led1 = books[0].open(), books[1].open()
    oracle.label("C.real", [led0.name("kept")], "set")
    led0.label("C.real", led0.name("kept"), "a Given")
    oracle.flow_rows[("C.real", "F.1")] = {"session_id": "F.1", "state": "FINISHED"}
    led1.flow("C.real", "F.1", "the reply of collect_artifact")
    oracle.label("C.real", [led1.name("unrecorded")], "set")
    # another run's entity, alive at the same time: never this run's leak
    oracle.label("C.real", ["raptorspec-ffffffff-gw0-theirs"], "set")
    book = Book.from_journals(oracle, run, sorted(tmp_path.glob("*.jsonl")))
    left = book.leftovers()
    assert sorted(str(e).split(" (")[0] for e in left) == sorted([
        f"label 'raptorspec-{run}-gw0-kept' on C.real", "flow 'F.1' on C.real",
        f"label 'raptorspec-{run}-gw1-unrecorded' on C.real"])
    with pytest.raises(LeftBehind, match="left 3 thing"):
        book.audit()
    assert oracle.labels["C.real"] == {"raptorspec-ffffffff-gw0-theirs"} and not oracle.flow_rows


def test_a_journal_keeps_entries_at_once_and_survives_a_torn_line(tmp_path):
    journal = Journal(tmp_path / "gw0.jsonl")
    ledger = Ledger(None, "0a1b2c3d", worker="gw0", on_record=journal)
    ledger.hunt("H.1", "the reply of create_hunt")
    ledger.hunt("H.1", "again")          # recorded once
    with (tmp_path / "gw0.jsonl").open("a") as fh:
        fh.write('{"kind": "flow", "client_id"')   # a worker killed mid-write
    assert Journal.read(tmp_path / "gw0.jsonl") == [Entry("hunt", "", "H.1", "the reply of create_hunt")]


# ------------------------------------------------------------------ who runs beside whom


def _blocked(lock, exclusive, groups=()):
    """Start taking ``lock`` in a thread; returns (done event, release event, thread)."""
    import threading

    done, release = threading.Event(), threading.Event()

    def take():
        with lock.hold(exclusive, groups):
            done.set()
            release.wait(10)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return done, release, thread


def test_an_exclusive_scenario_waits_for_the_others_and_they_for_it(tmp_path):
    from support.lab.plugin import LabLock

    a, b, c = LabLock(tmp_path), LabLock(tmp_path), LabLock(tmp_path)   # three workers
    a_in, a_out, a_thread = _blocked(a, exclusive=False)
    assert a_in.wait(5)
    b_in, b_out, b_thread = _blocked(b, exclusive=False)
    assert b_in.wait(5), "two ordinary scenarios must run side by side"
    c_in, c_out, c_thread = _blocked(c, exclusive=True)
    assert not c_in.wait(0.5), "an exclusive scenario ran beside others"
    a_out.set(), b_out.set()
    assert c_in.wait(5)
    d_in, d_out, d_thread = _blocked(a, exclusive=False)
    assert not d_in.wait(0.5), "an ordinary scenario ran beside an exclusive one"
    c_out.set()
    assert d_in.wait(5)
    d_out.set()
    for t in (a_thread, b_thread, c_thread, d_thread):
        t.join(5)


def test_scenarios_of_one_group_take_turns_while_others_go_on(tmp_path):
    from support.lab.plugin import LabLock

    a, b, c = LabLock(tmp_path), LabLock(tmp_path), LabLock(tmp_path)
    a_in, a_out, _ = _blocked(a, False, ("hunts",))
    assert a_in.wait(5)
    b_in, b_out, _ = _blocked(b, False, ("hunts",))
    c_in, c_out, _ = _blocked(c, False, ("other",))
    assert c_in.wait(5), "a scenario of another group was held up"
    assert not b_in.wait(0.5), "two scenarios of the hunts group overlapped"
    a_out.set()
    assert b_in.wait(5)
    b_out.set(), c_out.set()


ORDER_TESTS = """
import os
import pytest

def note(name):
    with open(os.environ["ORDER_LOG"], "a") as fh:
        fh.write(name + "\\n")

def test_a(): note("a")
@pytest.mark.slow
def test_b_slow(): note("b_slow")
@pytest.mark.exclusive
def test_c_alone(): note("c_alone")
def test_d(): note("d")
@pytest.mark.destructive
def test_e_alone(): note("e_alone")
@pytest.mark.slow
def test_f_slow(): note("f_slow")
@pytest.mark.tool(name="create_hunt")
def test_g1_hunt(): note("g1_hunt")
@pytest.mark.tool(name="list_hunts")
def test_g2_hunt(): note("g2_hunt")
def test_h(): note("h")
def test_i(): note("i")
"""


@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["serial", "xdist"])
def test_workers_take_the_tests_that_run_alone_first_then_the_long_ones(pytester, monkeypatch, workers):
    """An exclusive scenario among the others waited behind long ones and held the others up
    meanwhile (-n 2 took 848 s against 982 s serial); the hunt scenarios (one at a time) are
    spread among the rest; a serial run keeps the file order."""
    pytester.makeini("[pytest]\naddopts = -p support.plugin -p no:randomly -p no:cacheprovider\n"
                     "markers =\n    slow: long\n    destructive: d\n    tool(name): t\n")
    pytester.makepyfile(test_order=ORDER_TESTS)
    workers = [*workers, "-v"] if workers else workers
    log = pytester.path / "order.log"
    monkeypatch.setenv("ORDER_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess(*workers)
    result.assert_outcomes(passed=10)
    order = log.read_text().split()
    if workers:
        assert order == ["c_alone", "e_alone", "b_slow", "f_slow", "a", "d", "g1_hunt", "h", "i", "g2_hunt"], order
        # the suite's default distribution: an idle worker takes from a busy one's queue
        result.stdout.fnmatch_lines(["*scheduling tests via WorkStealingScheduling*"])
    else:
        assert order == ["a", "b_slow", "c_alone", "d", "e_alone", "f_slow", "g1_hunt", "g2_hunt", "h", "i"], order


def test_hunt_scenarios_and_xdist_groups_are_grouped(pytester):
    from support.lab.plugin import groups_of, runs_alone

    pytester.makepyfile(test_g="""
        import pytest
        @pytest.mark.tool(name="create_hunt")
        def test_hunt(): pass
        @pytest.mark.tool(name="resource:velociraptor://hunts/{hunt_id}/results")
        def test_page(): pass
        @pytest.mark.xdist_group(name="quarantine")
        @pytest.mark.destructive
        def test_q(): pass
        @pytest.mark.tool(name="list_clients")
        def test_plain(): pass
    """)
    items, _ = pytester.inline_genitems("-p", "no:randomly", "-W", "ignore::pytest.PytestUnknownMarkWarning")
    got = {i.name: (groups_of(i), runs_alone(i)) for i in items}
    assert got == {"test_hunt": (("hunts",), False), "test_page": (("hunts",), False),
                   "test_q": (("quarantine",), True), "test_plain": ((), False)}


# ------------------------------------------------------------------ a worker that dies


CRASH_FEATURE = """\
Feature: A worker dies
  Scenario Outline: Scenario <n>
    Given scenario <n> runs

    Examples:
      | n |
""" + "".join(f"      | {n} |\n" for n in range(6))

CRASH_STEPS = """\
import os
from pytest_bdd import given, parsers, scenarios

scenarios("features")

@given(parsers.parse("scenario {n:d} runs"))
def _(n):
    if n == 3:
        os._exit(3)   # the worker dies, mid-scenario, without writing its results
"""


def test_a_worker_that_dies_loses_nothing_from_the_report(pytester, monkeypatch):
    pytester.mkdir("features")
    (pytester.path / "features" / "crash.feature").write_text(CRASH_FEATURE)
    pytester.makepyfile(test_crash=CRASH_STEPS)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "support.report.plugin", "-p", "no:randomly", "-p", "no:cacheprovider",
                                           "-n", "2", "--report", "out/index.html")
    result.assert_outcomes(passed=5, failed=1)
    scenarios = json.loads((pytester.path / "out" / "results.json").read_text())["scenarios"]
    outcomes = {s["scenario"].rsplit(" ", 1)[-1]: s["outcome"] for s in scenarios}
    assert outcomes == {"0": "passed", "1": "passed", "2": "passed", "3": "failed", "4": "passed", "5": "passed"}
    crashed = next(s for s in scenarios if s["outcome"] == "failed")
    assert "crashed" in crashed["message"] and "died before handing over its results" in crashed["message"]


def test_what_another_worker_makes_during_a_call_is_not_taken():
    oracle, run = DictOracle(), "0a1b2c3d"
    ledger = Ledger(oracle, run, creator="raptorspec-gw0", worker="gw0")
    with ledger.watching("C.real"):
        oracle.label("C.real", [ledger.name("mine"), f"raptorspec-{run}-gw1-results-scope"], "set")
        oracle.flow_rows[("C.real", "F.2")] = {"session_id": "F.2", "request": {"creator": "raptorspec-gw1"}}
        oracle.flow_rows[("C.real", "F.3")] = {"session_id": "F.3", "request": {"creator": "raptorspec-gw0"}}
        oracle.hunt_rows["H.9"] = {"hunt_id": "H.9", "creator": "raptorspec-gw0",
                                   "hunt_description": f"raptorspec-{run}-gw1-sweep"}
        oracle.hunt_rows["H.8"] = {"hunt_id": "H.8", "creator": "raptorspec-gw0",
                                   "hunt_description": f"raptorspec-{run}-gw0-sweep"}
    assert [(e.kind, e.ident) for e in ledger.entries] == [
        ("label", ledger.name("mine")), ("flow", "F.3"), ("hunt", "H.8")]


def test_on_a_shared_identity_a_flow_found_only_by_the_diff_is_removed_at_the_end_not_by_the_scenario(tmp_path):
    oracle, run = DictOracle(), "0a1b2c3d"
    book = Book(oracle, run, creator="raptorspec", worker="gw0", journal=Journal(tmp_path / "gw0.jsonl"), defer=True)
    ledger = book.open()
    with ledger.watching("C.real"):   # another worker's flow appears while this scenario calls its SUT
        oracle.flow_rows[("C.real", "F.2")] = {"session_id": "F.2", "state": "RUNNING",
                                               "request": {"creator": "raptorspec"}}
    assert ledger.clean() == [] and ("C.real", "F.2") in oracle.flow_rows, "another worker's live flow was deleted"
    whole = Book.from_journals(oracle, run, [tmp_path / "gw0.jsonl"])
    whole.audit()                     # removed at the end, and not a leak
    assert not oracle.flow_rows
    ledger.flow("C.real", "F.2", "the reply of collect_artifact")   # named by a reply: this scenario's for sure
    assert [e.deferred for e in ledger.entries] == [False]


def test_a_distribution_the_user_gives_is_kept(pytester, monkeypatch):
    pytester.makeini("[pytest]\naddopts = -p support.plugin -p no:randomly -p no:cacheprovider\n")
    pytester.makepyfile(test_one="def test_one(): pass\n")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-n", "1", "--dist", "load", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*scheduling tests via LoadScheduling*"])
